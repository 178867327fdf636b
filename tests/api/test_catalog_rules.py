"""The rules the page repeats come from the catalog, and the catalog's rules are the
server's own: the same losses per problem kind, class limit, vocabularies and field names
as the checks a spec meets, and course exercises that every check accepts."""

from typing import get_args

import pytest

from keras_playground.data import validate_spec
from keras_playground.data.exercises import DEFAULT_EXERCISE, EXERCISES
from keras_playground.data.validate import LOSSES_BY_KIND, MAX_CLASSES
from keras_playground.specs import AugmentSpec, DatasetSpec, LayerSpec, Limits, RunSpec, SpecError, TrainingSpec


@pytest.fixture
def catalog(client):
    response = client.get("/api/catalog")
    assert response.status_code == 200
    return response.json()


def test_the_catalog_rules_are_the_servers(catalog):
    assert catalog["losses_by_kind"] == {kind: list(losses) for kind, losses in LOSSES_BY_KIND.items()}
    assert catalog["max_classes"] == MAX_CLASSES
    assert catalog["regularizations"] == list(get_args(TrainingSpec.model_fields["regularization"].annotation))
    assert catalog["fields"] == {"spec": list(RunSpec.model_fields), "dataset": list(DatasetSpec.model_fields),
                                 "layer": list(LayerSpec.model_fields), "training": list(TrainingSpec.model_fields),
                                 "augment": list(AugmentSpec.model_fields)}
    # Every loss a kind allows is a loss of the catalog; every kind is a data set's kind.
    assert {loss for losses in catalog["losses_by_kind"].values() for loss in losses} <= set(catalog["losses"])
    kinds = {d["kind"] for d in catalog["datasets"] if d["name"] != "custom"}
    assert kinds <= set(catalog["losses_by_kind"])


def test_the_regularizations_are_exactly_what_a_spec_accepts(catalog):
    for name in catalog["regularizations"]:
        TrainingSpec(regularization=name)
    with pytest.raises(ValueError):
        TrainingSpec(regularization="l3")


def test_every_exercise_validates_and_is_served_as_written(catalog):
    assert catalog["exercises"] == [dict(e) for e in EXERCISES]
    assert [e["id"] for e in catalog["exercises"]] == ["ex1", "ex2", "ex3"]
    assert catalog["default_exercise"] == DEFAULT_EXERCISE
    assert DEFAULT_EXERCISE in {e["id"] for e in catalog["exercises"]}
    for exercise in catalog["exercises"]:
        assert exercise["title"] and exercise["hint"]
        validate_spec(exercise["spec"], Limits())
        # The page sends only the fields a spec has: none the server would refuse.
        spec = exercise["spec"]
        assert set(spec) <= set(catalog["fields"]["spec"])
        assert set(spec["dataset"]) <= set(catalog["fields"]["dataset"])
        assert set(spec["training"]) <= set(catalog["fields"]["training"])
        assert all(set(layer) <= set(catalog["fields"]["layer"]) for layer in spec["layers"])


def test_an_exercise_is_accepted_by_the_http_api(client, catalog):
    for exercise in catalog["exercises"]:
        response = client.post("/api/preview/code", json=exercise["spec"])
        assert response.status_code == 200, response.text


def test_a_loss_the_catalog_does_not_list_for_a_kind_is_refused():
    spec = {"dataset": {"name": "line"}, "training": {"loss": "categorical_crossentropy"}}
    assert "categorical_crossentropy" not in LOSSES_BY_KIND["binary"]
    with pytest.raises(SpecError):
        validate_spec(spec, Limits())


def test_the_course_exercises_use_the_courses_settings():
    """Ex1 as on the slides: optimizer 'sgd' at Keras's default rate 0.01, batch 4, 50 epochs,
    100 training and 50 validation points; Ex3 flips the course's 10 % of labels."""
    ex = {e["id"]: e["spec"] for e in EXERCISES}
    ex1 = ex["ex1"]
    assert ex1["training"]["optimizer"] == "sgd" and ex1["training"]["learning_rate"] == 0.01
    assert ex1["training"]["batch_size"] == 4 and ex1["training"]["epochs"] == 50
    assert ex1["dataset"]["n_train"] == 100 and ex1["dataset"]["n_val"] == 50 and ex1["dataset"]["n_test"] == 50
    assert ex1["layers"] == [] and ex1["training"]["loss"] == "binary_crossentropy"
    assert ex["ex3"]["dataset"]["params"]["flip"] == 0.1 and ex["ex3"]["dataset"]["name"] == "course_spiral"
