"""The data-set rules of a run spec, on top of the spec's own bounds."""

from __future__ import annotations

from typing import Any

from ..specs import (IMAGE_ONLY, LayerShape, Limits, Problem, RunSpec, SpecError, format_bound, layer_shapes,
                     parse_spec, range_problem, total_parameters, unet_shapes)
from .catalog import CUSTOM, DATASETS, MICROSCOPY
from .dataset import merged_params, problem_of

MAX_CLASSES = 5
LOSSES_BY_KIND = {
    "binary": ("binary_crossentropy", "mse", "mae"),
    "multiclass": ("categorical_crossentropy", "mse"),
    "regression": ("mse", "mae"),
    # A U-Net's foreground; its three classes take categorical_crossentropy (see _unet_problems).
    "segmentation": ("bce_dice", "binary_crossentropy", "dice"),
    "restoration": ("mse", "mae"),
}
THREE_CLASS_LOSS = "categorical_crossentropy"
MAX_MICROSCOPY_PIXELS = 400 * 64 * 64  # the default 400 images of 64x64, or 100 of 128x128


def loss_of(spec: RunSpec, kind: str) -> str:
    """The run's loss: its own, else the natural one of its problem (and output)."""
    if spec.training.loss is not None:
        return spec.training.loss
    if spec.unet is not None and spec.unet.output == "three_class":
        return THREE_CLASS_LOSS
    return natural_loss(kind)


def natural_loss(kind: str) -> str:
    """The loss a problem kind is usually trained with."""
    return LOSSES_BY_KIND[kind][0]


def _dataset_problems(spec: RunSpec, limits: Limits) -> list[Problem]:
    d = spec.dataset
    problems: list[Problem] = []
    if d.name == CUSTOM:
        if not d.points:
            return [Problem(field="dataset.points", message="a custom data set needs its points [[x1, x2, label], ...]")]
        if len(d.points) > limits.max_points:
            problems.append(Problem(field="dataset.points", message=(
                f"{len(d.points)} points is above the maximum {limits.max_points}")))
        far = next((i for i, p in enumerate(d.points)
                    if not all(abs(v) <= limits.max_abs_coordinate for v in p[:2])), None)
        if far is not None:
            bound = format_bound(limits.max_abs_coordinate)
            problems.append(Problem(field=f"dataset.points[{far}]", message=(
                f"the coordinates {list(d.points[far][:2])!r} must be finite and within [-{bound}, {bound}]")))
        bad = next((i for i, p in enumerate(d.points)
                    if not float(p[2]).is_integer() or not 0 <= p[2] < MAX_CLASSES), None)
        if bad is not None:
            problems.append(Problem(field=f"dataset.points[{bad}]", message=(
                f"the label {d.points[bad][2]!r} must be a whole number from 0 to {MAX_CLASSES - 1}")))
        elif len({p[2] for p in d.points}) < 2:
            problems.append(Problem(field="dataset.points", message="at least two classes are needed"))
        total = d.n_train + d.n_val + d.n_test
        if total > len(d.points):
            problems.append(Problem(field="dataset", message=(
                f"n_train + n_val + n_test = {total} is more than the {len(d.points)} points given")))
        return problems
    info = DATASETS.get(d.name)
    if info is None:
        names = ", ".join([*DATASETS, CUSTOM])
        return [Problem(field="dataset.name", message=f"{d.name!r} is not a data set; choose from {names}")]
    if d.points is not None:
        problems.append(Problem(field="dataset.points", message="points are only for the custom data set"))
    allowed = {p.name: p for p in info.params}
    for name, value in d.params.items():
        param = allowed.get(name)
        if param is None:
            known = ", ".join(allowed) or "none"
            problems.append(Problem(field=f"dataset.params.{name}", message=(
                f"{d.name} has no parameter {name!r}; its parameters: {known}")))
        elif (outside := range_problem(f"dataset.params.{name}", value, param.low, param.high)) is not None:
            problems.append(outside)
        elif param.integer and not float(value).is_integer():
            problems.append(Problem(field=f"dataset.params.{name}", message=f"{value!r} must be a whole number"))
    return problems


def input_shape(spec: RunSpec) -> tuple[int, ...]:
    """One example's shape as the network takes it: (features,) or (height, width, channels)."""
    info = DATASETS.get(spec.dataset.name)
    if info is not None and info.input == "image":
        return info.shape(merged_params(spec.dataset))
    return (len(spec.features),)


def network_shapes(spec: RunSpec, limits: Limits) -> tuple[list[LayerShape], list[Problem]]:
    """Each layer's output shape and parameters, the output layer last, and what cannot work:
    a layer that does not fit its input, image layers on points, too many parameters."""
    kind, n_classes = problem_of(spec.dataset)
    if kind in MICROSCOPY:
        return _unet_problems(spec, kind, limits)
    if spec.unet is not None:
        return [], [Problem(field="unet", message=(
            f"a U-Net is for the microscopy data sets ({', '.join(UNET_DATASETS)}); use layers"))]
    shapes, problems = layer_shapes(input_shape(spec), spec.layers, n_classes if kind == "multiclass" else 1)
    info = DATASETS.get(spec.dataset.name)
    if info is None or info.input != "image":
        problems = [Problem(field=f"layers[{i}]", message=(
            f"{layer.type} layers are for image data sets ({', '.join(IMAGE_DATASETS)}); "
            "points take dense layers (each with its own dropout)"))
            for i, layer in enumerate(spec.layers) if layer.type in IMAGE_ONLY]
    total = total_parameters(shapes)
    if total > limits.max_parameters:
        problems.append(Problem(field="layers", message=(
            f"{total:,} parameters is above the maximum {limits.max_parameters:,}: use fewer filters "
            "or units, or pool before flatten")))
    return shapes, problems


def _unet_problems(spec: RunSpec, kind: str, limits: Limits) -> tuple[list[LayerShape], list[Problem]]:
    """A microscopy run trains a U-Net: its output must fit the task, its patch the images."""
    u = spec.unet
    if u is None:
        return [], [Problem(field="unet", message=(
            f"{spec.dataset.name} trains a U-Net: give unet (depth, base_filters, output, ...), "
            "see docs/run-spec.md"))]
    problems = []
    if spec.layers:
        problems.append(Problem(field="layers", message="a U-Net run takes no layers: set its shape under unet"))
    fits = ("restored",) if kind == "restoration" else ("foreground", "three_class")
    if u.output not in fits:
        problems.append(Problem(field="unet.output", message=(
            f"{u.output!r} does not fit {kind}; use {' or '.join(repr(f) for f in fits)}")))
    side = input_shape(spec)[0]
    if u.patch > side:
        problems.append(Problem(field="unet.patch", message=f"{u.patch} is larger than the images ({side} px)"))
    loss = spec.training.loss
    if u.output == "three_class" and loss not in (None, THREE_CLASS_LOSS):
        problems.append(Problem(field="training.loss", message=(
            f"three classes per pixel train with {THREE_CLASS_LOSS}, not {loss}")))
    shapes = unet_shapes(u, side)
    total = total_parameters(shapes)
    if total > limits.max_parameters:
        problems.append(Problem(field="unet", message=(
            f"{total:,} parameters is above the maximum {limits.max_parameters:,}: lower depth or base_filters")))
    return shapes, problems


def _image_problems(spec: RunSpec, limits: Limits) -> list[Problem]:
    d, info = spec.dataset, DATASETS.get(spec.dataset.name)
    if info is None or info.input != "image":
        if spec.training.augment.any:
            return [Problem(field="training.augment", message="augmentation is for image data sets")]
        return []
    problems = []
    total = d.n_train + d.n_val + d.n_test
    if info.most is not None and total > info.most:
        problems.append(Problem(field="dataset", message=(
            f"n_train + n_val + n_test = {total} is more than the {info.most:,} images of {d.name}")))
    side = info.shape(merged_params(d))[0]
    if info.kind in MICROSCOPY and total * side * side > MAX_MICROSCOPY_PIXELS:
        problems.append(Problem(field="dataset", message=(
            f"{total} images of {side}x{side} is above the {MAX_MICROSCOPY_PIXELS:,} pixels a microscopy "
            f"set may have (validation and test images go through the U-Net whole, every epoch)")))
    if info.kind in MICROSCOPY and side % 16:
        problems.append(Problem(field=f"dataset.params.{info.side_param}", message=(
            f"{side} is not a multiple of 16: a U-Net halves the side at each level")))
    # A U-Net trains on patches (at most max_patch): its images may be larger.
    if side > limits.max_image_side and info.kind not in MICROSCOPY:
        problems.append(Problem(field=f"dataset.params.{info.side_param}", message=(
            f"{side} is above the maximum image side {limits.max_image_side}")))
    return problems


IMAGE_DATASETS = tuple(name for name, info in DATASETS.items()
                       if info.input == "image" and info.kind not in MICROSCOPY)
UNET_DATASETS = tuple(name for name, info in DATASETS.items() if info.kind in MICROSCOPY)


def spec_problems(spec: RunSpec, limits: Limits) -> tuple[list[LayerShape] | None, list[Problem]]:
    """The data-set rules of a spec whose numbers are within their bounds: what is wrong,
    and the network's shapes (None when the data set itself is at fault)."""
    problems = _dataset_problems(spec, limits)
    if problems:
        return None, problems
    shapes, shape_problems = network_shapes(spec, limits)
    problems = _image_problems(spec, limits) + shape_problems
    if spec.training.loss is not None:
        kind, _ = problem_of(spec.dataset)
        allowed = LOSSES_BY_KIND[kind]
        three_class = spec.unet is not None and spec.unet.output == "three_class"
        if spec.training.loss not in allowed and not three_class:
            problems.append(Problem(field="training.loss", message=(
                f"{spec.training.loss} does not fit a {kind} problem; use {', '.join(allowed)}")))
    return shapes, problems


def validate_data(raw: Any, limits: Limits) -> RunSpec:
    """A spec whose data set can be drawn (its network is not checked: the data panel shows
    the data while the layers are still being edited); else SpecError."""
    spec = parse_spec(raw, limits)
    problems = _dataset_problems(spec, limits)
    if not problems:
        problems = _image_problems(spec, limits)
    if problems:
        raise SpecError(problems)
    return spec


def validate_spec(raw: Any, limits: Limits) -> RunSpec:
    """A valid RunSpec, or SpecError listing every problem with its field and bound."""
    spec = parse_spec(raw, limits)
    _, problems = spec_problems(spec, limits)
    if problems:
        raise SpecError(problems)
    return spec
