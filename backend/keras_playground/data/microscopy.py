"""A synthetic fluorescence microscope: stained nuclei with exact ground truth, for small U-Nets.

The course's Ex6 trains a U-Net to segment bacteria into background / interior / boundary
(the boundary class is what splits touching cells into instances), Ex7 segments nuclei with
StarDist, and its restoration part denoises micrographs as CARE does (a network learns to map
noisy recordings to clean ones). Those exercises use downloaded images with hand-drawn masks;
here every picture is drawn from a seed instead: nothing is downloaded, any number of images
can be made, and the ground truth is exact because we placed the nuclei ourselves: the
noise-free image (the restoration target), the foreground, the three-class map and the
instance labels all come from the same scene.

`nuclei` renders a batch: elliptic nuclei with a faint texture on an uneven background,
blurred by a Gaussian point-spread function and recorded by a camera with shot noise and read
noise. The scoring helpers (Dice, IoU, Otsu, matched F1 of instances, PSNR, SSIM) are pure
numpy/scipy so that lessons and tests can score a U-Net's output without TensorFlow.

scipy.ndimage is imported when first used, as the data package imports only numpy at import.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

OVERLAP = 0.88  # centres at least this share of the summed radii apart: overlaps stay slight
PAIRED = 0.4  # share of nuclei placed against one already there, as after a cell division
TRIES = 24  # candidate positions per nucleus; a nucleus with no free spot is left out
TEXTURE = 0.15  # std of the smooth multiplicative texture inside the nuclei


def _ndimage():
    import scipy.ndimage  # noqa: PLC0415 - the data package stays numpy-only at import

    return scipy.ndimage


@dataclass(frozen=True)
class Microscope:
    """One batch of synthetic fluorescence images with exact ground truth."""

    images: np.ndarray  # float32 (n, side, side, 1): what the camera records (blurred, noisy), about [0, 1]
    clean: np.ndarray  # float32 (n, side, side, 1): the same scene without noise, same PSF and scale
    foreground: np.ndarray  # float32 (n, side, side, 1): 1 inside a nucleus, else 0
    classes: np.ndarray  # int64 (n, side, side): 0 background, 1 interior, 2 boundary
    instances: np.ndarray  # int32 (n, side, side): 0 background, 1..k one label per nucleus


def _check(name: str, value, low: float, high: float) -> float:
    value = float(value)
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low} and {high}, got {value!r}")
    return value


def _reach(a, b, angle, direction):
    """Distance from an ellipse's centre to its edge along `direction` (broadcasting)."""
    t = direction - angle
    return a * b / np.sqrt((b * np.cos(t)) ** 2 + (a * np.sin(t)) ** 2)


def _place(rng, counts, a, b, angle, side):
    """Centres (n, K, 2) and a placed mask (n, K): slot by slot, all images at once.

    Each nucleus tries TRIES candidates: uniform over the image, or (PAIRED of the time, once
    there is a partner) just touching a random earlier nucleus. The first candidate that keeps
    OVERLAP * (reach_i + reach_j) from every placed nucleus wins; none fitting drops the nucleus.
    """
    n, k_max = a.shape
    centre = np.zeros((n, k_max, 2))
    placed = np.zeros((n, k_max), dtype=bool)
    # Centres keep at least 3/4 of the long semi-axis from the edge: a nucleus may be cut by
    # the frame, as in a real field of view, but never to a sliver.
    margin = 0.75 * a
    for k in range(k_max):
        # Drawn for every image, used or not: the random stream never depends on the outcome.
        uniform = rng.uniform(0.0, 1.0, size=(n, TRIES, 2))
        partner_pick = rng.uniform(0.0, 1.0, size=(n, TRIES))
        paired = rng.uniform(0.0, 1.0, size=(n, TRIES)) < PAIRED
        phi = rng.uniform(0.0, 2 * np.pi, size=(n, TRIES))
        gap = rng.uniform(OVERLAP, 1.02, size=(n, TRIES))
        lo = margin[:, k, None, None]
        cand = lo + uniform * (side - 2 * lo)  # (n, TRIES, 2) as (y, x)
        n_placed = placed[:, :k].sum(axis=1)
        if k:
            # The partner: a random placed nucleus. Dropped slots leave gaps, so pick by rank
            # among the placed ones (placed slots sorted first).
            last = np.maximum(n_placed - 1, 0)[:, None]
            rank = np.minimum((partner_pick * n_placed[:, None]).astype(int), last)
            order = np.argsort(~placed[:, :k], axis=1, kind="stable")  # placed slots first
            j = np.take_along_axis(order, rank, axis=1)  # (n, TRIES)
            rows = np.arange(n)[:, None]
            dist = gap * (_reach(a[:, k, None], b[:, k, None], angle[:, k, None], phi)
                          + _reach(a[rows, j], b[rows, j], angle[rows, j], phi))
            near = centre[rows, j] + dist[..., None] * np.stack([np.sin(phi), np.cos(phi)], axis=-1)
            use = (paired & (n_placed > 0)[:, None])[..., None]
            cand = np.where(use, near, cand)
            d = cand[:, :, None, :] - centre[:, None, :k, :]  # (n, TRIES, k, 2)
            direction = np.arctan2(d[..., 0], d[..., 1])
            need = OVERLAP * (_reach(a[:, None, k, None], b[:, None, k, None], angle[:, None, k, None], direction)
                              + _reach(a[:, None, :k], b[:, None, :k], angle[:, None, :k], direction))
            clear = (np.hypot(d[..., 0], d[..., 1]) >= need - 1e-9) | ~placed[:, None, :k]
            ok = clear.all(axis=2)
        else:
            ok = np.ones((n, TRIES), dtype=bool)
        inside = ((cand >= lo - 1e-9) & (cand <= side - lo + 1e-9)).all(axis=2)
        ok &= inside & (counts > k)[:, None]
        first = ok.argmax(axis=1)
        placed[:, k] = ok.any(axis=1)
        centre[:, k] = cand[np.arange(n), first]
    return centre, placed


def _rasterise(n, side, centre, placed, a, b, angle, bright):
    """Instance labels (z-order: a later nucleus lies on top) and the emitted nuclear light."""
    img, slot = np.nonzero(placed)
    # Labels 1..k per image in placement order, so a later nucleus wins an overlap.
    label = (np.cumsum(placed, axis=1)[img, slot]).astype(np.int32)
    cy, cx = centre[img, slot, 0], centre[img, slot, 1]
    aa, bb, th, br = a[img, slot], b[img, slot], angle[img, slot], bright[img, slot]
    h = int(np.ceil(a.max())) + 1 if a.size else 1
    off = np.arange(-h, h + 1)
    # A (2h+1)^2 patch around each nucleus instead of whole images: the cost follows the
    # nuclei's area, not n * side^2 per nucleus.
    py = np.floor(cy).astype(int)[:, None, None] + off[None, :, None]
    px = np.floor(cx).astype(int)[:, None, None] + off[None, None, :]
    dy, dx = py + 0.5 - cy[:, None, None], px + 0.5 - cx[:, None, None]  # pixel centres
    c, s = np.cos(th)[:, None, None], np.sin(th)[:, None, None]
    u, v = (c * dx + s * dy) / aa[:, None, None], (-s * dx + c * dy) / bb[:, None, None]
    d = u * u + v * v
    keep = (d <= 1.0) & (py >= 0) & (py < side) & (px >= 0) & (px < side)
    which, yy, xx = np.nonzero(keep)
    flat = img[which] * side * side + py[which, yy, 0] * side + px[which, 0, xx]
    labels = np.zeros(n * side * side, dtype=np.int32)
    np.maximum.at(labels, flat, label[which])
    # A nucleus is thicker in the middle, so it glows brighter there (a dome, not a disc).
    # Where two overlap the one on top shines alone: its light is what the labels say, and
    # the brightest pixel stays near 1 (adding both would double it along every contact).
    mine = labels[flat] == label[which]
    light = np.zeros(n * side * side)
    light[flat[mine]] = (br[which] * (0.7 + 0.3 * np.sqrt(1.0 - d[which, yy, xx])))[mine]
    return labels.reshape(n, side, side), light.reshape(n, side, side)


def _background(rng, n, side):
    """Uneven illumination and out-of-focus haze: a ramp plus a broad blob, 0.04..0.15."""
    base = rng.uniform(0.04, 0.08, size=(n, 1, 1))
    amp = rng.uniform(0.02, 0.07, size=(n, 1, 1))
    tilt = rng.uniform(0.0, 2 * np.pi, size=(n, 1, 1))
    spot = rng.uniform(0.0, side, size=(n, 2, 1, 1))
    width = rng.uniform(0.3, 0.6, size=(n, 1, 1)) * side
    y = (np.arange(side) + 0.5)[None, :, None]
    x = (np.arange(side) + 0.5)[None, None, :]
    ramp = 0.5 + ((y - side / 2) * np.sin(tilt) + (x - side / 2) * np.cos(tilt)) / (side * np.sqrt(2))
    blob = np.exp(-((y - spot[:, 0]) ** 2 + (x - spot[:, 1]) ** 2) / (2 * width ** 2))
    return base + amp * (0.5 * ramp + 0.5 * blob)


def _boundary(labels):
    """Pixels of a nucleus with a differently labelled 8-neighbour (background or another
    nucleus): a 1 px ring inside each nucleus, 2 px (one from each side) where two touch.
    The frame is not an edge (mode 'nearest'): a nucleus cut by it has no ring there."""
    ndi = _ndimage()
    hi = ndi.maximum_filter(labels, size=(1, 3, 3), mode="nearest")
    lo = ndi.minimum_filter(labels, size=(1, 3, 3), mode="nearest")
    return (labels > 0) & (hi != lo)


def nuclei(n: int, rng: np.random.Generator, noise: float, *, size: int = 64, count: int = 8,
           radius: float = 6.0, blur: float = 1.0, photons: float = 40.0) -> Microscope:
    """n size x size fluorescence images of stained nuclei with exact ground truth.

    A scene holds Poisson(count) nuclei (at least 1): ellipses with semi-axes around `radius`
    (+-40 %), axis ratio 0.6..1, any orientation, brightness 0.4..1 (so the brightest is about
    1), a dome profile and a faint smooth texture (together at most x1.3), on an uneven
    background of 0.04..0.15. Many touch or overlap slightly (centres stay 0.88 of the summed
    radii apart; 40 % of nuclei are placed against an earlier one, as after a division); a
    later nucleus lies on top and owns the overlap. A nucleus with no free spot (after 24
    tries) is left out, so `instances` holds at most the drawn count, 1..k, but never merges
    two: every placed nucleus keeps its own label, in one piece.

    `clean` is the scene blurred by a Gaussian PSF of std `blur` px. The camera counts
    Poisson(clean * photons) photons (divided back by `photons`) and adds Gaussian read noise
    of std `noise`; the result is clipped to [0, 1.5]. So noise = 0 still leaves shot noise
    (std sqrt(I / photons): about 0.16 on the brightest nuclei at 40 photons); a huge
    `photons` makes images == clean up to float rounding.
    """
    if int(n) != n or n < 0:
        raise ValueError(f"n must be a whole number >= 0, got {n!r}")
    n = int(n)
    if int(size) != size or not 32 <= size <= 128 or int(size) % 16:
        raise ValueError(f"size must be a multiple of 16 between 32 and 128, got {size!r}")
    side = int(size)
    noise = _check("noise", noise, 0.0, 0.5)
    count = _check("count", count, 1, 64)
    radius = _check("radius", radius, 2.0, side / 4)
    blur = _check("blur", blur, 0.0, 4.0)
    photons = _check("photons", photons, 1.0, 1e9)
    ndi = _ndimage()

    counts = np.maximum(rng.poisson(count, size=n), 1)
    k_max = int(counts.max()) if n else 0
    # Shapes are drawn for every slot, placed or not, so the stream does not depend on placing.
    mean_axis = radius * rng.uniform(0.6, 1.4, size=(n, k_max))
    ratio = rng.uniform(0.6, 1.0, size=(n, k_max))
    a = mean_axis / np.sqrt(ratio)  # long semi-axis; sqrt keeps the area near pi * radius^2
    b = mean_axis * np.sqrt(ratio)
    angle = rng.uniform(0.0, np.pi, size=(n, k_max))
    bright = rng.uniform(0.4, 1.0, size=(n, k_max))
    centre, placed = _place(rng, counts, a, b, angle, side)
    labels, light = _rasterise(n, side, centre, placed, a, b, angle, bright)

    # Chromatin texture: white noise smoothed over ~1.5 px, scaled to unit std (the std of
    # white noise after a 2-D Gaussian of std s is 1 / (2 sqrt(pi) s)), then made faint.
    grain = ndi.gaussian_filter(rng.standard_normal((n, side, side)), sigma=(0, 1.5, 1.5), mode="wrap")
    texture = 1.0 + TEXTURE * np.clip(grain * (2 * np.sqrt(np.pi) * 1.5), -2, 2)
    scene = _background(rng, n, side) + light * texture
    clean = ndi.gaussian_filter(scene, sigma=(0, blur, blur), mode="reflect") if blur > 0 else scene
    clean = np.maximum(clean, 0.0)

    # The camera: photon counting (Poisson) then read-out electronics (Gaussian).
    recorded = rng.poisson(clean * photons) / photons + noise * rng.standard_normal(clean.shape)
    np.clip(recorded, 0.0, 1.5, out=recorded)

    edge = _boundary(labels)
    classes = np.where(edge, 2, (labels > 0).astype(np.int64)).astype(np.int64)
    return Microscope(
        images=recorded.astype(np.float32)[..., None],
        clean=clean.astype(np.float32)[..., None],
        foreground=(labels > 0).astype(np.float32)[..., None],
        classes=classes,
        instances=labels,
    )


# ------------------------------------------------------------------------------- scoring

def dice(pred: np.ndarray, truth: np.ndarray) -> float:
    """2 |P & T| / (|P| + |T|) of two binary masks of any (same) shape; 1.0 when both are empty."""
    p, t = np.asarray(pred).astype(bool), np.asarray(truth).astype(bool)
    total = int(p.sum()) + int(t.sum())
    return 1.0 if total == 0 else 2.0 * int((p & t).sum()) / total


def iou(pred: np.ndarray, truth: np.ndarray) -> float:
    """|P & T| / |P | T| of two binary masks; 1.0 when both are empty."""
    p, t = np.asarray(pred).astype(bool), np.asarray(truth).astype(bool)
    union = int((p | t).sum())
    return 1.0 if union == 0 else int((p & t).sum()) / union


def otsu_threshold(image: np.ndarray) -> float:
    """Otsu's threshold on a 256-bin histogram: the cut maximising the between-class
    variance. Pixels > the returned value are foreground. A constant image returns its value."""
    x = np.asarray(image, dtype=np.float64).ravel()
    lo, hi = float(x.min()), float(x.max())
    if hi <= lo:
        return lo
    hist, edges = np.histogram(x, bins=256, range=(lo, hi))
    centres = (edges[:-1] + edges[1:]) / 2
    w0 = np.cumsum(hist)[:-1].astype(np.float64)  # weight below each of the 255 inner cuts
    w1 = x.size - w0
    s0 = np.cumsum(hist * centres)[:-1]
    m0 = s0 / np.maximum(w0, 1)
    m1 = (np.sum(hist * centres) - s0) / np.maximum(w1, 1)
    between = w0 * w1 * (m0 - m1) ** 2
    # Every cut inside a gap of empty bins scores the same: take the middle one, not the
    # first, so two clean levels are split halfway between them.
    best = np.flatnonzero(between >= between.max() * (1 - 1e-9))
    return float(edges[1:-1][best[len(best) // 2]])


def matched_f1(pred_instances: np.ndarray, true_instances: np.ndarray,
               threshold: float = 0.5) -> tuple[float, int, int]:
    """F1 of instances matched one-to-one at IoU >= threshold (greedy, best IoU first), with
    the predicted and the true instance counts; for one image (labels > 0 are instances).
    At threshold >= 0.5 a match is unique anyway, so greedy is the optimal matching there."""
    p = np.asarray(pred_instances).ravel().astype(np.int64)
    t = np.asarray(true_instances).ravel().astype(np.int64)
    p_ids, p_inv = np.unique(p, return_inverse=True)
    t_ids, t_inv = np.unique(t, return_inverse=True)
    # Overlap counts of every (predicted, true) label pair from one bincount.
    shape = (len(p_ids), len(t_ids))
    joint = np.bincount(p_inv * shape[1] + t_inv, minlength=shape[0] * shape[1]).reshape(shape)
    joint = joint[p_ids > 0][:, t_ids > 0]
    n_pred, n_true = joint.shape
    if n_pred + n_true == 0:
        return 1.0, 0, 0
    area_p, area_t = np.bincount(p_inv)[p_ids > 0], np.bincount(t_inv)[t_ids > 0]
    scores = joint / np.maximum(area_p[:, None] + area_t[None, :] - joint, 1)
    i, j = np.nonzero(scores >= threshold)
    used_p, used_t, tp = set(), set(), 0
    for k in np.argsort(-scores[i, j], kind="stable"):
        if i[k] not in used_p and j[k] not in used_t:
            used_p.add(i[k])
            used_t.add(j[k])
            tp += 1
    return 2.0 * tp / (n_pred + n_true), n_pred, n_true


def instances_from_classes(classes: np.ndarray) -> np.ndarray:
    """Instance labels (int32) from a 3-class map (0 background, 1 interior, 2 boundary), one
    image (side, side) or a batch (n, side, side), labels 1..k per image.

    Interiors are split into connected components (4-connected, scipy's default: a diagonal
    contact between two predicted interiors does not merge them), then each boundary pixel goes
    to the nearest interior in its own foreground blob (8-connected), so touching nuclei split
    along their shared boundary. Boundary blobs with no interior are dropped."""
    ndi = _ndimage()
    classes = np.asarray(classes)
    if classes.ndim == 3:
        return np.stack([instances_from_classes(c) for c in classes]) if len(classes) else \
            np.zeros(classes.shape, dtype=np.int32)
    seeds, _ = ndi.label(classes == 1)
    if not seeds.any():
        return np.zeros(classes.shape, dtype=np.int32)
    blobs, _ = ndi.label(classes > 0, structure=np.ones((3, 3)))
    # The nearest interior pixel of every pixel, by the Euclidean distance transform.
    iy, ix = ndi.distance_transform_edt(seeds == 0, return_distances=False, return_indices=True)
    nearest = seeds[iy, ix]
    grow = (classes == 2) & (blobs[iy, ix] == blobs)
    return np.where(seeds > 0, seeds, np.where(grow, nearest, 0)).astype(np.int32)


def psnr(restored, clean, data_range: float = 1.0) -> float:
    """Peak signal-to-noise ratio in dB: 10 log10(range^2 / MSE); inf when identical."""
    mse = float(np.mean((np.asarray(restored, np.float64) - np.asarray(clean, np.float64)) ** 2))
    return float("inf") if mse == 0 else float(10 * np.log10(data_range ** 2 / mse))


def ssim(restored, clean, data_range: float = 1.0) -> float:
    """Structural similarity (Wang et al. 2004) of one 2-D image: Gaussian window of std 1.5
    and size 11, K1 = 0.01, K2 = 0.03, population (co)variances, averaged over the positions
    where the window fits inside the image (as Wang's code and tf.image.ssim). Images need at
    least 11 x 11 pixels (a trailing channel axis of 1 is dropped)."""
    ndi = _ndimage()
    x = np.squeeze(np.asarray(restored, np.float64))
    y = np.squeeze(np.asarray(clean, np.float64))
    if x.shape != y.shape or x.ndim != 2 or min(x.shape) < 11:
        raise ValueError(f"ssim needs two 2-D images of one shape, at least 11 x 11; got {x.shape}, {y.shape}")
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2

    # truncate 5 / 1.5 gives a radius of 5 px: the 11-tap window. Cropping 5 px afterwards
    # keeps the positions whose window lies inside the image (a 'valid' convolution).
    def filt(z):
        return ndi.gaussian_filter(z, sigma=1.5, truncate=5 / 1.5)[5:-5, 5:-5]

    mx, my = filt(x), filt(y)
    vx, vy, cxy = filt(x * x) - mx * mx, filt(y * y) - my * my, filt(x * y) - mx * my
    s = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    return float(s.mean())
