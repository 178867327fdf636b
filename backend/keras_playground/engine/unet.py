"""A small U-Net for microscopy (segmentation, restoration), its losses and metrics.

The network is fully convolutional (input (None, None, 1)): it trains on patches and
applies to whole images of any side that is a multiple of 2^depth. Its first layer
normalizes each image by its own percentiles (1 % to 0, 99.8 % to 1, as CSBDeep does), so
the saved model takes raw 8- or 16-bit images as they come from a microscope. Every layer
with variables is named `layer{k}` (the output `output`), so `model.initial_weights`
finds the seed of each from its name, as for the sequential networks.
"""

from __future__ import annotations

import keras
from keras import layers, ops

from ..specs import RunSpec

SMOOTH = 1.0  # keeps the Dice loss defined (and near 0) on a patch with no foreground


@keras.saving.register_keras_serializable(package="keras_playground")
class PercentileNormalization(layers.Layer):
    """Each image mapped so that its `low` percentile is 0 and its `high` percentile 1."""

    def __init__(self, low: float = 1.0, high: float = 99.8, **kwargs):
        super().__init__(**kwargs)
        self.low, self.high = low, high

    def call(self, x):
        x = ops.cast(x, "float32")
        flat = ops.sort(ops.reshape(x, (ops.shape(x)[0], -1)), axis=-1)
        last = ops.cast(ops.shape(flat)[1] - 1, "float32")

        def at(percent):
            index = ops.cast(ops.round(last * percent / 100.0), "int32")
            return ops.take(flat, index, axis=1)[:, None, None, None]

        lo, hi = at(self.low), at(self.high)
        return (x - lo) / ops.maximum(hi - lo, 1e-6)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "low": self.low, "high": self.high}


@keras.saving.register_keras_serializable(package="keras_playground")
def dice_loss(y_true, y_pred):
    """1 - soft Dice of the foreground, per image, averaged: it weighs the few foreground
    pixels as much as the many background ones (pixel-wise losses drown them)."""
    y_true, y_pred = ops.cast(y_true, "float32"), ops.cast(y_pred, "float32")
    axes = tuple(range(1, len(y_pred.shape)))
    overlap = ops.sum(y_true * y_pred, axis=axes)
    total = ops.sum(y_true, axis=axes) + ops.sum(y_pred, axis=axes)
    return 1.0 - (2.0 * overlap + SMOOTH) / (total + SMOOTH)


@keras.saving.register_keras_serializable(package="keras_playground")
def bce_dice_loss(y_true, y_pred):
    """Binary cross-entropy plus the Dice loss: pixel-wise gradients from the first, the
    balance of the second."""
    bce = ops.mean(keras.losses.binary_crossentropy(y_true, y_pred), axis=(1, 2))
    return bce + dice_loss(y_true, y_pred)


def foreground_of(y, kind_output: str):
    """The foreground probability of a target or a prediction (one channel, or 1 - background)."""
    return y[..., 0] if kind_output == "foreground" else 1.0 - y[..., 0]


def hard_dice(truth, probability):
    """Dice of the masks at threshold 0.5, over the whole batch (1 when both are empty)."""
    t = ops.cast(truth > 0.5, "float32")
    p = ops.cast(probability > 0.5, "float32")
    overlap, total = ops.sum(t * p), ops.sum(t) + ops.sum(p)
    return ops.where(total > 0, 2.0 * overlap / ops.maximum(total, 1e-12), 1.0)


def hard_iou(truth, probability):
    t = ops.cast(truth > 0.5, "float32")
    p = ops.cast(probability > 0.5, "float32")
    overlap = ops.sum(t * p)
    union = ops.sum(t) + ops.sum(p) - overlap
    return ops.where(union > 0, overlap / ops.maximum(union, 1e-12), 1.0)


@keras.saving.register_keras_serializable(package="keras_playground")
class DiceMetric(keras.metrics.Mean):
    """The Dice score of the thresholded foreground, as training reports it per epoch."""

    def __init__(self, output: str = "foreground", name: str = "dice", **kwargs):
        super().__init__(name=name, **kwargs)
        self.output = output

    def update_state(self, y_true, y_pred, sample_weight=None):
        return super().update_state(hard_dice(foreground_of(y_true, self.output), foreground_of(y_pred, self.output)))

    def get_config(self):
        return {**super().get_config(), "output": self.output}


@keras.saving.register_keras_serializable(package="keras_playground")
class PsnrMetric(keras.metrics.Mean):
    """Peak signal-to-noise ratio against the clean image, in dB (data range 1)."""

    def __init__(self, name: str = "psnr", **kwargs):
        super().__init__(name=name, **kwargs)

    def update_state(self, y_true, y_pred, sample_weight=None):
        mse = ops.mean(ops.square(ops.cast(y_true, "float32") - ops.cast(y_pred, "float32")), axis=(1, 2, 3))
        return super().update_state(10.0 * ops.log(1.0 / ops.maximum(mse, 1e-12)) / ops.log(10.0))


def output_channels(output: str) -> int:
    return 3 if output == "three_class" else 1


def build_unet(spec: RunSpec, kernel_init, dropout_seed) -> keras.Model:
    """The U-Net of `spec.unet` (uncompiled); `kernel_init(k)` gives layer k's initializer,
    `dropout_seed(k)` its dropout seed (engine.model's seeding scheme)."""
    u = spec.unet
    counter = iter(range(10_000))

    def conv(x, filters, size=3):
        k = next(counter)
        x = layers.Conv2D(filters, size, padding="same", use_bias=not u.batchnorm,
                          kernel_initializer=kernel_init(k), name=f"layer{k}")(x)
        if u.batchnorm:
            # Momentum 0.9, not Keras's 0.99: a class trains a few dozen batches, and the running
            # statistics inference uses must catch up with the training ones by then.
            x = layers.BatchNormalization(momentum=0.9, name=f"layer{next(counter)}")(x)
        return layers.Activation("relu", name=f"relu{k}")(x)

    inputs = keras.Input(shape=(None, None, 1), name="image")
    x = PercentileNormalization(name="normalize")(inputs)
    skips = []
    for level in range(u.depth):
        x = conv(conv(x, u.base_filters * 2 ** level), u.base_filters * 2 ** level)
        skips.append(x)
        x = layers.MaxPooling2D(2, name=f"down{level}")(x)
    bottom = u.base_filters * 2 ** u.depth
    x = conv(conv(x, bottom), bottom)
    if u.dropout > 0:
        k = next(counter)
        x = layers.Dropout(u.dropout, seed=dropout_seed(k), name=f"layer{k}")(x)
    for level in reversed(range(u.depth)):
        filters, k = u.base_filters * 2 ** level, next(counter)
        x = layers.Conv2DTranspose(filters, 2, strides=2, kernel_initializer=kernel_init(k), name=f"layer{k}")(x)
        x = layers.Concatenate(name=f"skip{level}")([x, skips[level]])
        x = conv(conv(x, filters), filters)
    activation = {"foreground": "sigmoid", "three_class": "softmax"}.get(u.output, "linear")
    outputs = layers.Conv2D(output_channels(u.output), 1, activation=activation,
                            kernel_initializer=kernel_init(None), name="output")(x)
    return keras.Model(inputs, outputs, name="unet")


def unet_loss(name: str):
    """The loss object of a loss name (Keras's own names for the usual ones)."""
    return {"dice": dice_loss, "bce_dice": bce_dice_loss}.get(name, name)


def unet_metric(output: str) -> keras.metrics.Metric:
    return PsnrMetric() if output == "restored" else DiceMetric(output)
