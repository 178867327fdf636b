"""The vocabularies, each written once: pydantic checks the Literal, the catalog lists its names."""

from __future__ import annotations

from typing import Literal, get_args

Feature = Literal["x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)"]
Activation = Literal["sigmoid", "tanh", "relu", "linear", "elu", "softplus"]
OptimizerName = Literal["sgd", "adam", "rmsprop", "adagrad"]
LossName = Literal["binary_crossentropy", "categorical_crossentropy", "mse", "mae", "dice", "bce_dice"]
Regularization = Literal["none", "l1", "l2"]
ProblemKind = Literal["binary", "multiclass", "regression", "segmentation", "restoration"]
# What a U-Net puts out: a foreground probability per pixel, three class probabilities per
# pixel (background, interior, boundary), or the restored image.
UNetOutput = Literal["foreground", "three_class", "restored"]
LayerType = Literal["dense", "conv2d", "maxpool2d", "flatten", "global_avg_pool", "dropout", "batchnorm"]
Padding = Literal["valid", "same"]
InputKind = Literal["points", "image"]

FEATURES: tuple[str, ...] = get_args(Feature)
ACTIVATIONS: tuple[str, ...] = get_args(Activation)
OPTIMIZERS: tuple[str, ...] = get_args(OptimizerName)
LOSSES: tuple[str, ...] = get_args(LossName)
REGULARIZATIONS: tuple[str, ...] = get_args(Regularization)
LAYER_TYPES: tuple[str, ...] = get_args(LayerType)
PADDINGS: tuple[str, ...] = get_args(Padding)
UNET_OUTPUTS: tuple[str, ...] = get_args(UNetOutput)
