"""The parts of an exported script that differ for an image run (`engine/codegen.py` calls
them): the header's lines on the images and the network, the image generator's code, and
the convolutional network as the course writes it.

The generator cannot be copied alone: it calls helpers of its module (`_finish`, `_side`,
...). So the script carries the generator and every top-level function and constant it
reaches, found by walking the names its source uses, in the module's order; the modules
they use become the script's imports. The model's layers take the arguments
`engine.model` gives them (its seeds and names aside), so the architecture, and
`count_params()`, are the playground's.
"""

from __future__ import annotations

import ast
import inspect
import sys
import textwrap
import types

from ..data import DATASETS, input_shape, merged_params
from ..specs import RunSpec, layer_shapes
from .codegen_common import (NOTES_FOR_US, commented, defined_names, dense_lines, output_lines, regularizer_arg,
                             without_notes)

# Beyond the usual notes: the generators' remarks on how the page hands them parameters.
IMAGE_NOTES = (*NOTES_FOR_US, "catalog")


# ----- The header -----

def _layer_words(layer) -> list[str]:
    if layer.type == "dense":
        return [f"Dense({layer.units}, {layer.activation})"] + (
            [f"Dropout({layer.dropout:g})"] if layer.dropout > 0 else [])
    if layer.type == "conv2d":
        extra = (f", strides {layer.strides}" if layer.strides > 1 else "") + (
            ", same" if layer.padding == "same" else "")
        return [f"Conv2D({layer.filters}, {layer.kernel_size}x{layer.kernel_size}{extra}, {layer.activation})"]
    if layer.type == "maxpool2d":
        return [f"MaxPooling2D({layer.pool_size}x{layer.pool_size})"]
    if layer.type == "dropout":
        return [f"Dropout({layer.rate:g})"]
    return [{"flatten": "Flatten", "global_avg_pool": "GlobalAveragePooling2D",
             "batchnorm": "BatchNormalization"}[layer.type]]


def _augment_words(spec: RunSpec) -> list[str]:
    a = spec.training.augment
    return [*([f"shifts up to {a.shift:.0%} of the side"] if a.shift else []),
            *(["left-right flips"] if a.flip else []),
            *([f"rotations up to {a.rotate:g} degrees"] if a.rotate else [])]


def _labelled(label: str, text: str) -> list[str]:
    """`label` then `text` wrapped to the header's width, the next lines indented under it."""
    lines = textwrap.wrap(text, 72 - 11, break_on_hyphens=False)
    return [f"{label:<11}{lines[0]}", *(f"{'':11}{line}" for line in lines[1:])]


def image_facts(spec: RunSpec, kind: str, n_classes: int) -> list[str]:
    """The header's lines on the images, their classes and the network."""
    d = spec.dataset
    h, w, c = input_shape(spec)
    out = {"binary": "Dense(1, sigmoid)", "multiclass": f"Dense({n_classes}, softmax)"}[kind]
    words = [f"{h}x{w}x{c} image", *(w for layer in spec.layers for w in _layer_words(layer)), out]
    lines = [f"Images:    {h}x{w} pixels, one grey channel (0 black to 1 white)",
             f"           {d.n_train} for training, {d.n_val} for validation, {d.n_test} for testing",
             *_labelled("Classes:", ", ".join(DATASETS[d.name].class_names)),
             *_labelled("Network:", " -> ".join(words))]
    if spec.training.augment.any:
        lines += _labelled("Augment:", ", ".join(_augment_words(spec)) + " (training images only)")
    return lines


def how_to_run(spec: RunSpec) -> list[str]:
    """The header's last lines: what the script needs, how to run it, what to expect."""
    sklearn = "from sklearn" in _generator_code(spec)[0]
    needs = (["# How to run it (needs numpy, scikit-learn for the digits, and keras with",
              "# TensorFlow as the backend; matplotlib for the plots):"] if sklearn else
             ["# How to run it (needs numpy and keras, with TensorFlow as the backend;",
              "# matplotlib for the plots):"])
    return ["#", *needs, "#     python train.py", "#",
            "# The images are exactly the playground's (same code, same seed). The network",
            "# starts from its own random weights, so the final figures come close to the",
            "# playground's but are not identical."]


# ----- The data: the generator and the helpers it calls -----

def _names_used(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _generator_code(spec: RunSpec) -> tuple[str, list[str]]:
    """(source of the generator and everything of its module it reaches, modules it uses)."""
    generator = DATASETS[spec.dataset.name].generator
    module = sys.modules[generator.__module__]
    text = inspect.getsource(module)
    lines = text.split("\n")
    nodes = {name: node for node in ast.parse(text).body for name in defined_names(node)}
    needed, modules, todo = set(), [], [generator.__name__]
    while todo:
        name = todo.pop()
        if name in needed:
            continue
        needed.add(name)
        for used in sorted(_names_used(nodes[name])):
            if used in nodes:
                todo.append(used)
            elif isinstance(module.__dict__.get(used), types.ModuleType):
                if module.__dict__[used].__name__ not in modules:
                    modules.append(module.__dict__[used].__name__)
            elif used in module.__dict__:  # imported by name: the copy would lack it
                raise ValueError(f"{generator.__name__} reaches {used!r}, which its module imports "
                                 "by name: it cannot be copied into a script")
    pieces, previous = [], None
    for node in sorted({id(nodes[n]): nodes[n] for n in needed}.values(), key=lambda n: n.lineno):
        start = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
        source = without_notes(lines[start - 1:node.end_lineno], IMAGE_NOTES)
        constant = not isinstance(node, ast.FunctionDef)
        # Constants sit together; functions are two blank lines apart, as in any module.
        pieces.append(("\n" if constant and previous == "constant" else "\n\n\n") + source)
        previous = "constant" if constant else "function"
    return "".join(pieces).lstrip("\n"), modules


def modules_needed(spec: RunSpec) -> list[str]:
    """The modules the copied generator and helpers use (numpy, functools, ...)."""
    return _generator_code(spec)[1]


def image_data_parts(spec: RunSpec) -> list[str]:
    """The generator with its helpers, then `CLASS_NAMES`, `draw_images()` and `load_data()`."""
    d = spec.dataset
    info = DATASETS[d.name]
    n = d.n_train + d.n_val + d.n_test
    a, b = d.n_train, d.n_train + d.n_val
    first = (f"# The function that draws the images, `{info.generator.__name__}`, and the helpers it calls\n"
             "# (copied from the playground).\n" + _generator_code(spec)[0])
    args = "".join(f", {k}={v!r}" for k, v in merged_params(d).items())
    loading = [
        f"CLASS_NAMES = {list(info.class_names)!r}  # each label's name, label 0 first",
        "",
        "",
        "def draw_images():",
        '    """Draw the images, (count, height, width, 1) grey levels from 0 to 1, and their labels."""',
        f"    rng = np.random.default_rng({d.seed})  # the data seed: same seed, same images",
        f"    images, labels = {info.generator.__name__}({n}, rng, {float(d.noise)!r}{args})",
        "    return images, labels",
        "",
        "",
        "def load_data():",
        '    """The images and their labels, split into training, validation and testing sets."""',
        "    images, labels = draw_images()",
        "    # Split in order: training first, then validation, then testing.",
        f"    Training_data, Training_label = images[:{a}], labels[:{a}]",
        f"    Validation_data, Validation_label = images[{a}:{b}], labels[{a}:{b}]",
        f"    Testing_data, Testing_label = images[{b}:{n}], labels[{b}:{n}]",
        "    return (Training_data, Training_label, Validation_data, Validation_label,",
        "            Testing_data, Testing_label)",
    ]
    return [first, "\n".join(loading)]


# ----- The model -----

def _augment_lines(spec: RunSpec) -> list[str]:
    """As engine.model's `_augmentation`: the same layers, factors and fill."""
    a = spec.training.augment
    if not a.any:
        return []
    lines = ["# Data augmentation: each epoch, every training image is changed at random;",
             "# these layers act in training only (validation and testing images pass unchanged)."]
    if a.shift:
        lines += commented(f"model.add(layers.RandomTranslation({a.shift!r}, {a.shift!r}, fill_mode='constant'))",
                           f"shift: up to {a.shift:.0%} of the side up or down and left or right "
                           "(the gap filled with black)")
    if a.flip:
        lines += commented("model.add(layers.RandomFlip('horizontal'))", "flip: a left-right mirror, half of the time")
    if a.rotate:
        lines += commented(f"model.add(layers.RandomRotation({a.rotate!r} / 360, fill_mode='constant'))",
                           f"rotate: up to {a.rotate:g} degrees either way (Keras counts in full turns)")
    return lines


def _shape_words(shape) -> str:
    out = "x".join(str(s) for s in shape.output_shape)
    return f"output {out}" + (f", {shape.parameters} parameters" if shape.parameters else "")


def _layer_code(spec: RunSpec, layer, i: int, shape) -> list[str]:
    """One spec layer as the script adds it, with what it does and makes in a comment."""
    reg = regularizer_arg(spec)
    made = _shape_words(shape)
    if layer.type == "dense":
        return dense_lines(spec, layer, i, f"dense layer: {layer.units} neuron{'s' if layer.units > 1 else ''} "
                                           f"({made})")
    if layer.type == "conv2d":
        k, s = layer.kernel_size, layer.strides
        args = f"{layer.filters}, ({k}, {k})" + (f", strides=({s}, {s})" if s != 1 else "") + (
            f", padding={layer.padding!r}" if layer.padding != "valid" else "")
        comment = f"convolution: {layer.filters} filter{'s' if layer.filters > 1 else ''} of {k}x{k}, a feature map each ({made})"
        if reg:
            comment += f"; the {spec.training.regularization.upper()} penalty keeps its weights small"
        return commented(f"model.add(layers.Conv2D({args}, activation={layer.activation!r}{reg}))", comment)
    p = getattr(layer, "pool_size", 0)
    code, comment = {
        "maxpool2d": (f"MaxPooling2D(({p}, {p}))",
                      f"max pooling: the largest value of each {p}x{p} block"),
        "flatten": ("Flatten()", "flatten: the feature maps laid out in one row"),
        "global_avg_pool": ("GlobalAveragePooling2D()", "global average pooling: the mean of each feature map"),
        "dropout": (f"Dropout({getattr(layer, 'rate', 0.0)!r})",
                    f"dropout: in training only, {getattr(layer, 'rate', 0.0):.0%} of the values are set to 0 "
                    "at random (against overfitting)"),
        "batchnorm": ("BatchNormalization()", "batch normalization: each channel brought to mean 0, "
                      "standard deviation 1, then scaled"),
    }[layer.type]
    return commented(f"model.add(layers.{code})", f"{comment} ({made})")


def image_layer_lines(spec: RunSpec, kind: str, n_classes: int) -> list[str]:
    """The network from its Input to its output layer (augmentation first)."""
    h, w, c = input_shape(spec)
    shapes, _ = layer_shapes((h, w, c), spec.layers, n_classes if kind == "multiclass" else 1)
    body = _augment_lines(spec)
    for i, (layer, shape) in enumerate(zip(spec.layers, shapes), start=1):
        body += _layer_code(spec, layer, i, shape)
    names = DATASETS[spec.dataset.name].class_names
    body += output_lines(kind, n_classes, f"output: the probability of class 1 ({names[-1]}), cut at 0.5")
    lines = commented(f"model.add(layers.Input(shape=({h}, {w}, {c})))",
                      f"each image comes in as {h}x{w} pixels, {c} channel (grey); only the first "
                      "layer needs its shape")
    first = next(line for line in body if line.startswith("model.add("))
    slide = first.removeprefix("model.add(layers.")[:-2] + f", input_shape=({h}, {w}, {c}))"
    lines += ["# The course's slides write the first layer with the input shape inside it:",
              f"#     model.add({slide})",
              "# Keras 3 prefers the separate Input above; the network is the same."]
    return lines + body
