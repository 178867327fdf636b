"""Image data sets for the small CNNs: (n, side, side, 1) float32 in [0, 1], int64 labels.

digits: scikit-learn's 8x8 handwritten digits, each pasted at a random spot of a larger canvas,
    so the same stroke appears anywhere and a convolution's shared weights pay off over a dense net.
shapes: synthetic circles, squares, triangles and crosses; unlimited, seeded, and the classes
    differ by form only (size, place, angle and brightness are random), the thing filters detect.
cells: a stand-in for the course's red-blood-cell exercise (good round cells vs. bad crenated
    ones), drawn from a seed so the exercise needs no image files and can make any number.

Numpy only at import (scikit-learn is imported when the digits are first needed), so the data
package stays as light as its other generators. Signature: (n, rng, noise, **params).
"""

from __future__ import annotations

import functools

import numpy as np

DIGIT_CLASSES: tuple[str, ...] = tuple(str(d) for d in range(10))
SHAPE_CLASSES: tuple[str, ...] = ("circle", "square", "triangle", "cross")
CELL_CLASSES: tuple[str, ...] = ("round", "crenated")
DIGITS_AVAILABLE = 1797  # how many distinct digit images exist


def _count(n) -> int:
    if int(n) != n or n < 0:
        raise ValueError(f"n must be a whole number >= 0, got {n!r}")
    return int(n)


def _side(value, low: int, high: int, name: str) -> int:
    # The catalog hands parameters over as floats; a side must still be a whole pixel count.
    side = int(round(float(value)))
    if not low <= side <= high:
        raise ValueError(f"{name} must be between {low} and {high}, got {value!r}")
    return side


def _finish(images: np.ndarray, labels: np.ndarray, rng: np.random.Generator,
            noise: float, grain: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Add pixel noise of std `noise` (on top of a data set's own `grain`), clip to [0, 1],
    add the channel axis."""
    # Drawn even at noise 0 so that the same seed gives the same pictures at every noise
    # level: moving the noise slider then changes the noise and nothing else.
    draws = rng.standard_normal(images.shape, dtype=np.float32)
    images = images.astype(np.float32, copy=False)
    # Independent Gaussians add in variance: one draw serves both.
    draws *= np.float32(np.hypot(grain, noise))
    images += draws
    np.clip(images, 0.0, 1.0, out=images)
    return images[..., None], labels.astype(np.int64, copy=False)


def _grid(side: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates, shaped to broadcast against per-image (n, 1, 1) parameters."""
    c = np.arange(side, dtype=np.float32) + np.float32(0.5)
    return c[None, :, None], c[None, None, :]  # y down the rows, x along the columns


def _col(values) -> np.ndarray:
    return np.asarray(values, dtype=np.float32)[:, None, None]


# --------------------------------------------------------------------------------- digits

@functools.lru_cache(maxsize=1)
def _digit_arrays() -> tuple[np.ndarray, np.ndarray]:
    # Imported here, not at the top: only this data set needs scikit-learn, and load_digits
    # reads the bundled file (no download) but still costs a few tenths of a second.
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = (bunch.images / 16.0).astype(np.float32)
    labels = bunch.target.astype(np.int64)
    # The cache hands out the same arrays to every caller: make accidental edits fail loudly.
    images.setflags(write=False)
    labels.setflags(write=False)
    return images, labels


def digits(n: int, rng: np.random.Generator, noise: float, *,
           canvas: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """n distinct 8x8 digits (0..9), each at a uniformly random integer offset on a black
    canvas x canvas image (canvas 8..32; at 8 the image is the digit itself).
    noise: std of Gaussian pixel noise, clipped to [0, 1]."""
    n = _count(n)
    canvas = _side(canvas, 8, 32, "canvas")
    if n > DIGITS_AVAILABLE:
        raise ValueError(f"there are only {DIGITS_AVAILABLE} distinct digit images, asked for {n}")
    source, targets = _digit_arrays()
    pick = rng.permutation(DIGITS_AVAILABLE)[:n]
    # The offset is what makes this an image task rather than a 64-feature table.
    offsets = rng.integers(0, canvas - 8 + 1, size=(n, 2))
    images = np.zeros((n, canvas, canvas), dtype=np.float32)
    rows = offsets[:, 0, None] + np.arange(8)  # (n, 8)
    cols = offsets[:, 1, None] + np.arange(8)
    images[np.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]] = source[pick]
    return _finish(images, targets[pick], rng, noise)


def digits_excluding(seed: int, drawn: int, n: int, rng: np.random.Generator, noise: float, *,
                     canvas: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """Up to n digit images that a `digits` data set drawn from `seed` with `drawn` images in
    all (n_train + n_val + n_test) does not use, each at a random offset drawn from `rng`:
    a challenge's hidden test set, digits no participant trained on (another seed alone would
    reuse training digits at other places). Such a data set takes
    `default_rng(seed).permutation(DIGITS_AVAILABLE)[:drawn]` (its rng's first draw, as
    `make_dataset` then `digits` draw it); the rest are unseen. Fewer than n when fewer remain."""
    n, drawn = _count(n), _count(drawn)
    canvas = _side(canvas, 8, 32, "canvas")
    taken = np.random.default_rng(seed).permutation(DIGITS_AVAILABLE)[:drawn]
    unseen = np.setdiff1d(np.arange(DIGITS_AVAILABLE), taken)
    pick = rng.permutation(unseen)[:n]
    source, targets = _digit_arrays()
    offsets = rng.integers(0, canvas - 8 + 1, size=(len(pick), 2))
    images = np.zeros((len(pick), canvas, canvas), dtype=np.float32)
    rows = offsets[:, 0, None] + np.arange(8)
    cols = offsets[:, 1, None] + np.arange(8)
    images[np.arange(len(pick))[:, None, None], rows[:, :, None], cols[:, None, :]] = source[pick]
    return _finish(images, targets[pick], rng, noise)


# --------------------------------------------------------------------------------- shapes

def _box(px: np.ndarray, py: np.ndarray, hx, hy) -> np.ndarray:
    """Signed distance (pixels) to an axis-aligned box of half-sizes hx, hy."""
    qx, qy = np.abs(px) - hx, np.abs(py) - hy
    outside = np.hypot(np.maximum(qx, 0.0), np.maximum(qy, 0.0))
    return outside + np.minimum(np.maximum(qx, qy), 0.0)


def _shape_distance(kind: int, px, py, extent, angle) -> np.ndarray:
    """Signed distance in pixels (negative inside) for one kind, over a batch of images."""
    half = extent / 2
    cos, sin = np.cos(angle), np.sin(angle)
    u, v = cos * px + sin * py, -sin * px + cos * py  # the shape's own frame
    if kind == 0:  # circle: rotation would change nothing
        return np.hypot(px, py) - half
    if kind == 1:  # square: a bit smaller than the extent, else its diagonal dwarfs the others
        return _box(u, v, 0.8 * half, 0.8 * half)
    if kind == 2:  # equilateral triangle: the farthest of its three edge lines
        circum = 1.1 * half
        d = None
        for k in range(3):
            a = np.pi / 2 + 2 * np.pi * k / 3
            edge = np.cos(a) * u + np.sin(a) * v - circum / 2
            d = edge if d is None else np.maximum(d, edge)
        return d
    # cross: the union of two bars
    width = 0.3 * half
    return np.minimum(_box(u, v, half, width), _box(u, v, width, half))


def _draw_shapes(images, idx, kind, gx, gy, cx, cy, extent, angle, bright, dark) -> None:
    d = _shape_distance(kind, gx - _col(cx[idx]), gy - _col(cy[idx]),
                        _col(extent[idx]), _col(angle[idx]))
    # Coverage of a pixel by the shape, linear across one pixel: edges without staircases.
    cover = np.clip(0.5 - d, 0.0, 1.0)
    images[idx] = _col(dark[idx]) + _col(bright[idx] - dark[idx]) * cover


def shapes(n: int, rng: np.random.Generator, noise: float, *,
           size: int = 24) -> tuple[np.ndarray, np.ndarray]:
    """One shape per size x size image (size 16..32): circle, square, triangle or cross
    (labels 0..3, uniform), 30-70 % of the side across, at a random place inside the image,
    turned by any angle, of brightness 0.5..1 on a dark background, with soft edges.
    noise: std of Gaussian pixel noise, clipped to [0, 1]."""
    n = _count(n)
    side = _side(size, 16, 32, "size")
    labels = rng.integers(0, len(SHAPE_CLASSES), size=n)
    extent = rng.uniform(0.3, 0.7, size=n) * side
    # Centres keep the extent inside the image; a turned square's corners may poke out a bit.
    cy = rng.uniform(extent / 2, side - extent / 2)
    cx = rng.uniform(extent / 2, side - extent / 2)
    angle = rng.uniform(0.0, 2 * np.pi, size=n)
    bright = rng.uniform(0.5, 1.0, size=n)
    dark = rng.uniform(0.0, 0.15, size=n)
    gy, gx = _grid(side)
    images = np.empty((n, side, side), dtype=np.float32)
    for kind in range(len(SHAPE_CLASSES)):
        every = np.flatnonzero(labels == kind)
        # Blocks of images keep the temporaries in cache.
        for idx in np.array_split(every, max(1, -(-every.size // 256))):
            if idx.size:
                _draw_shapes(images, idx, kind, gx, gy, cx, cy, extent, angle, bright, dark)
    return _finish(images, labels, rng, noise)


# ---------------------------------------------------------------------------------- cells

def cells(n: int, rng: np.random.Generator, noise: float, *,
          size: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """One fluorescent cell per size x size image (size 24..48), labels uniform: 0 round (a
    slightly elliptic, gently wobbly disc), 1 crenated (its outline carries 6..12 bumps of
    12-25 % of the radius). Radius 20-35 % of the side, centre near the middle, brightness
    random per cell, a slightly brighter rim, soft edge, faint glow and haze, faint grain.
    noise: std of further Gaussian pixel noise, clipped to [0, 1]."""
    n = _count(n)
    side = _side(size, 24, 48, "size")
    labels = rng.integers(0, len(CELL_CLASSES), size=n)
    radius = rng.uniform(0.20, 0.35, size=n) * side
    cy = side / 2 + rng.uniform(-0.08, 0.08, size=n) * side
    cx = side / 2 + rng.uniform(-0.08, 0.08, size=n) * side
    # Both classes get the same slight ellipticity and low-order wobble, so "not a perfect
    # circle" alone does not give a cell away: only the many small bumps do.
    stretch = rng.uniform(0.0, 0.12, size=n)
    tilt = rng.uniform(0.0, np.pi, size=n)
    wobble = rng.uniform(0.0, 0.04, size=(n, 2))
    wobble_phase = rng.uniform(0.0, 2 * np.pi, size=(n, 2))
    spikes = rng.integers(6, 13, size=n)
    depth = rng.uniform(0.12, 0.25, size=n) * (labels == 1)
    spike_phase = rng.uniform(0.0, 2 * np.pi, size=n)
    # Brightness is drawn the same way for both classes (and spread widely) so that the mean
    # intensity of an image says next to nothing about its class.
    bright = rng.uniform(0.45, 0.95, size=n)
    rim = rng.uniform(0.1, 0.3, size=n)
    softness = rng.uniform(0.6, 1.4, size=n)
    glow = rng.uniform(0.0, 0.12, size=n)
    haze = rng.uniform(0.02, 0.10, size=n)
    haze_slope = rng.uniform(-0.04, 0.04, size=(n, 2))

    images = np.empty((n, side, side), dtype=np.float32)
    gy, gx = _grid(side)
    # Blocks of images keep the many temporaries in cache: several times faster at 48 x 48.
    for lo in range(0, n, 256):
        b = slice(lo, lo + 256)
        py, px = gy - _col(cy[b]), gx - _col(cx[b])
        cos, sin = np.cos(_col(tilt[b])), np.sin(_col(tilt[b]))
        u = (cos * px + sin * py) / (1 + _col(stretch[b]))
        v = (-sin * px + cos * py) / (1 - _col(stretch[b]))
        rho = np.hypot(u, v)
        theta = np.arctan2(v, u)
        outline = (1 + _col(depth[b]) * np.sin(_col(spikes[b]) * theta + _col(spike_phase[b]))
                   + _col(wobble[b, 0]) * np.sin(2 * theta + _col(wobble_phase[b, 0]))
                   + _col(wobble[b, 1]) * np.sin(3 * theta + _col(wobble_phase[b, 1])))
        edge = _col(radius[b]) * outline
        # Radial distance to the outline is close enough to the true distance for a soft edge.
        inside = 1 / (1 + np.exp((rho - edge) / _col(softness[b])))
        depth_in = np.minimum(rho / edge, 1.0)
        body = _col(bright[b]) * (1 - _col(rim[b]) + _col(rim[b]) * depth_in ** 2) * inside
        # Out-of-focus light around the cell and uneven illumination, as under a microscope.
        halo = _col(glow[b]) * np.exp(-(rho / (1.5 * _col(radius[b]))) ** 2)
        back = (_col(haze[b]) + _col(haze_slope[b, 0]) * (gy / side - 0.5)
                + _col(haze_slope[b, 1]) * (gx / side - 0.5))
        images[b] = body + halo + back
    # A faint camera grain even at noise 0: real micrographs are never clean.
    return _finish(images, labels, rng, noise, grain=0.02)
