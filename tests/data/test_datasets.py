"""Every data set: exact split sizes, determinism, valid labels, balance, its rule, its noise."""

import inspect

import numpy as np
import pytest

from keras_playground.data import DATASETS, compute_features, make_dataset, to_csv
from keras_playground.data import generators
from keras_playground.specs import DatasetSpec

NAMES = [name for name, info in DATASETS.items() if info.input == "points"]  # images: test_images.py


def spec(name, **kw):
    return DatasetSpec(name=name, **{"n_train": 200, "n_val": 50, "n_test": 50, **kw})


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("sizes", [(300, 50, 50), (101, 7, 3), (5, 0, 0), (33, 0, 9)])
def test_splits_have_exactly_the_asked_sizes(name, sizes):
    n_train, n_val, n_test = sizes
    ds = make_dataset(DatasetSpec(name=name, n_train=n_train, n_val=n_val, n_test=n_test))
    assert ds.x_train.shape == (n_train, 2) and ds.y_train.shape == (n_train,)
    assert ds.x_val.shape == (n_val, 2) and ds.y_val.shape == (n_val,)
    assert ds.x_test.shape == (n_test, 2) and ds.y_test.shape == (n_test,)


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_points_other_seed_other_points(name):
    a, b, c = make_dataset(spec(name, seed=3)), make_dataset(spec(name, seed=3)), make_dataset(spec(name, seed=4))
    assert np.array_equal(a.x_train, b.x_train) and np.array_equal(a.y_test, b.y_test)
    assert not np.array_equal(a.x_train, c.x_train)


@pytest.mark.parametrize("name", NAMES)
def test_labels_fit_the_kind_and_classes_are_balanced(name):
    ds = make_dataset(spec(name, n_train=1000))
    info = DATASETS[name]
    if info.kind == "regression":
        assert ds.y_train.dtype.kind == "f" and ds.n_classes == 0 and ds.y_train.std() > 0.1
        return
    counts = np.bincount(ds.y_train, minlength=ds.n_classes)
    assert len(counts) == ds.n_classes == info.n_classes()
    assert counts.min() >= 0.5 * len(ds.y_train) / ds.n_classes  # at least half a fair share each


@pytest.mark.parametrize("name", NAMES)
def test_the_extent_holds_every_point_with_a_margin(name):
    ds = make_dataset(spec(name))
    x_min, x_max, y_min, y_max = ds.extent
    for xy in (ds.x_train, ds.x_val, ds.x_test):
        assert (xy[:, 0] > x_min).all() and (xy[:, 0] < x_max).all()
        assert (xy[:, 1] > y_min).all() and (xy[:, 1] < y_max).all()


def test_line_and_parabola_follow_their_rule_without_noise():
    ds = make_dataset(spec("line", params={"a": 0.5, "b": 0.1}))
    x, y = ds.x_train[:, 0], ds.x_train[:, 1]
    assert np.array_equal(ds.y_train, (y < 0.5 * x + 0.1).astype(int))
    ds = make_dataset(spec("parabola", params={"a": 2, "b": 0, "c": -1}))
    x, y = ds.x_train[:, 0], ds.x_train[:, 1]
    assert np.array_equal(ds.y_train, (y < 2 * x ** 2 - 1).astype(int))
    assert (np.abs(ds.x_train) <= 1).all()


@pytest.mark.parametrize("name, rule", [
    ("line", lambda x, y: y < 0.5 * x + 0.1),
    ("parabola", lambda x, y: y < 2 * x ** 2 - 1),
])
def test_noise_flips_about_that_share_of_labels(name, rule):
    ds = make_dataset(DatasetSpec(name=name, n_train=4000, n_val=0, n_test=0, noise=0.2))
    disagree = np.mean(ds.y_train != rule(ds.x_train[:, 0], ds.x_train[:, 1]).astype(int))
    assert 0.17 <= disagree <= 0.23


def test_the_course_spiral_is_standardized_with_its_share_of_flips():
    ds = make_dataset(DatasetSpec(name="course_spiral", n_train=2000, n_val=0, n_test=0))
    assert abs(ds.x_train.mean()) < 1e-9 and abs(ds.x_train.std() - 1) < 1e-9  # one mean, one std
    raw = make_dataset(DatasetSpec(name="course_spiral", n_train=2000, n_val=0, n_test=0,
                                   params={"standardize": 0}))
    assert raw.x_train.std() > 2  # r reaches 0.25 * 10 pi: the raw spiral is wide


def test_the_course_spiral_follows_the_course_generator():
    """r = a*t, jitter u, v drawn independently in [-b, b] for each coordinate, class 1
    negated, about `flip` of the labels flipped, classes drawn with even odds."""
    n = 4000
    xy, labels = generators.course_spiral(n, np.random.default_rng(5), 0.0, a=0.25, b=0.5, flip=0.1,
                                          standardize=0)
    assert 0.45 <= labels.mean() <= 0.55
    # a point on its own class's arm lies within b (per coordinate) of (r cos r, r sin r)
    sign = np.where(labels == 1, -1.0, 1.0)[:, None]
    own = sign * xy
    r_grid = np.linspace(0, 0.25 * 10 * np.pi, 20000)
    arm = np.stack([r_grid * np.cos(r_grid), r_grid * np.sin(r_grid)], axis=1)
    off = np.array([np.abs(arm - p).max(axis=1).min() for p in own[:1500]])
    assert 0.06 <= np.mean(off > 0.6) <= 0.14  # the flipped labels: about 10 %
    # the jitter differs between the coordinates: a point is off the ray of its angle r
    rng = np.random.default_rng(5)
    r = 0.25 * rng.uniform(0.0, 10.0 * np.pi, size=n)
    drawn = rng.random(n) >= 0.5
    true_sign = np.where(drawn, -1.0, 1.0)
    ok = (np.abs(np.cos(r)) > 0.3) & (np.abs(np.sin(r)) > 0.3)
    u = true_sign[ok] * xy[ok, 0] / np.cos(r[ok]) - r[ok]
    v = true_sign[ok] * xy[ok, 1] / np.sin(r[ok]) - r[ok]
    assert np.abs(u).max() <= 0.5 + 1e-9 and np.abs(v).max() <= 0.5 + 1e-9
    assert abs(np.corrcoef(u, v)[0, 1]) < 0.1 and np.abs(u - v).mean() > 0.2


def test_blobs_have_the_asked_number_of_classes():
    for k in (3, 4, 5):
        ds = make_dataset(spec("blobs", params={"classes": k}))
        assert ds.n_classes == k and set(ds.y_train) == set(range(k))


def test_points_drawn_in_one_go_split_in_order():
    whole = make_dataset(DatasetSpec(name="parabola", n_train=100, n_val=0, n_test=0, seed=9))
    split = make_dataset(DatasetSpec(name="parabola", n_train=60, n_val=25, n_test=15, seed=9))
    joined = np.concatenate([split.x_train, split.x_val, split.x_test])
    assert np.array_equal(whole.x_train, joined)


def test_features_compute_each_column():
    xy = np.array([[0.5, -2.0], [1.0, 3.0]])
    names = ["x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)"]
    f = compute_features(xy, names)
    assert f.dtype == np.float32 and f.shape == (2, 7)
    expected = np.stack([xy[:, 0], xy[:, 1], xy[:, 0] ** 2, xy[:, 1] ** 2, xy[:, 0] * xy[:, 1],
                         np.sin(xy[:, 0]), np.sin(xy[:, 1])], axis=1)
    assert np.allclose(f, expected)
    assert np.allclose(compute_features(xy, ["x2^2", "x1"]), expected[:, [3, 0]])
    with pytest.raises(ValueError, match="x3"):
        compute_features(xy, ["x3"])


@pytest.mark.parametrize("fn", [getattr(generators, n) for n in NAMES] + [compute_features],
                         ids=NAMES + ["compute_features"])
def test_functions_copied_into_scripts_are_self_contained(fn):
    namespace = {"np": np}
    exec(inspect.getsource(fn), namespace)
    copy = namespace[fn.__name__]
    if fn is compute_features:
        xy = np.random.default_rng(0).uniform(-1, 1, (20, 2))
        assert np.array_equal(copy(xy, ["x1*x2", "sin(x2)"]), fn(xy, ["x1*x2", "sin(x2)"]))
    else:
        a = copy(50, np.random.default_rng(1), 0.1)
        b = fn(50, np.random.default_rng(1), 0.1)
        assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


def test_csv_export_lists_every_point_with_its_split():
    ds = make_dataset(DatasetSpec(name="line", n_train=4, n_val=2, n_test=1))
    lines = to_csv(ds).splitlines()
    assert lines[0] == "split,x1,x2,label"
    assert [line.split(",")[0] for line in lines[1:]] == ["train"] * 4 + ["val"] * 2 + ["test"]
    x1, x2, label = lines[1].split(",")[1:]
    assert float(x1) == pytest.approx(ds.x_train[0, 0], abs=1e-5) and int(label) == ds.y_train[0]


def test_custom_points_are_shuffled_and_split():
    points = [(i / 10, -i / 10, i % 3) for i in range(30)]
    ds = make_dataset(DatasetSpec(name="custom", n_train=20, n_val=5, n_test=5, points=points))
    assert ds.kind == "multiclass" and ds.n_classes == 3
    together = np.concatenate([ds.x_train, ds.x_val, ds.x_test])
    assert sorted(together[:, 0].tolist()) == [i / 10 for i in range(30)]
    assert not np.array_equal(together[:, 0], [i / 10 for i in range(30)])  # shuffled
    binary = make_dataset(DatasetSpec(name="custom", n_train=4, n_val=0, n_test=0,
                                      points=[(0, 0, 0), (1, 1, 1), (0, 1, 0), (1, 0, 1)]))
    assert binary.kind == "binary" and binary.n_classes == 2


# ----- what "noise" means, as the page says it, and the true boundary -----

def _noise_effect(name):
    """What noise does to the data set's points: 'flips', 'moves' (coordinates) or 'target'."""
    info = DATASETS[name]
    calm = info.generator(400, np.random.default_rng(9), 0.0, **info.defaults())
    noisy = info.generator(400, np.random.default_rng(9), 0.3, **info.defaults())
    if info.kind == "regression":
        assert np.allclose(calm[0], noisy[0])
        return "target"
    if np.allclose(calm[0], noisy[0]):
        assert (calm[1] != noisy[1]).any()
        return "flips"
    assert (calm[1] == noisy[1]).all()  # the points move; no label changes
    return "moves"


@pytest.mark.parametrize("name", sorted(NAMES))
def test_the_catalogs_words_on_noise_say_what_the_generator_does(name):
    doc = DATASETS[name].noise_doc.lower()
    effect = _noise_effect(name)
    if effect == "flips":
        assert "flips" in doc and "label" in doc and "stay where they are" in doc
    elif effect == "target":
        assert "target" in doc and "standard deviation" in doc
    else:
        assert ("jitters the points" in doc or "widens the clouds" in doc) and "standard deviation" in doc
        assert "flip" not in doc


@pytest.mark.parametrize("name, params", [
    ("line", {"a": 0.5, "b": 0.1}), ("line", {"a": -3.0, "b": -0.4}),
    ("parabola", {"a": 2.0, "b": 0.0, "c": -1.0}), ("parabola", {"a": -1.0, "b": 1.5, "c": 0.5}),
    ("circle", {"radius": 0.5}), ("xor", {}),
])
def test_the_true_boundary_separates_the_noiseless_classes(name, params):
    from keras_playground.data.truth import true_boundary

    ds = make_dataset(DatasetSpec(name=name, n_train=500, n_val=0, n_test=0, noise=0.0, params=params))
    lines = true_boundary(DatasetSpec(name=name, params=params), ds.extent)
    x_min, x_max, y_min, y_max = ds.extent
    assert lines and all(x_min - 1e-4 <= x <= x_max + 1e-4 and y_min - 1e-4 <= y <= y_max + 1e-4
                         for line in lines for x, y in line)
    x, y = ds.x_train[:, 0], ds.x_train[:, 1]
    if name in ("line", "parabola"):
        points = sorted((px, py) for line in lines for px, py in line)
        curve = np.interp(x, [p[0] for p in points], [p[1] for p in points], left=np.inf, right=np.inf)
        inside = np.isfinite(curve) & (np.abs(y - curve) > 0.02)  # off the polyline's own error
        assert ((y < curve) == ds.y_train.astype(bool))[inside].all()
    elif name == "circle":
        assert np.allclose(np.hypot(*np.array(lines[0]).T), params["radius"], atol=1e-3)
        assert ((np.hypot(x, y) < params["radius"]) == ds.y_train.astype(bool)).all()
    else:
        assert sorted(tuple(line[0]) == tuple(line[-1]) for line in lines) == [False, False]
        assert all(set(np.array(line)[:, 0]) == {0.0} or set(np.array(line)[:, 1]) == {0.0} for line in lines)


def test_spirals_and_regressions_have_no_true_boundary():
    from keras_playground.data.truth import true_boundary

    for name in ("spiral", "course_spiral", "plane", "multi_gaussian"):
        assert true_boundary(DatasetSpec(name=name), (-1, 1, -1, 1)) is None
    rays = true_boundary(DatasetSpec(name="blobs", params={"classes": 4}), (-1.5, 1.5, -1.5, 1.5))
    assert len(rays) == 4 and all(line[0] == [0.0, 0.0] for line in rays)
    assert true_boundary(DatasetSpec(name="gaussian"), (-1, 1, -1, 1)) == [[[-1.0, 1.0], [1.0, -1.0]]]
