"""What the API and classroom tests share to drive a run (the `client` fixture is in tests/conftest.py)."""

import json
import threading

TIMEOUT = 60  # seconds any single wait may take


def tiny(epochs=20, **training):
    """A run that trains in well under a second."""
    return {"dataset": {"name": "line", "n_train": 40, "n_val": 10, "n_test": 10},
            "layers": [], "training": {"epochs": epochs, "batch_size": 8, "optimizer": "sgd",
                                       "learning_rate": 0.5, **training}}


def receive(ws, timeout=TIMEOUT):
    """One stream message (a list of events), or fail after `timeout` seconds."""
    result = {}

    def read():
        try:
            result["message"] = ws.receive_text()
        except Exception as exc:  # the socket closed: report it to the test
            result["error"] = exc

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout)
    assert not reader.is_alive(), f"no stream message within {timeout} s"
    if "error" in result:
        raise result["error"]
    return json.loads(result["message"])


def read_until(ws, predicate, timeout=TIMEOUT):
    """Events up to and including the first one matching `predicate`."""
    events = []
    while True:
        for event in receive(ws, timeout):
            events.append(event)
            if predicate(event):
                return events


def stream_to_end(client, run_id, after=0):
    with client.websocket_connect(f"/api/runs/{run_id}/stream?after={after}") as ws:
        return read_until(ws, lambda e: e["kind"] in ("done", "error"))


def create(client, spec=None, client_id="tester", **kw):
    response = client.post("/api/runs", json=spec or tiny(**kw), headers={"X-Client-Id": client_id})
    assert response.status_code == 201, response.text
    return response.json()
