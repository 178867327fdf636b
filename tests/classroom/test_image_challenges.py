"""Challenges on image data sets over HTTP: opened on digits, shapes or cells, a small CNN
trained on the challenge's data set and scored on hidden images, the refusals."""

import time

import numpy as np
import pytest

from tests.api.conftest import create, stream_to_end
from tests.classroom.test_http_rooms import bearer, join

# The digits themselves (canvas 8): a small CNN learns them from 500 in a few seconds.
DIGITS = {"name": "digits", "n_train": 500, "n_val": 100, "n_test": 0, "seed": 5, "params": {"canvas": 8}}
CNN = [{"type": "conv2d", "filters": 8, "kernel_size": 3}, {"type": "maxpool2d", "pool_size": 2},
       {"type": "flatten"}]  # 6x6x8 -> 3x3x8 -> 72 -> softmax(10): 80 + 730 parameters


@pytest.fixture
def room(client):
    response = client.post("/api/rooms", json={"title": "Images class"})
    assert response.status_code == 201, response.text
    return response.json()


def cnn_run(client, dataset=DIGITS, layers=CNN, epochs=10, client_id="ada"):
    spec = {"dataset": dataset, "layers": layers,
            "training": {"epochs": epochs, "batch_size": 32, "optimizer": "adam", "learning_rate": 0.01}}
    run = create(client, spec, client_id=client_id)
    assert stream_to_end(client, run["id"])[-1]["kind"] == "done"
    return run


def open_challenge(client, room, dataset, max_parameters=1000, max_epochs=20):
    return client.post(f"/api/rooms/{room['code']}/challenge", headers=bearer(room["instructor_token"]),
                       json={"title": "", "dataset": dataset, "max_parameters": max_parameters,
                             "max_epochs": max_epochs})


def submit(client, room, person, run):
    return client.post(f"/api/rooms/{room['code']}/submissions", headers=bearer(person["token"]),
                       json={"run_id": run["id"], "run_token": run["token"]})


def test_a_digits_challenge_scores_a_small_cnn_on_unseen_digits_and_refuses_other_runs(client, room):
    opened = open_challenge(client, room, DIGITS)
    assert opened.status_code == 200, opened.text
    assert opened.json()["challenge"]["title"] == "Digits (shifted) challenge"
    ada, bob = join(client, room["code"], "Ada"), join(client, room["code"], "Bob")

    good = cnn_run(client)
    scored = submit(client, room, ada, good)
    assert scored.status_code == 201, scored.text
    result = scored.json()
    assert result["accuracy"] > 0.8 and result["parameters"] == 810 and result["best_rank"] == 1, result  # chance: 0.1
    board = client.get(f"/api/rooms/{room['code']}/leaderboard").json()["leaderboard"]
    assert [(e["rank"], e["name"], e["accuracy"]) for e in board] == [(1, "Ada", result["accuracy"])]

    other_seed = cnn_run(client, {**DIGITS, "seed": 6}, epochs=1, client_id="bob1")
    other_canvas = cnn_run(client, {**DIGITS, "params": {"canvas": 10}}, epochs=1, client_id="bob2")
    too_big = cnn_run(client, layers=[{"type": "conv2d", "filters": 16, "kernel_size": 3}, {"type": "flatten"}],
                      epochs=1, client_id="bob3")
    for run, field, words in ((other_seed, "dataset.seed", "6 is not the challenge's 5"),
                              (other_canvas, "dataset.params", "is not the challenge's"),
                              (too_big, "parameters", "over the challenge's limit of 1000")):
        response = submit(client, room, bob, run)
        assert response.status_code == 422, response.text
        problem = response.json()["detail"][0]
        assert problem["field"] == field and words in problem["msg"], problem


def test_scoring_a_digits_cnn_takes_under_a_second(client):
    """The catalog's suggested CNN on the default 16x16 canvas: load the model, draw the
    hidden digits, predict them."""
    from keras_playground.data import DATASETS
    from keras_playground.engine.scoring import HIDDEN_IMAGES, hidden_set_accuracy, hidden_test_set

    dataset = {"name": "digits", "n_train": 200, "n_val": 50, "n_test": 0}
    run = cnn_run(client, dataset, DATASETS["digits"].suggested["layers"], epochs=1)
    model = client.app.state.classroom.scorer.runs.model(run["id"])
    x, labels, kind = hidden_test_set(dataset, 1234)
    assert x.shape == (HIDDEN_IMAGES, 16, 16, 1) and kind == "multiclass" and set(labels) == set(range(10))
    timings = []
    for seed in (1, 2, 3):
        started = time.perf_counter()
        accuracy = hidden_set_accuracy(model, [], dataset, seed)
        timings.append(time.perf_counter() - started)
        assert 0 <= accuracy <= 1
    assert min(timings) < 1.0, timings


def test_generated_image_sets_are_scored_on_hidden_images_of_their_own_seed():
    from keras_playground.engine.scoring import HIDDEN_IMAGES, hidden_test_set

    shapes = {"name": "shapes", "n_train": 100, "n_val": 20, "n_test": 20, "params": {"size": 20}}
    x, labels, kind = hidden_test_set(shapes, 3)
    assert x.shape == (HIDDEN_IMAGES, 20, 20, 1) and kind == "multiclass" and set(labels) == {0, 1, 2, 3}
    again, _, _ = hidden_test_set(shapes, 3)
    other, _, _ = hidden_test_set(shapes, 4)
    assert np.array_equal(x, again) and not np.array_equal(x, other)
    cells, labels, kind = hidden_test_set({"name": "cells"}, 3)
    assert cells.shape == (HIDDEN_IMAGES, 32, 32, 1) and kind == "binary"


def test_a_digits_hidden_set_is_what_the_data_set_leaves_unseen():
    from keras_playground.engine.scoring import HIDDEN_IMAGES, hidden_test_set

    x, _, _ = hidden_test_set({"name": "digits", "n_train": 1200, "n_val": 200, "n_test": 200}, 8)
    assert len(x) == 197  # 1,797 - 1,600: fewer than HIDDEN_IMAGES remain
    x, _, _ = hidden_test_set({"name": "digits", "n_train": 300, "n_val": 0, "n_test": 0}, 8)
    assert len(x) == HIDDEN_IMAGES


def test_image_challenges_open_on_each_image_set_and_refuse_what_cannot_be_scored(client, room):
    for dataset in ({"name": "shapes"}, {"name": "cells", "params": {"size": 40}}, {"name": "digits"}):
        response = open_challenge(client, room, dataset)
        assert response.status_code == 200, response.text
        assert response.json()["challenge"]["dataset"]["name"] == dataset["name"]
    for dataset, field, words in (
            ({"name": "digits", "n_train": 1500, "n_val": 200, "n_test": 0}, "dataset", "at least 200"),
            ({"name": "digits", "n_train": 1800, "n_val": 200}, "dataset", "1,797 images of digits"),
            ({"name": "cells", "params": {"size": 60}}, "dataset.params.size", "out of range"),
            ({"name": "shapes", "params": {"side": 20}}, "dataset.params.side", "no parameter")):
        response = open_challenge(client, room, dataset)
        assert response.status_code == 422, response.text
        problem = response.json()["detail"][0]
        assert problem["field"] == field and words in problem["msg"], problem
