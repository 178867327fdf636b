"""A participant's drawing as an image the network was trained on: the same side, and
with `fit`, the figure cropped to its ink, scaled to the size the data set's figures have
and centred (a digit drawn across the whole pad is far larger than the 8x8 digits the
network saw, and would be misread for that alone).
"""

from __future__ import annotations

import numpy as np

from .catalog import DATASETS

MAX_DRAWING_SIDE = 64  # rows and columns of a drawing the server takes
INK = 0.15  # a pixel brighter than this is part of the figure


def _area_weights(n_in: int, n_out: int) -> np.ndarray:
    """[n_out][n_in]: how much of each input pixel each output pixel covers (area resampling)."""
    edges_out = np.linspace(0, n_in, n_out + 1)
    lo, hi = edges_out[:-1, None], edges_out[1:, None]
    left, right = np.arange(n_in)[None, :], np.arange(n_in)[None, :] + 1
    overlap = np.clip(np.minimum(hi, right) - np.maximum(lo, left), 0, None)
    return overlap / overlap.sum(axis=1, keepdims=True)


def resize(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """A 2-D image resampled to height x width, each output pixel the mean of what it covers
    (scaling up spreads a pixel over several)."""
    return _area_weights(image.shape[0], height) @ image @ _area_weights(image.shape[1], width).T


def figure_size(name: str, side: int) -> int:
    """The side of the box a figure of this data set fills, in pixels."""
    if name == "digits":
        return 8  # scikit-learn's digits are 8x8, whatever the canvas
    return max(2, round(side * 0.55))  # shapes and cells: 30-70 % of the side


def fit_drawing(pixels: np.ndarray, dataset: str, side: int, fit: bool) -> np.ndarray:
    """(side, side, 1) in [0, 1] from a 2-D drawing; `fit`: crop to the ink, scale its longer
    side to the data set's figure size, centre it."""
    pixels = np.clip(np.asarray(pixels, np.float32), 0, 1)
    if not fit or DATASETS.get(dataset) is None:
        return resize(pixels, side, side)[..., None].astype(np.float32)
    rows, cols = np.nonzero(pixels > INK)
    if len(rows) == 0:
        return np.zeros((side, side, 1), np.float32)
    crop = pixels[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    box = figure_size(dataset, side)
    scale = box / max(crop.shape)
    h, w = max(1, round(crop.shape[0] * scale)), max(1, round(crop.shape[1] * scale))
    small = resize(crop, h, w)
    small = small / max(small.max(), 1e-6)  # the strokes as bright as the training figures
    out = np.zeros((side, side), np.float32)
    top, left = (side - h) // 2, (side - w) // 2
    out[top:top + h, left:left + w] = small
    return out[..., None]
