"""The convolution panel's numpy Conv2D against a real Keras Conv2D: every padding and stride."""

import keras
import numpy as np
import pytest

from keras_playground.engine.convolution import convolve, output_side, side_formula


@pytest.mark.parametrize("side, k, stride, padding", [
    (16, 3, 1, "valid"), (16, 3, 2, "valid"), (15, 3, 3, "valid"), (16, 3, 1, "same"),
    (16, 3, 2, "same"), (15, 5, 2, "same"), (7, 4, 3, "same"), (9, 1, 1, "valid"), (8, 7, 1, "valid"),
])
def test_numpy_convolution_equals_keras_conv2d(side, k, stride, padding):
    rng = np.random.default_rng(side * 100 + k * 10 + stride)
    image = rng.random((side, side))
    kernel = rng.normal(size=(k, k))
    layer = keras.layers.Conv2D(1, k, strides=stride, padding=padding, use_bias=False)
    layer.build((1, side, side, 1))
    layer.kernel.assign(kernel[:, :, None, None])
    expected = np.asarray(layer(image[None, :, :, None].astype("float32")))[0, :, :, 0]
    ours = convolve(image, kernel, stride, padding)
    assert ours.shape == expected.shape == (output_side(side, k, stride, padding),) * 2
    np.testing.assert_allclose(ours, expected, rtol=1e-4, atol=1e-5)


def test_the_formula_says_how_the_side_follows():
    assert side_formula(16, 3, 1, "valid") == "floor((16 - 3) / 1) + 1 = 14"
    assert side_formula(15, 3, 2, "same") == "ceil(15 / 2) = 8"
