"""The class wall for image runs: a tile shows the first conv layer's filters, not a boundary."""

import base64
import json

import numpy as np

from keras_playground.classroom.wall import WALL_FILTERS, WallRun, thumbnail
from tests.api.conftest import create, read_until, receive
from tests.classroom.test_http_rooms import bearer, join

SPEC = {"dataset": {"name": "digits"}, "training": {"epochs": 3}}


def b64(array):
    return base64.b64encode(np.ascontiguousarray(array, dtype=np.uint8).tobytes()).decode()


def filter_set(layer, filters, channels, size, start=0):
    data = (np.arange(filters * channels * size * size) + start) % 256
    return {"layer": layer, "filters": filters, "channels": channels, "size": size, "scale": 0.5,
            "data": b64(data.reshape(filters, channels, size, size))}, data.reshape(filters, channels, size, size)


def image_frame(epoch, first, second=None):
    """A frame as an image run sends it: no boundary; filters, feature maps, probe, gallery."""
    return "frame", json.dumps({
        "kind": "frame", "epoch": epoch, "resolution": None, "boundary": None, "extent": None,
        "filters": [first] + ([second] if second else []),
        "feature_maps": [{"layer": 0, "type": "conv2d", "height": 2, "width": 2, "channels": 1, "total": 1,
                          "ranges": [[0, 1]], "data": b64(np.zeros(4))}],
        "probe": {"index": 0, "label": 3, "probabilities": [0.1] * 10},
        "gallery": {"indices": [0], "predicted": [3], "confidence": [0.9], "wrong": 0, "total": 1}})


def test_an_image_runs_tile_shows_its_first_conv_layers_filters_and_its_accuracy():
    wall = WallRun("p1", "r1", SPEC)
    wall.fold("status", json.dumps({"kind": "status", "state": "running"}))
    wall.fold("epoch", json.dumps({"kind": "epoch", "epoch": 1, "metric": 0.5, "val_metric": 0.4}))
    first, kernels = filter_set(0, 12, 2, 3)
    second, _ = filter_set(3, 16, 12, 3, start=7)
    wall.fold(*image_frame(1, first, second))
    tile = wall.take(0.0, at=1.0)
    assert (tile.problem, tile.epoch, tile.val_metric, tile.state) == ("multiclass", 1, 0.4, "running")
    assert (tile.filters, tile.filter_size) == (WALL_FILTERS, 3) == (8, 3)
    shown = np.frombuffer(base64.b64decode(tile.filter_data), dtype=np.uint8).reshape(8, 3, 3)
    assert np.array_equal(shown, kernels[:8, 0])  # the first eight, of the first input channel
    sent = json.loads(tile.as_json())
    assert "boundary" not in sent and "resolution" not in sent
    assert {"filters", "filter_size", "filter_data"} <= set(sent) and len(tile.as_json()) < 600  # small

    fewer, kernels = filter_set(0, 4, 1, 5, start=100)
    wall.fold(*image_frame(2, fewer))
    wall.fold("done", json.dumps({"kind": "done", "state": "finished", "epochs": 2}))
    last = wall.take(1.0, at=2.0)
    assert (last.filters, last.filter_size, last.state) == (4, 5, "finished")
    assert base64.b64decode(last.filter_data) == kernels[:, 0].astype(np.uint8).tobytes()


def test_an_image_run_without_a_conv_layer_and_a_points_run_show_no_filters():
    assert thumbnail({"kind": "frame", "epoch": 1, "filters": [], "boundary": None}) == {}
    points = WallRun("p1", "r1", {"dataset": {"name": "circle"}, "training": {"epochs": 3}})
    cells = np.arange(16, dtype=np.uint8)
    points.fold("frame", json.dumps({"kind": "frame", "epoch": 1, "resolution": 4, "boundary": b64(cells),
                                     "filters": None}))
    sent = json.loads(points.take(0.0, at=1.0).as_json())
    assert sent["resolution"] == 2 and not {"filters", "filter_size", "filter_data"} & set(sent)


def test_the_room_stream_sends_an_image_runs_filters(client):
    room = client.post("/api/rooms", json={"title": "Images"}).json()
    code = room["code"]
    spec = {"dataset": {"name": "digits", "n_train": 100, "n_val": 20, "n_test": 0, "params": {"canvas": 8}},
            "layers": [{"type": "conv2d", "filters": 6, "kernel_size": 3}, {"type": "flatten"}],
            "training": {"epochs": 3, "batch_size": 32}}
    with client.websocket_connect(f"/api/rooms/{code}/stream") as ws:
        assert receive(ws)[0]["kind"] == "room"
        ada = join(client, code, "Ada")
        run = create(client, spec, client_id="ada")
        client.post(f"/api/rooms/{code}/runs", headers=bearer(ada["token"]),
                    json={"run_id": run["id"], "run_token": run["token"]})
        tiles = [e for e in read_until(ws, lambda e: e["kind"] == "wall" and e["state"] == "finished")
                 if e["kind"] == "wall"]
    last = tiles[-1]
    assert last["epoch"] == 3 and last["problem"] == "multiclass" and 0 <= last["val_metric"] <= 1
    assert (last["filters"], last["filter_size"]) == (6, 3) and "boundary" not in last
    assert len(base64.b64decode(last["filter_data"])) == 6 * 3 * 3
