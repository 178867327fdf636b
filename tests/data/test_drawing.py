"""A drawing made the size of a data set's figures: cropped to its ink, scaled, centred."""

import numpy as np

from keras_playground.data.drawing import fit_drawing, resize


def test_resize_keeps_the_mean_brightness_and_shape():
    image = np.random.default_rng(1).random((40, 30))
    small = resize(image, 10, 15)
    assert small.shape == (10, 15)
    assert abs(small.mean() - image.mean()) < 1e-9
    assert np.allclose(resize(np.ones((5, 5)), 12, 12), 1.0)  # scaling up spreads, never brightens


def test_a_digit_drawn_across_the_pad_becomes_an_8_pixel_digit_in_the_middle():
    pad = np.zeros((64, 64))
    pad[2:62, 28:36] = 1.0  # a tall "1" from top to bottom
    fitted = fit_drawing(pad, "digits", 16, fit=True)[..., 0]
    rows, cols = np.nonzero(fitted > 0.15)
    assert fitted.shape == (16, 16) and rows.max() - rows.min() + 1 == 8  # as tall as the training digits
    assert abs((rows.min() + rows.max()) / 2 - 7.5) <= 1 and abs((cols.min() + cols.max()) / 2 - 7.5) <= 1
    assert fitted.max() == 1.0


def test_shapes_fill_about_half_the_side_and_an_empty_pad_stays_empty():
    pad = np.zeros((32, 32))
    pad[20:30, 20:30] = 1.0  # a small square in a corner
    fitted = fit_drawing(pad, "shapes", 24, fit=True)[..., 0]
    rows, _ = np.nonzero(fitted > 0.15)
    assert rows.max() - rows.min() + 1 == 13  # 0.55 of 24, rounded
    assert not fit_drawing(np.zeros((10, 10)), "shapes", 24, fit=True).any()
    unfitted = fit_drawing(pad, "shapes", 16, fit=False)[..., 0]
    assert unfitted.shape == (16, 16) and unfitted[:8, :8].max() == 0  # left where it was drawn
