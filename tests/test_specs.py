"""Every bound of the run spec: an invalid value is refused with its field, value and range."""

import pytest

from keras_playground.specs import Limits, SpecError, parse_spec

BASE = {"dataset": {"name": "parabola", "n_train": 100, "n_val": 20, "n_test": 20},
        "layers": [{"units": 4}], "training": {"batch_size": 10}}


def with_change(path: str, value):
    spec = {k: (dict(v) if isinstance(v, dict) else [dict(x) for x in v]) for k, v in BASE.items()}
    head, _, field = path.partition(".")
    target = spec[head][0] if head == "layers" else spec[head]
    target[field] = value
    return spec


def problems(raw, limits=None):
    with pytest.raises(SpecError) as caught:
        parse_spec(raw, limits)
    return {p.field: p.message for p in caught.value.problems}


BOUNDS = [
    ("dataset.n_train", 1, "[2, 5000]"),
    ("dataset.n_train", 6000, "[2, 5000]"),
    ("dataset.n_val", -1, "[0, 5000]"),
    ("dataset.n_test", -5, "[0, 5000]"),
    ("dataset.noise", 0.9, "[0, 0.5]"),
    ("dataset.noise", -0.1, "[0, 0.5]"),
    ("dataset.seed", -1, "[0, 2147483647]"),
    ("layers.units", 0, "[1, 64]"),
    ("layers.units", 65, "[1, 64]"),
    ("layers.dropout", 0.95, "[0, 0.9]"),
    ("training.learning_rate", 0, "(0, 10]"),
    ("training.learning_rate", 11, "(0, 10]"),
    ("training.momentum", 1.0, "[0, 0.99]"),
    ("training.epochs", 0, "[1, 5000]"),
    ("training.epochs", 5001, "[1, 5000]"),
    ("training.batch_size", 0, "[1, 100]"),
    ("training.batch_size", 101, "[1, 100]"),  # at most n_train
    ("training.seed", 2**31, "[0, 2147483647]"),
    ("training.regularization_rate", 2, "[0, 1]"),
    ("training.early_stopping_patience", 0, "[1, 1000]"),
    ("training.frame_every", 0, "[1, 1000]"),
]


@pytest.mark.parametrize("path, value, bound", BOUNDS, ids=[f"{p}={v}" for p, v, _ in BOUNDS])
def test_a_value_out_of_bounds_names_field_value_and_range(path, value, bound):
    found = problems(with_change(path, value))
    field = path.replace("layers.", "layers[0].")
    assert field in found
    assert repr(value) in found[field] and bound in found[field]


def test_the_total_number_of_points_is_bounded():
    found = problems({"dataset": {"n_train": 3000, "n_val": 1500, "n_test": 1000}})
    assert "5500" in found["dataset"] and "5000" in found["dataset"]


def test_too_many_layers():
    found = problems({"layers": [{"units": 2}] * 9})
    assert "9 hidden layers" in found["layers"] and "8" in found["layers"]


def test_settings_raise_or_lower_the_maximums():
    spec = {"layers": [{"units": 100}]}
    assert parse_spec(spec, Limits(max_units=128)).layers[0].units == 100
    assert "[1, 64]" in problems(spec)["layers[0].units"]


@pytest.mark.parametrize("raw, field", [
    ({"bogus": 1}, "bogus"),
    ({"training": {"optimiser": "sgd"}}, "training.optimiser"),
    ({"training": {"optimizer": "lbfgs"}}, "training.optimizer"),
    ({"layers": [{"units": 3, "activation": "swish"}]}, "layers[0].activation"),
    ({"features": ["x3"]}, "features[0]"),
    ({"training": {"epochs": "many"}}, "training.epochs"),
    ({"dataset": {"params": {"a": "big"}}}, "dataset.params.a"),
])
def test_unknown_fields_and_names_are_refused(raw, field):
    found = problems(raw)
    assert field in found


def test_features_must_be_chosen_once_each():
    assert "at least one" in problems({"features": []})["features"]
    assert "twice" in problems({"features": ["x1", "x1"]})["features"]


def test_early_stopping_needs_a_validation_set():
    raw = {"dataset": {"n_val": 0}, "training": {"early_stopping_patience": 5}}
    assert "n_val" in problems(raw)["training.early_stopping_patience"]


def test_all_problems_are_reported_at_once():
    found = problems({"layers": [{"units": 0}], "training": {"epochs": 0, "learning_rate": 99}})
    assert {"layers[0].units", "training.epochs", "training.learning_rate"} <= set(found)


def test_defaults_make_a_valid_spec():
    spec = parse_spec({})
    assert spec.dataset.name == "parabola" and spec.layers == [] and spec.features == ["x1", "x2"]
