"""The data-set rules of a spec: names, parameters, custom points, loss by problem kind."""

import pytest

from keras_playground.data import DATASETS, make_dataset, validate_spec
from keras_playground.specs import Limits, SpecError

LIMITS = Limits()


def problems(raw):
    with pytest.raises(SpecError) as caught:
        validate_spec(raw, LIMITS)
    return {p.field: p.message for p in caught.value.problems}


@pytest.mark.parametrize("name", list(DATASETS))
def test_every_data_set_with_its_defaults_is_valid(name):
    info = DATASETS[name]
    if info.input == "image":  # an image needs a flatten (or pooling) before the output layer
        with pytest.raises(SpecError) as caught:
            validate_spec({"dataset": {"name": name}}, LIMITS)
        if info.kind in ("segmentation", "restoration"):  # a U-Net, set under `unet`
            assert caught.value.detail[0]["field"] == "unet" and "trains a U-Net" in caught.value.detail[0]["msg"]
        else:
            assert caught.value.detail[0]["field"] == "layers"
            assert "end with a flatten or global_avg_pool layer" in caught.value.detail[0]["msg"]
        raw = {**info.suggested, "dataset": {**info.suggested["dataset"], "name": name}}
    else:
        raw = {"dataset": {"name": name}}
    spec = validate_spec(raw, LIMITS)
    assert spec.dataset.name == name


def test_the_course_exercises_are_valid_as_the_course_sets_them():
    ex1 = {"dataset": {"name": "line", "n_train": 100, "n_val": 50, "n_test": 50, "params": {"a": 0.5, "b": 0.1}},
           "layers": [], "training": {"optimizer": "sgd", "loss": "binary_crossentropy", "batch_size": 4, "epochs": 50}}
    ex2 = {"dataset": {"name": "parabola", "n_train": 300, "params": {"a": 2, "b": 0, "c": -1}},
           "layers": [{"units": 32, "activation": "relu"}, {"units": 16, "activation": "relu"}],
           "training": {"optimizer": "adam", "learning_rate": 0.001, "batch_size": 16, "epochs": 200}}
    ex3 = {"dataset": {"name": "course_spiral", "params": {"flip": 0.1}}}
    for raw in (ex1, ex2, ex3):
        validate_spec(raw, LIMITS)


def test_an_unknown_data_set_lists_the_known_ones():
    message = problems({"dataset": {"name": "moons"}})["dataset.name"]
    assert "'moons'" in message and "parabola" in message and "custom" in message


def test_parameters_are_checked_by_name_and_range():
    found = problems({"dataset": {"name": "parabola", "params": {"a": 9, "d": 1}}})
    assert found["dataset.params.a"] == "9.0 is out of range [-5, 5]"
    assert "a, b, c" in found["dataset.params.d"]
    found = problems({"dataset": {"name": "blobs", "params": {"classes": 3.5}}})
    assert "whole number" in found["dataset.params.classes"]
    assert "[3, 5]" in problems({"dataset": {"name": "blobs", "params": {"classes": 6}}})["dataset.params.classes"]


@pytest.mark.parametrize("name, loss, allowed", [
    ("parabola", "categorical_crossentropy", "binary_crossentropy, mse, mae"),
    ("blobs", "binary_crossentropy", "categorical_crossentropy, mse"),
    ("plane", "binary_crossentropy", "mse, mae"),
])
def test_the_loss_must_fit_the_problem(name, loss, allowed):
    message = problems({"dataset": {"name": name}, "training": {"loss": loss}})["training.loss"]
    assert loss in message and allowed in message


def test_squared_error_on_a_classification_set_is_allowed():
    assert validate_spec({"training": {"loss": "mse"}}, LIMITS).training.loss == "mse"


def test_custom_points_rules():
    assert "needs its points" in problems({"dataset": {"name": "custom"}})["dataset.points"]
    few = {"name": "custom", "n_train": 3, "n_val": 1, "n_test": 1, "points": [[0, 0, 0], [1, 1, 1]]}
    assert "more than the 2 points" in problems({"dataset": few, "training": {"batch_size": 1}})["dataset"]
    one_class = {"name": "custom", "n_train": 2, "n_val": 0, "n_test": 0, "points": [[0, 0, 1], [1, 1, 1]]}
    assert "two classes" in problems({"dataset": one_class, "training": {"batch_size": 1}})["dataset.points"]
    bad_label = {"name": "custom", "n_train": 2, "n_val": 0, "n_test": 0, "points": [[0, 0, 0], [1, 1, 9]]}
    assert "0 to 4" in problems({"dataset": bad_label, "training": {"batch_size": 1}})["dataset.points[1]"]
    stray = {"name": "line", "points": [[0, 0, 0]]}
    assert "only for the custom" in problems({"dataset": stray})["dataset.points"]


def test_a_valid_custom_set_trains_on_its_points():
    points = [[i / 10, (i % 7) / 10, i % 2] for i in range(20)]
    spec = validate_spec({"dataset": {"name": "custom", "n_train": 12, "n_val": 4, "n_test": 4, "points": points},
                          "training": {"batch_size": 4}}, LIMITS)
    assert make_dataset(spec.dataset).x_train.shape == (12, 2)
