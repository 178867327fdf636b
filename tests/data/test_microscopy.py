"""The synthetic microscope and its scores: shapes and ranges, determinism, the three-class
masks (a ring on every nucleus, a line wherever two touch), instances recovered from the
classes, the noise (shot noise even at noise 0; a Gaussian filter helps), and the scores
checked on small arrays whose answers are known."""

import ast
import inspect
import sys
import time

import numpy as np
import pytest
from scipy import ndimage as ndi

from keras_playground.data import microscopy
from keras_playground.data.microscopy import (Microscope, dice, instances_from_classes, iou, matched_f1,
                                              nuclei, otsu_threshold, psnr, ssim)


def draw(n=20, seed=0, noise=0.05, **params) -> Microscope:
    return nuclei(n, np.random.default_rng(seed), noise, **params)


def touching_pairs(labels):
    """Pairs of different nuclei with 4-adjacent pixels, and the mask of those pixels."""
    pairs, contact = set(), np.zeros(labels.shape, dtype=bool)
    for axis in (0, 1):
        a = labels.take(np.arange(labels.shape[axis] - 1), axis=axis)
        b = labels.take(np.arange(1, labels.shape[axis]), axis=axis)
        meet = (a > 0) & (b > 0) & (a != b)
        pairs |= {tuple(sorted(p)) for p in zip(a[meet].tolist(), b[meet].tolist())}
        lo = [slice(None)] * 2
        hi = [slice(None)] * 2
        lo[axis], hi[axis] = slice(0, -1), slice(1, None)
        contact[tuple(lo)] |= meet
        contact[tuple(hi)] |= meet
    return pairs, contact


# ----------------------------------------------------------------------------- the images

@pytest.mark.parametrize("size", [32, 64, 128])
def test_shapes_dtypes_and_ranges(size):
    m = draw(n=3, size=size, noise=0.2)
    for name in ("images", "clean", "foreground"):
        arr = getattr(m, name)
        assert arr.shape == (3, size, size, 1) and arr.dtype == np.float32, name
    assert m.classes.shape == m.instances.shape == (3, size, size)
    assert m.classes.dtype == np.int64 and m.instances.dtype == np.int32
    assert 0 <= m.images.min() and m.images.max() <= 1.5
    # Background 0.04..0.15 blurred; the brightest nucleus is about 1 (dome and texture on top).
    assert 0.02 < m.clean.min() and 0.8 < m.clean.max() < 1.5
    assert set(np.unique(m.foreground)) == {0.0, 1.0}
    assert set(np.unique(m.classes)) == {0, 1, 2}


def test_no_images_at_all():
    m = draw(n=0)
    assert m.images.shape == (0, 64, 64, 1) and m.instances.shape == (0, 64, 64)


@pytest.mark.parametrize("params", [dict(size=40), dict(size=16), dict(size=144), dict(size=64.5),
                                    dict(noise=0.6), dict(noise=-0.1), dict(count=0), dict(radius=40.0),
                                    dict(photons=0.0), dict(blur=-1.0), dict(n=-1), dict(n=2.5)])
def test_bad_parameters_are_refused(params):
    with pytest.raises(ValueError):
        draw(**params)


def test_same_seed_same_images_other_seed_other_images():
    a, b, c = draw(seed=4), draw(seed=4), draw(seed=5)
    for name in ("images", "clean", "foreground", "classes", "instances"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
        assert not np.array_equal(getattr(a, name), getattr(c, name)), name


def test_noise_changes_the_recording_and_nothing_else():
    # The random stream does not depend on `noise`: the same seed gives the same scene.
    quiet, loud = draw(seed=2, noise=0.0), draw(seed=2, noise=0.3)
    for name in ("clean", "classes", "instances"):
        assert np.array_equal(getattr(quiet, name), getattr(loud, name)), name
    assert not np.array_equal(quiet.images, loud.images)


def test_foreground_is_the_nonzero_classes_and_instances():
    m = draw(n=30)
    assert np.array_equal(m.foreground[..., 0] == 1, m.classes > 0)
    assert np.array_equal(m.classes > 0, m.instances > 0)


def test_nuclei_vary_in_size_shape_and_brightness():
    m = draw(n=40, noise=0.0, photons=1e9, blur=0.0)
    areas, peaks = [], []
    for lab, img in zip(m.instances, m.clean[..., 0]):
        ids = np.arange(1, lab.max() + 1)
        areas += ndi.sum_labels(np.ones_like(lab), lab, ids).tolist()
        peaks += ndi.maximum(img, lab, ids).tolist()
    areas, peaks = np.array(areas), np.array(peaks)
    # Semi-axes 6 +-40 %: areas from about pi*3.6^2 to pi*8.4^2 (less where cut by the frame).
    assert np.percentile(areas, 90) > 2.5 * np.percentile(areas, 10)
    assert peaks.min() < 0.75 and peaks.max() > 1.0


# ------------------------------------------------------------------------ the ground truth

def test_instances_are_numbered_1_to_k_and_each_is_one_piece():
    m = draw(n=50, count=12, radius=8.0)
    for lab in m.instances:
        k = lab.max()
        assert set(np.unique(lab)) == set(range(k + 1))
        for i in range(1, k + 1):
            assert ndi.label(lab == i, structure=np.ones((3, 3)))[1] == 1


def test_the_number_of_nuclei_follows_count():
    # Poisson around count; a nucleus finding no free spot is left out, which at the defaults
    # is rare, so the mean count stays close. Nuclei are never merged: each keeps its label.
    k = np.array([lab.max() for lab in draw(n=300, count=8).instances])
    assert k.min() >= 1 and 7.3 < k.mean() < 8.7
    crowded = np.array([lab.max() for lab in draw(n=100, count=30, radius=8.0).instances])
    assert crowded.mean() < 30  # too many to fit in 64 x 64: some are dropped, not merged


def test_every_nucleus_has_a_boundary_ring_and_most_an_interior():
    m = draw(n=50)
    with_interior = total = 0
    for lab, cls in zip(m.instances, m.classes):
        for i in range(1, lab.max() + 1):
            here = cls[lab == i]
            assert (here == 2).any(), "a nucleus without its ring"
            # The ring is 1 px inside the nucleus: every boundary pixel touches another label.
            with_interior += (here == 1).any()
            total += 1
    assert with_interior == total


def test_the_boundary_is_a_thin_ring():
    m = draw(n=50)
    eroded = ndi.binary_erosion(m.classes > 0, structure=np.ones((1, 3, 3)), border_value=1)
    ring = (m.classes > 0) & ~eroded
    # Every pixel on a nucleus's outer edge is boundary; the boundary is at most that outer
    # edge plus the contact lines, not a thick band.
    assert np.all(m.classes[ring] == 2)
    assert (m.classes == 2).sum() < 1.6 * ring.sum()


def test_touching_nuclei_are_split_by_the_boundary_class():
    m = draw(n=30, count=12, radius=8.0)
    n_pairs = 0
    for lab, cls in zip(m.instances, m.classes):
        pairs, contact = touching_pairs(lab)
        n_pairs += len(pairs)
        assert np.all(cls[contact] == 2), "where two nuclei meet, both sides are boundary"
        # No interior pixel of one nucleus is next to another nucleus, even diagonally.
        interior = np.where(cls == 1, lab, 0)
        grown = ndi.maximum_filter(interior, size=3)
        assert not np.any((lab > 0) & (grown > 0) & (grown != lab) & (cls == 1))
    assert n_pairs >= 30  # touching is common, so the boundary class matters


def test_touching_pairs_occur_at_the_defaults_too():
    pairs = [len(touching_pairs(lab)[0]) for lab in draw(n=50).instances]
    assert np.mean(pairs) > 1.0


def test_background_is_most_of_the_pixels():
    # Predicting "background" everywhere would already score > 70 % pixel accuracy.
    m = draw(n=200)
    assert (m.classes == 0).mean() > 0.7


@pytest.mark.parametrize("params", [dict(), dict(count=12, radius=8.0), dict(size=128, count=30)])
def test_instances_are_recovered_from_the_classes(params):
    m = draw(n=30, **params)
    recovered = instances_from_classes(m.classes)
    assert recovered.shape == m.instances.shape and recovered.dtype == np.int32
    for rec, true in zip(recovered, m.instances):
        f1, n_pred, n_true = matched_f1(rec, true)
        assert f1 == 1.0 and n_pred == n_true == true.max()
        assert np.array_equal(rec > 0, true > 0)
        # Labels are numbered differently; map each to the true one it overlaps most. Only
        # pixels on a contact line may go to the other nucleus: almost all agree.
        to_true = {r: np.bincount(true[rec == r]).argmax() for r in range(1, rec.max() + 1)}
        mapped = np.vectorize(lambda r: to_true.get(r, 0))(rec)
        assert (mapped == true)[true > 0].mean() > 0.99


# ---------------------------------------------------------------------------------- noise

def mean_psnr(a, b):
    return np.mean([psnr(x, y) for x, y in zip(a[..., 0], b[..., 0])])


def test_psnr_falls_as_the_read_noise_rises():
    values = [mean_psnr(m.images, m.clean) for m in (draw(seed=1, noise=s) for s in (0.0, 0.05, 0.1, 0.2, 0.4))]
    assert all(a > b for a, b in zip(values, values[1:])), values
    assert 18 < values[0] < 30  # shot noise alone already costs something at 40 photons


def test_noise_zero_still_has_shot_noise_unless_photons_are_huge():
    m = draw(seed=1, noise=0.0)
    assert np.abs(m.images - m.clean).mean() > 0.02
    # More photons, less shot noise.
    assert mean_psnr(draw(seed=1, noise=0.0, photons=400.0).images, m.clean) > mean_psnr(m.images, m.clean) + 5
    bright = draw(seed=1, noise=0.0, photons=1e9)
    assert np.abs(bright.images - bright.clean).max() < 1e-3


def test_a_gaussian_filter_helps_a_bit():
    m = draw(seed=3, noise=0.1)
    smooth = ndi.gaussian_filter(m.images, sigma=(0, 1, 1, 0))
    before, after = mean_psnr(m.images, m.clean), mean_psnr(smooth, m.clean)
    # Helps, but far from perfect: the blur it adds costs detail, room for a trained network.
    assert after > before + 3 and after < 35


def test_otsu_on_a_noisy_image_segments_roughly():
    m = draw(n=30, seed=6, noise=0.1)
    scores = [dice(img > otsu_threshold(img), fg) for img, fg in zip(m.images[..., 0], m.foreground[..., 0])]
    assert 0.6 < np.mean(scores) < 0.95


def test_ssim_is_1_for_identical_images_and_drops_with_noise():
    m = draw(n=5, seed=8)
    x = m.clean[0, ..., 0]
    assert ssim(x, x) == pytest.approx(1.0)
    assert ssim(m.clean[0], m.clean[0]) == pytest.approx(1.0)  # a channel axis of 1 is fine
    values = [np.mean([ssim(a, b) for a, b in zip(d.images, d.clean)])
              for d in (draw(n=5, seed=8, noise=s) for s in (0.0, 0.1, 0.3))]
    assert 1 > values[0] > values[1] > values[2] > 0


# ---------------------------------------------------------------------------------- scores

def naive_ssim(x, y, data_range=1.0):
    """Wang et al. (2004) written out: an 11 x 11 Gaussian window (std 1.5, normalised) at
    every position where it fits, population statistics, mean of the SSIM map."""
    g = np.exp(-(np.arange(11) - 5.0) ** 2 / (2 * 1.5 ** 2))
    w = np.outer(g, g) / np.outer(g, g).sum()
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    out = []
    for i in range(x.shape[0] - 10):
        for j in range(x.shape[1] - 10):
            a, b = x[i:i + 11, j:j + 11], y[i:i + 11, j:j + 11]
            ma, mb = (w * a).sum(), (w * b).sum()
            va, vb = (w * (a - ma) ** 2).sum(), (w * (b - mb) ** 2).sum()
            cov = (w * (a - ma) * (b - mb)).sum()
            out.append((2 * ma * mb + c1) * (2 * cov + c2) / ((ma ** 2 + mb ** 2 + c1) * (va + vb + c2)))
    return float(np.mean(out))


@pytest.mark.parametrize("shape, data_range", [((16, 16), 1.0), ((13, 19), 2.0)])
def test_ssim_matches_a_naive_reference(shape, data_range):
    rng = np.random.default_rng(0)
    x = rng.uniform(0, data_range, size=shape)
    y = np.clip(x + rng.normal(0, 0.2 * data_range, size=shape), 0, data_range)
    assert ssim(y, x, data_range) == pytest.approx(naive_ssim(y, x, data_range), abs=1e-10)


def test_ssim_refuses_images_smaller_than_its_window():
    with pytest.raises(ValueError):
        ssim(np.zeros((8, 8)), np.zeros((8, 8)))


def test_psnr_of_known_arrays():
    a = np.zeros((4, 4))
    assert psnr(a, a) == float("inf")
    assert psnr(a + 0.1, a) == pytest.approx(20.0)
    assert psnr(a + 0.2, a, data_range=2.0) == pytest.approx(20.0)


def test_dice_and_iou_of_known_arrays():
    p = np.array([[1, 1, 0, 0]])
    t = np.array([[0, 1, 1, 0]])
    assert dice(p, t) == pytest.approx(0.5)  # 2 * 1 / (2 + 2)
    assert iou(p, t) == pytest.approx(1 / 3)
    assert dice(p, p) == iou(p, p) == 1.0
    assert dice(p, 1 - p) == iou(p, 1 - p) == 0.0
    empty = np.zeros((3, 3))
    assert dice(empty, empty) == iou(empty, empty) == 1.0
    assert dice(empty, np.eye(3)) == iou(empty, np.eye(3)) == 0.0
    assert dice(np.array([0.2, 0.0]), np.array([True, False])) == 1.0  # any nonzero is in


def test_otsu_splits_two_levels():
    rng = np.random.default_rng(0)
    image = np.concatenate([rng.normal(0.2, 0.02, 700), rng.normal(0.8, 0.05, 300)])
    t = otsu_threshold(image)
    assert 0.3 < t < 0.7
    assert ((image > t) == (np.arange(1000) >= 700)).all()
    assert otsu_threshold(np.full((4, 4), 0.3)) == 0.3


def test_matched_f1_of_known_instances():
    true = np.zeros((10, 10), dtype=int)
    true[1:4, 1:4], true[6:9, 6:9] = 1, 2
    assert matched_f1(true, true) == (1.0, 2, 2)
    relabelled = np.where(true == 1, 7, np.where(true == 2, 3, 0))
    assert matched_f1(relabelled, true) == (1.0, 2, 2)
    one_missed = np.where(true == 2, 0, true)
    assert matched_f1(one_missed, true) == (pytest.approx(2 / 3), 1, 2)
    merged = (true > 0).astype(int)  # one blob over both: IoU 9/18 with each, one match at most
    assert matched_f1(merged, true) == (pytest.approx(2 / 3), 1, 2)
    assert matched_f1(merged, true, threshold=0.51) == (0.0, 1, 2)
    shifted = np.roll(true, 1, axis=1)  # IoU 6/12 = 0.5 per nucleus: matched at 0.5, not at 0.6
    assert matched_f1(shifted, true) == (1.0, 2, 2)
    assert matched_f1(shifted, true, threshold=0.6) == (0.0, 2, 2)
    assert matched_f1(np.zeros_like(true), np.zeros_like(true)) == (1.0, 0, 0)
    assert matched_f1(np.zeros_like(true), true) == (0.0, 0, 2)


def test_instances_from_classes_splits_touching_squares():
    classes = np.zeros((8, 14), dtype=int)
    classes[1:7, 1:6] = 2
    classes[1:7, 6:11] = 2
    classes[2:6, 2:5] = 1
    classes[2:6, 7:10] = 1
    labels = instances_from_classes(classes)
    assert labels.max() == 2
    assert np.all(labels[1:7, 1:6] == labels[3, 3]) and np.all(labels[1:7, 6:11] == labels[3, 8])
    # A boundary blob with no interior (a speck in a prediction) is no nucleus.
    classes[4, 13] = 2
    assert instances_from_classes(classes)[4, 13] == 0
    assert instances_from_classes(np.zeros((5, 5), dtype=int)).max() == 0
    batch = instances_from_classes(np.stack([classes, np.zeros_like(classes)]))
    assert batch.shape == (2, 8, 14) and batch[0].max() == 2 and batch[1].max() == 0


# ------------------------------------------------------------------------------ the module

def test_fast_enough():
    draw(n=2)  # scipy's first import is not the microscope's cost
    start = time.perf_counter()
    draw(n=200, size=64)
    draw(n=50, size=128)
    # About 0.2 + 0.15 s on a laptop; the bound is loose so a busy machine does not fail it.
    assert time.perf_counter() - start < 3.0


def test_module_imports_only_numpy_scipy_and_the_standard_library():
    tree = ast.parse(inspect.getsource(microscopy))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "no imports from the rest of the package"
            roots.add(node.module.split(".")[0])
    assert roots - {"numpy", "scipy"} <= set(sys.stdlib_module_names), roots
