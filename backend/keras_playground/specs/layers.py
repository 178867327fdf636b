"""The layers of a run spec, and what each makes of its input: output shape and parameters.

A layer names its `type`; without one it is `dense`, so every spec written before image
layers existed keeps its meaning. `layer_shapes` walks a stack from the input shape to
the output layer the problem adds, as Keras builds it, and says which layer cannot work
and why (a pool below 1x1, a dense layer on an image without `flatten`), so the server
refuses such a stack with a 422 naming `layers[i]` before any TensorFlow is loaded.

>>> shapes, problems = layer_shapes((16, 16, 1), [Conv2DLayer(filters=8), FlattenLayer()], 10)
>>> [(s.type, s.output_shape, s.parameters) for s in shapes]
[('conv2d', (14, 14, 8), 80), ('flatten', (1568,), 0), ('dense', (10,), 15690)]
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Discriminator, Tag

from .errors import Problem
from .vocab import LAYER_TYPES, Activation, Padding


class _Layer(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DenseLayer(_Layer):
    """A fully connected layer; `dropout` > 0 adds a Dropout after it (points' networks)."""

    type: Literal["dense"] = "dense"
    units: int = 4
    activation: Activation = "relu"
    dropout: float = 0.0


LayerSpec = DenseLayer  # the name of a hidden layer before image layers existed


class Conv2DLayer(_Layer):
    type: Literal["conv2d"] = "conv2d"
    filters: int = 8
    kernel_size: int = 3
    strides: int = 1
    padding: Padding = "valid"
    activation: Activation = "relu"


class MaxPool2DLayer(_Layer):
    """Keras's MaxPooling2D: a pool_size window moved by pool_size (no overlap), 'valid'."""

    type: Literal["maxpool2d"] = "maxpool2d"
    pool_size: int = 2


class FlattenLayer(_Layer):
    type: Literal["flatten"] = "flatten"


class GlobalAvgPoolLayer(_Layer):
    type: Literal["global_avg_pool"] = "global_avg_pool"


class DropoutLayer(_Layer):
    type: Literal["dropout"] = "dropout"
    rate: float = 0.25


class BatchNormLayer(_Layer):
    type: Literal["batchnorm"] = "batchnorm"


def _layer_type(value: Any) -> str:
    kind = value.get("type", "dense") if isinstance(value, dict) else getattr(value, "type", "dense")
    return kind if kind in LAYER_TYPES else "unknown"


class _UnknownLayer(BaseModel):
    """Only to name the allowed types when `type` is none of them (its other fields unread)."""

    model_config = ConfigDict(extra="allow")

    type: Literal[LAYER_TYPES]  # type: ignore[valid-type]


AnyLayer = Annotated[Union[
    Annotated[DenseLayer, Tag("dense")], Annotated[Conv2DLayer, Tag("conv2d")],
    Annotated[MaxPool2DLayer, Tag("maxpool2d")], Annotated[FlattenLayer, Tag("flatten")],
    Annotated[GlobalAvgPoolLayer, Tag("global_avg_pool")], Annotated[DropoutLayer, Tag("dropout")],
    Annotated[BatchNormLayer, Tag("batchnorm")], Annotated[_UnknownLayer, Tag("unknown")],
], Discriminator(_layer_type)]

LAYER_MODELS = {"dense": DenseLayer, "conv2d": Conv2DLayer, "maxpool2d": MaxPool2DLayer,
                "flatten": FlattenLayer, "global_avg_pool": GlobalAvgPoolLayer, "dropout": DropoutLayer,
                "batchnorm": BatchNormLayer}
IMAGE_ONLY = ("conv2d", "maxpool2d", "flatten", "global_avg_pool", "dropout", "batchnorm")
WEIGHTED = ("dense", "conv2d", "batchnorm")


@dataclass(frozen=True)
class LayerShape:
    """One layer as Keras builds it: its output shape (without the batch) and parameters."""

    type: str
    output_shape: tuple[int, ...]
    parameters: int

    def as_json(self) -> dict:
        return {"type": self.type, "output_shape": list(self.output_shape), "parameters": self.parameters}


def _conv_side(side: int, kernel: int, strides: int, padding: str) -> int:
    if padding == "same":
        return math.ceil(side / strides)
    return (side - kernel) // strides + 1 if side >= kernel else 0


def _shape_of(layer, shape: tuple[int, ...]) -> tuple[tuple[int, ...], int, str | None]:
    """(output shape, parameters, why it cannot work or None) of one layer on `shape`."""
    image = len(shape) == 3
    kind = layer.type
    if kind == "dense":
        if image:
            return shape, 0, (f"a dense layer takes a flat input, not a {_size(shape)} image: "
                              "put a flatten or global_avg_pool layer before it")
        return (layer.units,), shape[0] * layer.units + layer.units, None
    if kind in ("conv2d", "maxpool2d", "global_avg_pool") and not image:
        return shape, 0, f"{kind} takes an image (height x width x channels), not a flat input of {shape[0]}"
    if kind == "conv2d":
        h, w, c = shape
        out = (_conv_side(h, layer.kernel_size, layer.strides, layer.padding),
               _conv_side(w, layer.kernel_size, layer.strides, layer.padding), layer.filters)
        if min(out[:2]) < 1:
            return shape, 0, (f"a {layer.kernel_size}x{layer.kernel_size} kernel does not fit its "
                              f"{h}x{w} input with padding 'valid': use 'same' or a smaller kernel")
        return out, layer.kernel_size ** 2 * c * layer.filters + layer.filters, None
    if kind == "maxpool2d":
        h, w, c = shape
        p = layer.pool_size
        if h < p or w < p:
            return shape, 0, f"a {p}x{p} pool on a {h}x{w} input would leave less than 1x1"
        return (h // p, w // p, c), 0, None
    if kind == "flatten":
        return (math.prod(shape),), 0, None
    if kind == "global_avg_pool":
        return (shape[2],), 0, None
    if kind == "batchnorm":
        # gamma and beta are trained; the moving mean and variance are counted too (as Keras).
        return shape, 4 * shape[-1], None
    return shape, 0, None  # dropout


def _size(shape: tuple[int, ...]) -> str:
    return "x".join(str(s) for s in shape)


def layer_shapes(input_shape: tuple[int, ...], layers: list, outputs: int) -> tuple[list[LayerShape], list[Problem]]:
    """Every layer's output shape and parameters, then the output layer's (a Dense of
    `outputs` units); the problems name `layers[i]`. The walk goes on past a bad layer
    with its input shape, so every bad layer is named at once."""
    shapes, problems = [], []
    shape = tuple(input_shape)
    for i, layer in enumerate(layers):
        out, params, problem = _shape_of(layer, shape)
        if problem:
            problems.append(Problem(field=f"layers[{i}]", message=problem))
        shapes.append(LayerShape(layer.type, out, params))
        shape = out
    if len(shape) != 1:
        where = f"layers[{len(layers) - 1}]" if layers else "layers"
        problems.append(Problem(field=where, message=(
            f"the output layer takes a flat input, not a {_size(shape)} image: "
            "end with a flatten or global_avg_pool layer")))
        shapes.append(LayerShape("dense", (outputs,), 0))
    else:
        shapes.append(LayerShape("dense", (outputs,), shape[0] * outputs + outputs))
    return shapes, problems


def total_parameters(shapes: list[LayerShape]) -> int:
    return sum(s.parameters for s in shapes)


def unet_shapes(unet, side: int) -> list[LayerShape]:
    """A U-Net's blocks as Keras builds them (engine/unet.py): each level's two 3x3
    convolutions on the way down, the bottom, each level's up-convolution and two 3x3
    convolutions on the way up, the 1x1 output; shapes for a `side` x `side` image."""
    out_channels = 3 if unet.output == "three_class" else 1

    def conv(c_in: int, f: int) -> int:  # 3x3, then batch normalization (4 numbers a channel) or a bias
        return 9 * c_in * f + (4 * f if unet.batchnorm else f)

    shapes, c = [], 1
    for level in range(unet.depth):
        f, s = unet.base_filters * 2 ** level, side // 2 ** level
        shapes.append(LayerShape(f"down {level + 1}", (s, s, f), conv(c, f) + conv(f, f)))
        c = f
    f, s = unet.base_filters * 2 ** unet.depth, side // 2 ** unet.depth
    shapes.append(LayerShape("bottom", (s, s, f), conv(c, f) + conv(f, f)))
    c = f
    for level in reversed(range(unet.depth)):
        f, s = unet.base_filters * 2 ** level, side // 2 ** level
        up = 4 * c * f + f  # the 2x2 up-convolution, then the skip doubles the channels
        shapes.append(LayerShape(f"up {level + 1}", (s, s, f), up + conv(2 * f, f) + conv(f, f)))
        c = f
    shapes.append(LayerShape("output", (side, side, out_channels), c * out_channels + out_channels))
    return shapes
