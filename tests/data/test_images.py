"""The image generators: shapes and ranges, determinism, balance, what varies, noise, and that
the cells are told apart by their outline rather than by their brightness."""

import ast
import inspect
import sys

import numpy as np
import pytest

from keras_playground.data import images
from keras_playground.data.images import (CELL_CLASSES, DIGIT_CLASSES, DIGITS_AVAILABLE,
                                          SHAPE_CLASSES, cells, digits, shapes)

# (generator, its size parameter, default side, smallest and largest side, classes)
GENERATORS = {
    "digits": (digits, "canvas", 16, 8, 32, DIGIT_CLASSES),
    "shapes": (shapes, "size", 24, 16, 32, SHAPE_CLASSES),
    "cells": (cells, "size", 32, 24, 48, CELL_CLASSES),
}
NAMES = list(GENERATORS)


def draw(name, n, seed=0, noise=0.0, **params):
    return GENERATORS[name][0](n, np.random.default_rng(seed), noise, **params)


def best_threshold_accuracy(score, labels):
    """The best accuracy any single cut on `score` reaches between two classes, either way round."""
    s = labels[np.argsort(score, kind="stable")]
    zeros_below = np.concatenate([[0], np.cumsum(s == 0)])
    ones_above = np.concatenate([[0], np.cumsum(s[::-1] == 1)])[::-1]
    accuracy = (zeros_below + ones_above) / len(s)
    return max(accuracy.max(), 1 - accuracy.min())


def irregularity(x):
    """Outline pixels over the square root of the area of the bright region: higher for a
    spiky outline than for a round one of any size."""
    x = x[..., 0]
    border = np.concatenate([x[:, 0], x[:, -1], x[:, :, 0], x[:, :, -1]], axis=1)
    background = np.median(border, axis=1)[:, None, None]
    top = np.percentile(x.reshape(len(x), -1), 95, axis=1)[:, None, None]
    mask = x > (background + top) / 2
    p = np.pad(mask, ((0, 0), (1, 1), (1, 1)))
    interior = p[:, :-2, 1:-1] & p[:, 2:, 1:-1] & p[:, 1:-1, :-2] & p[:, 1:-1, 2:]
    outline = mask & ~interior
    return outline.sum((1, 2)) / np.sqrt(np.maximum(mask.sum((1, 2)), 1))


def centre_of_mass(x):
    x = x[..., 0].astype(np.float64)
    x = x - x.min(axis=(1, 2), keepdims=True)  # the background would pull it to the middle
    side = x.shape[1]
    total = x.sum((1, 2))
    rows = (x.sum(2) * np.arange(side)).sum(1) / total
    cols = (x.sum(1) * np.arange(side)).sum(1) / total
    return rows, cols


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("n", [0, 1, 7, 300])
@pytest.mark.parametrize("which", ["low", "default", "high"])
def test_shape_dtype_and_range(name, n, which):
    _, param, default, low, high, classes = GENERATORS[name]
    side = {"low": low, "default": default, "high": high}[which]
    x, y = draw(name, n, noise=0.3, **{param: side})
    assert x.shape == (n, side, side, 1) and x.dtype == np.float32
    assert y.shape == (n,) and y.dtype == np.int64
    if n:
        assert 0.0 <= x.min() and x.max() <= 1.0
        assert 0 <= y.min() and y.max() < len(classes)


@pytest.mark.parametrize("name", NAMES)
def test_defaults_and_float_parameters(name):
    # The catalog hands its parameters over as floats.
    _, param, default, low, high, _ = GENERATORS[name]
    assert draw(name, 3)[0].shape == (3, default, default, 1)
    assert draw(name, 3, **{param: float(low + 1)})[0].shape == (3, low + 1, low + 1, 1)


@pytest.mark.parametrize("name", NAMES)
def test_side_outside_its_range_is_refused(name):
    _, param, _, low, high, _ = GENERATORS[name]
    for side in (low - 1, high + 1):
        with pytest.raises(ValueError):
            draw(name, 3, **{param: side})


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_images_other_seed_other_images(name):
    # 600 images span several of the blocks the generators render in.
    x1, y1 = draw(name, 600, seed=5, noise=0.1)
    x2, y2 = draw(name, 600, seed=5, noise=0.1)
    x3, y3 = draw(name, 600, seed=6, noise=0.1)
    assert np.array_equal(x1, x2) and np.array_equal(y1, y2)
    assert not np.array_equal(x1, x3)
    assert not np.array_equal(y1, y3)


@pytest.mark.parametrize("name", NAMES)
def test_every_class_present_and_roughly_balanced(name):
    classes = GENERATORS[name][5]
    _, y = draw(name, 400, seed=1)
    counts = np.bincount(y, minlength=len(classes))
    expected = 400 / len(classes)
    assert len(counts) == len(classes)
    assert counts.min() >= 0.6 * expected and counts.max() <= 1.4 * expected


@pytest.mark.parametrize("name", NAMES)
def test_noise_adds_pixel_variance_and_nothing_else(name):
    clean, y0 = draw(name, 200, seed=2, noise=0.0)
    noisy, y1 = draw(name, 200, seed=2, noise=0.2)
    assert not np.array_equal(clean, noisy)
    # Same seed, other noise: the same pictures and labels under different noise.
    assert np.array_equal(y0, y1)
    assert np.abs(noisy - clean).mean() < 0.2

    def border_variance(x):
        border = np.concatenate([x[:, 0, :, 0], x[:, -1, :, 0], x[:, :, 0, 0], x[:, :, -1, 0]], axis=1)
        return border.var(axis=1).mean()

    # The image border is mostly background: the noise shows there.
    assert border_variance(noisy) > border_variance(clean) + 0.005


def test_digits_are_the_bundled_ones_at_canvas_8():
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x, y = digits(50, np.random.default_rng(3), 0.0, canvas=8)
    source = (bunch.images / 16.0).astype(np.float32).reshape(len(bunch.images), -1)
    for image, label in zip(x.reshape(50, -1), y):
        matches = np.flatnonzero((source == image).all(axis=1))
        assert len(matches) >= 1 and label in bunch.target[matches]


def test_digits_are_distinct_and_all_of_them_fit():
    x, y = digits(DIGITS_AVAILABLE, np.random.default_rng(4), 0.0, canvas=8)
    assert len(np.unique(x.reshape(len(x), -1), axis=0)) == DIGITS_AVAILABLE
    from sklearn.datasets import load_digits
    assert np.array_equal(np.bincount(y), np.bincount(load_digits().target))


def test_digits_beyond_the_bundled_count_are_refused():
    with pytest.raises(ValueError):
        digits(DIGITS_AVAILABLE + 1, np.random.default_rng(0), 0.0)
    with pytest.raises(ValueError):
        digits(-1, np.random.default_rng(0), 0.0)


@pytest.mark.parametrize("name", ["digits", "shapes"])
def test_position_varies(name):
    # The point of these sets for a CNN: the same pattern turns up anywhere in the image.
    _, param, _, _, high, _ = GENERATORS[name]
    x, _ = draw(name, 400, seed=7, **{param: high})
    rows, cols = centre_of_mass(x)
    for axis in (rows, cols):
        assert axis.std() > 0.08 * high
        assert axis.max() - axis.min() > 0.4 * high


def test_shapes_vary_in_brightness_and_stay_mostly_inside():
    x, y = shapes(400, np.random.default_rng(8), 0.0, size=24)
    peak = x.max(axis=(1, 2, 3))
    assert peak.min() < 0.6 and peak.max() > 0.9
    border = np.concatenate([x[:, 0], x[:, -1], x[:, :, 0], x[:, :, -1]], axis=1)
    assert (border > 0.3).mean() < 0.03


def test_cells_outline_separates_the_classes():
    x, y = cells(400, np.random.default_rng(9), 0.0)
    score = irregularity(x)
    assert score[y == 1].mean() > score[y == 0].mean() + 0.5
    assert best_threshold_accuracy(score, y) > 0.9


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("size", [24, 32, 48])
def test_cells_mean_intensity_alone_does_not_separate_the_classes(seed, size):
    x, y = cells(400, np.random.default_rng(seed), 0.0, size=size)
    assert best_threshold_accuracy(x.mean(axis=(1, 2, 3)), y) < 0.8


def test_module_imports_only_numpy_sklearn_and_the_standard_library():
    tree = ast.parse(inspect.getsource(images))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "no imports from the rest of the package"
            roots.add(node.module.split(".")[0])
    assert roots - {"numpy", "sklearn"} <= set(sys.stdlib_module_names), roots


def test_digits_excluding_gives_the_digits_a_data_set_does_not_draw():
    # A challenge's hidden digits: none is one the run's data set drew (make_dataset's order).
    from keras_playground.data import make_dataset
    from keras_playground.data.images import digits_excluding
    from keras_playground.specs import DatasetSpec

    spec = DatasetSpec(name="digits", n_train=900, n_val=200, n_test=100, seed=11, params={"canvas": 8})
    run = make_dataset(spec)
    seen = {image.tobytes() for x in (run.x_train, run.x_val, run.x_test) for image in x}
    assert len(seen) == 1200  # the bundled digits are all distinct
    hidden, labels = digits_excluding(11, 1200, 500, np.random.default_rng(99), 0.0, canvas=8)
    assert hidden.shape == (500, 8, 8, 1) and set(labels) == set(range(10))
    assert not seen & {image.tobytes() for image in hidden}
    every, _ = digits_excluding(11, 1200, DIGITS_AVAILABLE, np.random.default_rng(99), 0.0, canvas=8)
    assert len(every) == DIGITS_AVAILABLE - 1200  # all that remain, no more
    assert len(seen | {image.tobytes() for image in every}) == DIGITS_AVAILABLE
    # On a larger canvas the same digits (same rng), each at a place of its own.
    placed, placed_labels = digits_excluding(11, 1200, 500, np.random.default_rng(99), 0.0, canvas=16)
    assert placed.shape == (500, 16, 16, 1) and np.array_equal(placed_labels, labels)
    assert np.allclose(placed.sum(axis=(1, 2, 3)), hidden.sum(axis=(1, 2, 3)))
    rows, cols = centre_of_mass(placed)
    assert rows.std() > 1 and cols.std() > 1
    again, _ = digits_excluding(11, 1200, 500, np.random.default_rng(99), 0.0, canvas=16)
    assert np.array_equal(placed, again)
