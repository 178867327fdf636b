"""Image runs through the HTTP API: the layer shapes the editor shows, refusals naming the
layer, the image data the page draws, frames with filters and feature maps, and one
image classified by a run's model (live and ended)."""

import base64
import io

import numpy as np
import pytest

from .conftest import create, read_until, stream_to_end

CNN = [{"type": "conv2d", "filters": 4, "kernel_size": 3}, {"type": "maxpool2d", "pool_size": 2},
       {"type": "flatten"}, {"type": "dense", "units": 8}]


def image_spec(epochs=3, layers=CNN, **dataset):
    return {"dataset": {"name": "digits", "n_train": 120, "n_val": 30, "n_test": 40,
                        "params": {"canvas": 12}, **dataset},
            "layers": layers, "training": {"epochs": epochs, "batch_size": 16, "learning_rate": 0.003}}


def test_the_catalog_describes_image_data_sets_and_layer_types(client):
    catalog = client.get("/api/catalog").json()
    digits = next(d for d in catalog["datasets"] if d["name"] == "digits")
    assert digits["input"] == "image" and digits["shape"] == [16, 16, 1] and digits["most"] == 1797
    assert digits["classes"] == [str(i) for i in range(10)]
    assert next(d for d in catalog["datasets"] if d["name"] == "line")["input"] == "points"
    conv = catalog["layer_types"]["conv2d"]
    assert conv["filters"] == {"default": 8, "low": 1, "high": 32, "integer": True}
    assert conv["padding"] == {"default": "valid", "choices": ["valid", "same"]}
    assert catalog["layer_types"]["flatten"] == {}


def test_preview_layers_gives_each_layers_shape_and_parameters(client):
    answer = client.post("/api/preview/layers", json=image_spec()).json()
    assert answer["input"] == [12, 12, 1]
    assert [(layer["type"], layer["output_shape"], layer["parameters"]) for layer in answer["layers"]] == [
        ("conv2d", [10, 10, 4], 40), ("maxpool2d", [5, 5, 4], 0), ("flatten", [100], 0), ("dense", [8], 808)]
    assert answer["output"] == {"type": "dense", "output_shape": [10], "parameters": 90}
    assert answer["total"] == 938 and answer["problems"] == []


def test_preview_layers_lists_what_cannot_work_on_the_layer_at_fault(client):
    layers = [{"type": "conv2d", "filters": 4}, {"type": "dense", "units": 4}]
    answer = client.post("/api/preview/layers", json=image_spec(layers=layers)).json()
    fields = [p["field"] for p in answer["problems"]]
    assert fields == ["layers[1]", "layers[1]"]
    assert "put a flatten or global_avg_pool layer before it" in answer["problems"][0]["msg"]
    assert "end with a flatten" in answer["problems"][1]["msg"]
    out_of_bounds = client.post("/api/preview/layers", json=image_spec(layers=[{"type": "conv2d", "filters": 99}]))
    assert out_of_bounds.status_code == 200
    assert out_of_bounds.json()["problems"] == [{"field": "layers[0].filters", "msg": "99 is out of range [1, 32]"}]


@pytest.mark.parametrize("layers, field, words", [
    ([{"type": "maxpool2d", "pool_size": 4}, {"type": "maxpool2d", "pool_size": 4}, {"type": "flatten"}],
     "layers[1]", "a 4x4 pool on a 3x3 input would leave less than 1x1"),
    ([{"type": "conv2d", "kernel_size": 7}, {"type": "conv2d", "kernel_size": 7}, {"type": "flatten"}],
     "layers[1]", "a 7x7 kernel does not fit its 6x6 input"),
    ([{"type": "dense", "units": 8}], "layers[0]", "a dense layer takes a flat input, not a 12x12x1 image"),
    ([{"type": "conv2d", "filters": 32, "padding": "same"}, {"type": "flatten"}, {"type": "dense", "units": 64}],
     "layers", "295,946 parameters is above the maximum 100,000"),
    ([{"type": "pool"}], "layers[0].type", "Input should be 'dense', 'conv2d'"),
    ([{"type": "conv2d", "units": 3}], "layers[0].units", "Extra inputs are not permitted"),
])
def test_a_stack_that_cannot_work_is_a_422_naming_the_layer(client, layers, field, words):
    response = client.post("/api/runs", json=image_spec(layers=layers))
    assert response.status_code == 422, response.text
    assert any(p["field"] == field and words in p["msg"] for p in response.json()["detail"]), response.json()


def test_image_layers_on_points_and_too_many_digits_are_refused(client):
    points = {"dataset": {"name": "line"}, "layers": [{"type": "conv2d"}]}
    detail = client.post("/api/runs", json=points).json()["detail"]
    assert detail == [{"field": "layers[0]", "msg": "conv2d layers are for image data sets (digits, shapes, "
                                                    "cells); points take dense layers (each with its own dropout)"}]
    augmented = {"dataset": {"name": "line"}, "training": {"augment": {"flip": True}}}
    assert client.post("/api/runs", json=augmented).json()["detail"][0]["field"] == "training.augment"
    many = image_spec(n_train=1500, n_val=200, n_test=200)
    assert client.post("/api/runs", json=many).json()["detail"] == [
        {"field": "dataset", "msg": "n_train + n_val + n_test = 1900 is more than the 1,797 images of digits"}]


def test_preview_data_gives_the_images_a_frame_points_into(client):
    answer = client.post("/api/preview/data", json=image_spec()).json()
    assert answer["input"] == "image" and answer["shape"] == [12, 12, 1] and answer["n_classes"] == 10
    gallery = answer["gallery"]
    pixels = np.frombuffer(base64.b64decode(gallery["images"]), np.uint8).reshape(gallery["count"], 12, 12)
    assert gallery["count"] == 40 == len(gallery["labels"]) and pixels.max() > 200
    assert answer["train"]["count"] == 48


def test_an_image_run_streams_filters_feature_maps_and_a_gallery(client):
    run = create(client, image_spec(epochs=3))
    events = stream_to_end(client, run["id"])
    frames = [e for e in events if e["kind"] == "frame"]
    epochs = [f["epoch"] for f in frames]  # frames may be skipped (at most 20 a second), not these
    assert epochs[:2] == [0, 1] and epochs[-1] == 3
    last = frames[-1]
    assert last["boundary"] is None and last["filters"][0]["layer"] == 0
    assert (last["filters"][0]["filters"], last["filters"][0]["channels"], last["filters"][0]["size"]) == (4, 1, 3)
    assert [(m["layer"], m["type"], m["height"], m["channels"]) for m in last["feature_maps"]] == [
        (0, "conv2d", 10, 4), (1, "maxpool2d", 5, 4)]
    assert frames[0]["filters"][0]["data"] != last["filters"][0]["data"]  # the filters learned
    gallery = last["gallery"]
    assert sorted(gallery["indices"]) == list(range(40)) and gallery["total"] == 40
    labels = client.post("/api/preview/data", json=image_spec()).json()["gallery"]["labels"]
    wrong = [labels[i] != p for i, p in zip(gallery["indices"], gallery["predicted"])]
    assert wrong == sorted(wrong, reverse=True) and sum(wrong) == gallery["wrong"]  # mistakes first
    done = events[-1]
    assert done["state"] == "finished" and len(done["per_class_accuracy"]) == 10
    assert sum(map(sum, done["confusion_matrix"])) == 40
    assert max(len(f"{f}") for f in frames) < 64_000
    data = np.load(io.BytesIO(client.get(f"/api/runs/{run['id']}/data").content))
    assert data["x_train"].shape == (120, 12, 12, 1) and list(data["classes"]) == [str(i) for i in range(10)]


def _drawn_one(side=32):
    image = np.zeros((side, side))
    image[4:28, 14:18] = 1.0  # a vertical stroke
    return image.tolist()


def test_a_run_classifies_a_drawing_and_a_gallery_image_live_and_once_ended(client):
    response = client.post("/api/runs?paused=true", json=image_spec(epochs=2), headers={"X-Client-Id": "t"})
    run = response.json()
    auth = {"Authorization": f"Bearer {run['token']}"}
    with client.websocket_connect(f"/api/runs/{run['id']}/stream") as ws:
        read_until(ws, lambda e: e["kind"] == "start")
        live = client.post(f"/api/runs/{run['id']}/predict", json={"image": _drawn_one()}, headers=auth)
        assert live.status_code == 200, live.text
        answer = live.json()
        assert answer["epoch"] == 0 and len(answer["probabilities"]) == 10
        assert abs(sum(answer["probabilities"]) - 1) < 1e-3
        assert answer["predicted"] == int(np.argmax(answer["probabilities"]))
        seen = np.frombuffer(base64.b64decode(answer["image"]), np.uint8).reshape(12, 12)
        assert seen[:, :2].max() == 0 and seen.max() == 255  # fitted: centred, not stretched to the edges
        assert [m["type"] for m in answer["feature_maps"]] == ["conv2d", "maxpool2d"]
        picked = client.post(f"/api/runs/{run['id']}/predict", json={"index": 5}, headers=auth).json()
        assert picked["epoch"] == 0
        client.post(f"/api/runs/{run['id']}/control", json={"action": "resume"}, headers=auth)
        frames = [e for e in read_until(ws, lambda e: e["kind"] == "done") if e["kind"] == "frame"]
        assert frames[-1]["probe"]["index"] == 5  # the picked image is the probe from then on
    ended = client.post(f"/api/runs/{run['id']}/predict", json={"index": 5}, headers=auth).json()
    assert ended["epoch"] == -1 and ended["probabilities"] == frames[-1]["probe"]["probabilities"]


@pytest.mark.parametrize("body, status, field", [
    ({"index": 40}, 422, "index"), ({"image": [[2.0]]}, 422, "image"), ({}, 422, "body"),
    ({"image": [[0.0] * 65] * 65}, 422, "image"), ({"image": [[0.1], [0.2, 0.3]]}, 422, "image"),
])
def test_a_bad_prediction_request_is_a_422_naming_the_field(client, body, status, field):
    run = create(client, image_spec(epochs=1))
    stream_to_end(client, run["id"])
    response = client.post(f"/api/runs/{run['id']}/predict", json=body,
                           headers={"Authorization": f"Bearer {run['token']}"})
    assert response.status_code == status, response.text
    assert response.json()["detail"][0]["field"] == field


def test_predicting_needs_the_token_and_an_image_run(client):
    run = create(client, image_spec(epochs=1))
    assert client.post(f"/api/runs/{run['id']}/predict", json={"index": 0}).status_code == 401
    points = create(client)
    stream_to_end(client, points["id"])
    response = client.post(f"/api/runs/{points['id']}/predict", json={"image": [[0.5]]},
                           headers={"Authorization": f"Bearer {points['token']}"})
    assert response.status_code == 422 and response.json()["detail"][0]["field"] == "run"


def test_convolve_answers_with_the_output_and_how_its_size_follows(client):
    image = np.zeros((16, 16))
    image[:, 8:] = 1.0  # a vertical edge
    kernel = [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]
    answer = client.post("/api/preview/convolve", json={"image": image.tolist(), "kernel": kernel}).json()
    assert (answer["height"], answer["width"]) == (14, 14)
    assert answer["formula"]["height"] == "floor((16 - 3) / 1) + 1 = 14"
    values = np.array(answer["values"])
    assert values[:, 6:8].min() == 4 and values[:, :5].max() == 0  # the edge lights up, nowhere else
    same = client.post("/api/preview/convolve", json={"image": image.tolist(), "kernel": kernel,
                                                      "stride": 2, "padding": "same"}).json()
    assert (same["height"], same["formula"]["height"]) == (8, "ceil(16 / 2) = 8")


@pytest.mark.parametrize("body, field", [
    ({"image": [[0.5] * 4] * 4, "kernel": [[11, 0, 0], [0, 0, 0], [0, 0, 0]]}, "kernel"),
    ({"image": [[0.5] * 4] * 4, "kernel": [[1, 0], [0, 1], [1, 1]]}, "kernel"),
    ({"image": [[0.5] * 4] * 4, "kernel": [[1, 2], [3]]}, "kernel"),  # ragged rows
    ({"image": [[0.5] * 2] * 2, "kernel": [[1] * 3] * 3}, "kernel"),
    ({"image": [[0.5] * 49] * 49, "kernel": [[1]]}, "image"),
    ({"image": [[0.5] * 4] * 4, "kernel": [[1]], "stride": 4}, "stride"),
])
def test_a_bad_convolution_is_a_422_naming_the_field(client, body, field):
    response = client.post("/api/preview/convolve", json=body)
    assert response.status_code == 422 and response.json()["detail"][0]["field"] == field, response.text
