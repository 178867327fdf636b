"""Challenges on the microscope over HTTP: a nuclei challenge ranks by the Dice of a U-Net's
mask on hidden images, a denoising one by the PSNR of its restored images; the limits and
the refusals."""

import time

import numpy as np
import pytest

from tests.api.conftest import create, stream_to_end
from tests.classroom.test_http_rooms import join
from tests.classroom.test_image_challenges import open_challenge, submit

NUCLEI = {"name": "nuclei", "n_train": 16, "n_val": 4, "n_test": 0, "seed": 5}
DENOISE = {"name": "nuclei-denoise", "n_train": 16, "n_val": 4, "n_test": 0, "seed": 5,
           "params": {"photons": 5}, "noise": 0.1}
UNET = {"depth": 2, "base_filters": 8, "output": "foreground", "patch": 64}  # 29,801 parameters


@pytest.fixture
def room(client):
    response = client.post("/api/rooms", json={"title": "Microscopy class"})
    assert response.status_code == 201, response.text
    return response.json()


def unet_run(client, dataset=NUCLEI, unet=UNET, epochs=25, client_id="ada", loss="bce_dice", lr=0.005):
    spec = {"dataset": dataset, "unet": unet,
            "training": {"epochs": epochs, "batch_size": 8, "optimizer": "adam", "learning_rate": lr, "loss": loss}}
    run = create(client, spec, client_id=client_id)
    events = stream_to_end(client, run["id"])
    assert events[-1]["kind"] == "done", events[-1]
    return run, events[-1]


def test_a_nuclei_challenge_ranks_by_the_dice_of_a_unet_on_hidden_images(client, room):
    opened = open_challenge(client, room, NUCLEI, max_parameters=30_000, max_epochs=30)
    assert opened.status_code == 200, opened.text
    challenge = opened.json()["challenge"]
    assert challenge["title"] == "Nuclei: segmentation challenge" and challenge["metric"] == "dice", challenge
    ada, bob = join(client, room["code"], "Ada"), join(client, room["code"], "Bob")

    good, done = unet_run(client)
    assert done["parameters"] == 29_801 and done["val_metric"] > 0.8, done  # validation Dice
    scored = submit(client, room, ada, good)
    assert scored.status_code == 201, scored.text
    result = scored.json()
    # Dice of the foreground on 48 hidden images (Otsu's threshold scores about 0.9 on them).
    assert result["metric"] == "dice" and result["score"] == result["accuracy"] > 0.85, result
    assert result["parameters"] == 29_801 and result["best_rank"] == 1, result
    short, _ = unet_run(client, epochs=1, client_id="bob1")  # one epoch: a poor mask
    second = submit(client, room, bob, short)
    assert second.status_code == 201 and second.json()["score"] < result["score"], second.text
    board = client.get(f"/api/rooms/{room['code']}/leaderboard").json()
    assert board["challenge"]["metric"] == "dice"
    assert [(e["rank"], e["name"], e["metric"]) for e in board["leaderboard"]] == [(1, "Ada", "dice"), (2, "Bob", "dice")]
    assert board["leaderboard"][0]["score"] == result["score"]

    # The limits hold for U-Nets too, and the data set must be the challenge's.
    too_big, _ = unet_run(client, unet={**UNET, "base_filters": 9}, epochs=1, client_id="bob2")
    too_long, _ = unet_run(client, epochs=31, unet={**UNET, "depth": 1, "base_filters": 2, "patch": 32},
                           client_id="bob3")
    other_data, _ = unet_run(client, dataset={**NUCLEI, "params": {"photons": 10}}, epochs=1, client_id="bob4")
    for run, field, words in ((too_big, "parameters", "over the challenge's limit of 30000"),
                              (too_long, "training.epochs", "over the challenge's limit of 30"),
                              (other_data, "dataset.params", "is not the challenge's")):
        response = submit(client, room, bob, run)
        assert response.status_code == 422, response.text
        problem = response.json()["detail"][0]
        assert problem["field"] == field and words in problem["msg"], problem


def test_a_denoising_challenge_ranks_by_psnr(client, room):
    opened = open_challenge(client, room, DENOISE, max_parameters=30_000, max_epochs=30)
    assert opened.status_code == 200, opened.text
    assert opened.json()["challenge"]["metric"] == "psnr"
    ada = join(client, room["code"], "Ada")
    run, done = unet_run(client, DENOISE, {**UNET, "output": "restored", "patch": 32}, epochs=20,
                         loss="mse", lr=0.003)
    scored = submit(client, room, ada, run)
    assert scored.status_code == 201, scored.text
    result = scored.json()
    # The camera's images as they are score about 13.6 dB at 5 photons and read noise 0.1.
    assert result["metric"] == "psnr" and result["score"] > 16, (result, done["val_metric"])


def test_the_microscope_hidden_set_is_whole_images_of_the_hidden_seed():
    from keras_playground.engine.scoring import HIDDEN_MICROSCOPY, challenge_metric, hidden_test_set

    x, classes, kind = hidden_test_set(NUCLEI, 3)
    assert x.shape == (HIDDEN_MICROSCOPY, 64, 64, 1) and classes.shape == (HIDDEN_MICROSCOPY, 64, 64)
    assert kind == "segmentation" and challenge_metric(kind) == "dice" and set(np.unique(classes)) == {0, 1, 2}
    again, _, _ = hidden_test_set(NUCLEI, 3)
    other, _, _ = hidden_test_set(NUCLEI, 4)
    assert np.array_equal(x, again) and not np.array_equal(x, other)
    x, clean, kind = hidden_test_set({**DENOISE, "params": {"photons": 5, "size": 32}}, 3)
    assert x.shape == clean.shape == (HIDDEN_MICROSCOPY, 32, 32, 1) and challenge_metric(kind) == "psnr"
    assert challenge_metric("multiclass") == challenge_metric("binary") == "accuracy"


def test_scoring_a_unet_takes_about_a_second_at_most(client):
    from keras_playground.engine.scoring import hidden_set_score

    run, done = unet_run(client, epochs=2)
    model = client.app.state.classroom.scorer.runs.model(run["id"])
    timings = []
    for seed in (1, 2, 3):
        started = time.perf_counter()
        dice = hidden_set_score(model, [], NUCLEI, seed)
        timings.append(time.perf_counter() - started)
        assert 0 <= dice <= 1
    assert min(timings) < 1.5, timings


def test_microscope_challenges_refuse_what_cannot_be_drawn(client, room):
    response = open_challenge(client, room, {"name": "nuclei", "params": {"size": 40}})
    assert response.status_code == 422, response.text
    problem = response.json()["detail"][0]
    assert problem["field"] == "dataset.params.size" and "multiple of 16" in problem["msg"], problem
    response = open_challenge(client, room, {"name": "nuclei", "params": {"size": 256}})
    assert response.status_code == 422 and response.json()["detail"][0]["field"] == "dataset.params.size"
