"""The run spec and its limits: what a participant asks to train, and every bound on it.

Pydantic checks the shape of a spec (types, names, extra fields refused); `check_limits`
checks every number against one `Limits` table, so each bound is known in exactly one
place and every error names the field, the value and the allowed range.
"""

from __future__ import annotations

import math
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import Problem, SpecError, field_path, range_problem
from .layers import LAYER_MODELS, AnyLayer, DenseLayer
from .vocab import Feature, LossName, OptimizerName, Regularization, UNetOutput


class Limits(BaseModel):
    """Every bound a run spec is held to. Settings may lower or raise the maximums."""

    max_layers: int = 8  # a stack of dense layers (points)
    max_image_layers: int = 16  # a stack with image layers (conv2d, pooling, flatten, ...)
    max_units: int = 64
    max_points: int = 5000  # n_train + n_val + n_test (points or images)
    min_train: int = 2
    max_epochs: int = 5000
    max_learning_rate: float = 10.0
    max_noise: float = 0.5
    max_seed: int = 2**31 - 1
    max_dropout: float = 0.9
    max_regularization: float = 1.0
    max_momentum: float = 0.99
    max_patience: int = 1000
    max_frame_every: int = 1000
    max_abs_coordinate: float = 1e6  # |x1|, |x2| of custom points and CSV rows
    max_filters: int = 32
    max_kernel_size: int = 7
    max_strides: int = 3
    max_pool_size: int = 4
    max_parameters: int = 100_000  # of the whole network, output layer included
    max_image_side: int = 48
    max_shift: float = 0.3  # augmentation: a share of the image's side
    max_rotation: float = 45.0  # augmentation: degrees either way
    max_unet_depth: int = 4  # poolings of a U-Net
    max_base_filters: int = 32  # a U-Net's filters at its first level (doubled at each level down)
    min_patch: int = 16  # side of the patches a U-Net trains on
    max_patch: int = 128
class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DatasetSpec(_Strict):
    """Which data set to draw, how many points for each split, and with what seed."""

    name: str = "parabola"
    n_train: int = 300
    n_val: int = 50
    n_test: int = 50
    noise: float = 0.0
    seed: int = 7
    params: dict[str, float] = Field(default_factory=dict)
    # Only for name == "custom": [x1, x2, label] rows, drawn on the page or from a CSV.
    points: list[tuple[float, float, float]] | None = None


class AugmentSpec(_Strict):
    """Random changes to each training image, drawn anew every epoch (validation and test
    images are never changed): as Keras's RandomTranslation, RandomFlip, RandomRotation
    layers at the start of the model, which are active in training only."""

    shift: float = 0.0  # up to this share of the side, each way, in x and y
    flip: bool = False  # mirror left-right half of the time
    rotate: float = 0.0  # up to this many degrees, either way

    @property
    def any(self) -> bool:
        return bool(self.shift or self.flip or self.rotate)


class UNetSpec(_Strict):
    """A small U-Net for microscopy (segmentation, restoration): `depth` poolings down and as
    many up-convolutions back, two 3x3 convolutions a level, `base_filters` at the top level,
    doubled at each level down, skip connections across. Trained on random `patch` x `patch`
    crops of the training images, flipped and turned by quarter turns at random."""

    depth: int = 2
    base_filters: int = 8
    batchnorm: bool = True
    dropout: float = 0.0  # at the bottom of the U
    output: UNetOutput = "foreground"
    patch: int = 64


class TrainingSpec(_Strict):
    optimizer: OptimizerName = "adam"
    learning_rate: float = 0.01
    momentum: float = 0.0  # sgd only
    loss: LossName | None = None  # None: the natural loss of the problem kind
    batch_size: int = 16
    epochs: int = 200
    seed: int = 1
    shuffle: bool = True
    regularization: Regularization = "none"
    regularization_rate: float = 0.0
    early_stopping_patience: int | None = None  # epochs without a better val loss
    frame_every: int = 1  # a frame every N epochs (first and last always)
    augment: AugmentSpec = Field(default_factory=AugmentSpec)  # image data sets only


class RunSpec(_Strict):
    dataset: DatasetSpec = Field(default_factory=DatasetSpec)
    features: list[Feature] = Field(default_factory=lambda: ["x1", "x2"])
    layers: list[AnyLayer] = Field(default_factory=list)  # hidden layers; the output layer follows
    unet: UNetSpec | None = None  # microscopy data sets: the network is a U-Net instead of layers
    training: TrainingSpec = Field(default_factory=TrainingSpec)


def _layer_bounds(layer, limits: Limits) -> list[tuple[str, float, float]]:
    """(field, low, high) of each number of a layer, by its type."""
    return {
        "dense": [("units", 1, limits.max_units), ("dropout", 0, limits.max_dropout)],
        "conv2d": [("filters", 1, limits.max_filters), ("kernel_size", 1, limits.max_kernel_size),
                   ("strides", 1, limits.max_strides)],
        "maxpool2d": [("pool_size", 1, limits.max_pool_size)],
        "dropout": [("rate", 0, limits.max_dropout)],
    }.get(layer.type, [])


def layer_catalog(limits: Limits) -> dict[str, dict[str, dict]]:
    """Each layer type's fields, with its default and its range (numbers) or choices, as the
    page's layer editor offers them: the bounds are those `check_limits` holds a spec to."""
    out = {}
    for kind, model in LAYER_MODELS.items():
        bounds = {name: (low, high) for name, low, high in _layer_bounds(model(), limits)}
        fields = {}
        for name, info in model.model_fields.items():
            if name == "type":
                continue
            field = {"default": info.default}
            if get_origin(info.annotation) is not None and str(get_origin(info.annotation)).endswith("Literal"):
                field["choices"] = list(get_args(info.annotation))
            elif name in bounds:
                field.update(low=bounds[name][0], high=bounds[name][1], integer=info.annotation in (int, "int"))
            fields[name] = field
        out[kind] = fields
    return out


def check_limits(spec: RunSpec, limits: Limits) -> list[Problem]:
    """Every number of the spec against its bound; data-set rules live in the data layer."""
    problems: list[Problem] = []
    d, t = spec.dataset, spec.training

    def rng(path: str, value: float, low: float, high: float, low_open: bool = False) -> None:
        problem = range_problem(path, value, low, high, low_open=low_open)
        if problem is not None:
            problems.append(problem)

    rng("dataset.n_train", d.n_train, limits.min_train, limits.max_points)
    rng("dataset.n_val", d.n_val, 0, limits.max_points)
    rng("dataset.n_test", d.n_test, 0, limits.max_points)
    total = d.n_train + d.n_val + d.n_test
    if total > limits.max_points:
        problems.append(Problem(field="dataset", message=(
            f"n_train + n_val + n_test = {total} is above the maximum {limits.max_points}")))
    rng("dataset.noise", d.noise, 0, limits.max_noise)
    rng("dataset.seed", d.seed, 0, limits.max_seed)
    for name, value in d.params.items():
        if not math.isfinite(value):
            problems.append(Problem(field=f"dataset.params.{name}", message=f"{value!r} is not a finite number"))
    if not spec.features:
        problems.append(Problem(field="features", message="choose at least one input feature"))
    if len(set(spec.features)) != len(spec.features):
        problems.append(Problem(field="features", message="a feature is listed twice"))
    dense_only = all(isinstance(layer, DenseLayer) for layer in spec.layers)
    most = limits.max_layers if dense_only else limits.max_image_layers
    if len(spec.layers) > most:
        problems.append(Problem(field="layers", message=(
            f"{len(spec.layers)} hidden layers is above the maximum {most}")))
    for i, layer in enumerate(spec.layers):
        for name, low, high in _layer_bounds(layer, limits):
            rng(f"layers[{i}].{name}", getattr(layer, name), low, high)
    if spec.unet is not None:
        u = spec.unet
        rng("unet.depth", u.depth, 1, limits.max_unet_depth)
        rng("unet.base_filters", u.base_filters, 1, limits.max_base_filters)
        rng("unet.dropout", u.dropout, 0, limits.max_dropout)
        rng("unet.patch", u.patch, limits.min_patch, limits.max_patch)
        if 1 <= u.depth <= limits.max_unet_depth and u.patch % 2 ** u.depth:  # a bad depth is named above
            problems.append(Problem(field="unet.patch", message=(
                f"{u.patch} is not a multiple of 2^depth = {2 ** u.depth}: each pooling halves it")))
    a = t.augment
    rng("training.augment.shift", a.shift, 0, limits.max_shift)
    rng("training.augment.rotate", a.rotate, 0, limits.max_rotation)
    rng("training.learning_rate", t.learning_rate, 0, limits.max_learning_rate, low_open=True)
    rng("training.momentum", t.momentum, 0, limits.max_momentum)
    rng("training.epochs", t.epochs, 1, limits.max_epochs)
    rng("training.batch_size", t.batch_size, 1, max(d.n_train, 1))
    rng("training.seed", t.seed, 0, limits.max_seed)
    rng("training.regularization_rate", t.regularization_rate, 0, limits.max_regularization)
    rng("training.frame_every", t.frame_every, 1, limits.max_frame_every)
    if t.early_stopping_patience is not None:
        rng("training.early_stopping_patience", t.early_stopping_patience, 1, limits.max_patience)
        if d.n_val == 0:
            problems.append(Problem(field="training.early_stopping_patience",
                                    message="early stopping watches the validation loss: set dataset.n_val >= 1"))
    return problems


def parse_spec(raw: Any, limits: Limits | None = None) -> RunSpec:
    """Validate a JSON-like spec (shape and bounds); raise SpecError naming each field at fault."""
    try:
        spec = RunSpec.model_validate(raw)
    except ValidationError as exc:
        raise SpecError([
            Problem(field=field_path(e["loc"]) or "spec",
                    message=f"{e['msg']} (got {e['input']!r})" if e["type"] != "missing" else e["msg"])
            for e in exc.errors(include_url=False)
        ]) from None
    problems = check_limits(spec, limits or Limits())
    if problems:
        raise SpecError(problems)
    return spec


