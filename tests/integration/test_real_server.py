"""A real uvicorn process and a real WebSocket client, as a browser would meet them."""

import json

import httpx
import pytest
from websockets.sync.client import connect

from ..real_server import TIMEOUT, Server


@pytest.fixture
def server(tmp_path):
    running = Server(tmp_path / "data").start()
    yield running
    running.stop()


SPEC = {"dataset": {"name": "parabola", "n_train": 100, "n_val": 30, "n_test": 30},
        "layers": [{"units": 8, "activation": "tanh"}],
        "training": {"optimizer": "adam", "learning_rate": 0.05, "batch_size": 10}}


def spec(epochs):
    return {**SPEC, "training": {**SPEC["training"], "epochs": epochs}}


def create(server, epochs):
    response = httpx.post(f"{server.url}/api/runs", json=spec(epochs), timeout=TIMEOUT)
    assert response.status_code == 201, response.text
    return response.json()


def ws_url(server, run_id, after=0):
    return f"ws://127.0.0.1:{server.port}/api/runs/{run_id}/stream?after={after}"


def read_until(ws, predicate):
    events = []
    while True:
        for event in json.loads(ws.recv(timeout=TIMEOUT)):
            events.append(event)
            if predicate(event):
                return events


def is_end(event):
    return event["kind"] in ("done", "error")


def epochs(events):
    return [e["epoch"] for e in events if e["kind"] == "epoch"]


def test_create_and_stream_to_the_end(server):
    run = create(server, 60)
    with connect(ws_url(server, run["id"])) as ws:
        events = read_until(ws, is_end)
    assert epochs(events) == list(range(1, 61))
    assert events[-1]["state"] == "finished" and events[-1]["test_metric"] > 0.8
    frames = [e for e in events if e["kind"] == "frame"]
    assert frames and frames[-1]["epoch"] == 60 and len(frames[-1]["neurons"][0]) == 8


def test_reconnecting_mid_run_gets_the_full_history(server):
    run = create(server, 1500)
    with connect(ws_url(server, run["id"])) as ws:
        read_until(ws, lambda e: e["kind"] == "epoch" and e["epoch"] >= 20)
    # The connection dropped mid-run; a new one replays everything from epoch 1.
    with connect(ws_url(server, run["id"])) as ws:
        events = read_until(ws, is_end)
    assert epochs(events) == list(range(1, 1501))
    assert events[-1]["state"] == "finished"


def test_control_with_and_without_the_token(server):
    run = create(server, 5000)
    url = f"{server.url}/api/runs/{run['id']}/control"
    assert httpx.post(url, json={"action": "stop"}).status_code == 401
    assert httpx.post(url, json={"action": "stop"}, headers={"Authorization": "Bearer guess"}).status_code == 403
    with connect(ws_url(server, run["id"])) as ws:
        read_until(ws, lambda e: e["kind"] == "epoch")
        ok = httpx.post(url, json={"action": "stop"}, headers={"Authorization": f"Bearer {run['token']}"})
        assert ok.status_code == 200
        done = read_until(ws, is_end)[-1]
    assert done["state"] == "stopped" and done["epochs"] < 5000


@pytest.mark.slow  # two server starts
def test_a_finished_run_is_read_back_after_a_restart(tmp_path):
    first = Server(tmp_path / "data").start()
    try:
        run = create(first, 25)
        with connect(ws_url(first, run["id"])) as ws:
            original = read_until(ws, is_end)
    finally:
        first.stop()
    second = Server(tmp_path / "data").start()
    try:
        record = httpx.get(f"{second.url}/api/runs/{run['id']}").json()
        assert record["state"] == "finished" and epochs(record["history"]) == list(range(1, 26))
        with connect(ws_url(second, run["id"])) as ws:
            replay = read_until(ws, is_end)
        assert epochs(replay) == epochs(original) and replay[-1]["test_metric"] == original[-1]["test_metric"]
        model = httpx.get(f"{second.url}/api/runs/{run['id']}/model")
        assert model.status_code == 200 and len(model.content) > 1000
    finally:
        second.stop()
