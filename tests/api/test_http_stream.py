"""The stream: replay for late joiners and reconnects; what survives a restart."""

import pytest
from starlette.websockets import WebSocketDisconnect

from .conftest import create, read_until, stream_to_end


def epochs(events):
    return [e["epoch"] for e in events if e["kind"] == "epoch"]


def test_a_watcher_joining_mid_run_gets_the_whole_curve_first(client):
    run = create(client, epochs=400)
    with client.websocket_connect(f"/api/runs/{run['id']}/stream") as first:
        read_until(first, lambda e: e["kind"] == "epoch" and e["epoch"] >= 5)
        late = stream_to_end(client, run["id"])
        assert epochs(late) == list(range(1, 401))
        assert late[-1]["kind"] == "done"
        assert epochs(read_until(first, lambda e: e["kind"] == "done"))[-1] == 400


def test_reconnecting_with_after_skips_what_was_seen(client):
    run = create(client, epochs=300)
    with client.websocket_connect(f"/api/runs/{run['id']}/stream") as ws:
        seen = read_until(ws, lambda e: e["kind"] == "epoch" and e["epoch"] >= 3)
    last = seen[-1]["seq"]
    rest = stream_to_end(client, run["id"], after=last)
    assert all(e["seq"] > last for e in rest)
    assert epochs(seen) + epochs(rest) == list(range(1, 301))


def test_a_stream_of_an_ended_run_replays_it_again(client):
    run = create(client, epochs=8)
    first = stream_to_end(client, run["id"])
    again = stream_to_end(client, run["id"])
    assert epochs(again) == epochs(first) == list(range(1, 9))
    assert again[-1] == first[-1]


def test_an_unknown_run_closes_the_stream_with_4404(client):
    # Accepted, then closed: closed before accept, a browser would see an HTTP 403 and no code.
    with client.websocket_connect("/api/runs/nope/stream") as ws:
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_text()
    assert (closed.value.code, closed.value.reason) == (4404, "unknown run")


def test_a_watcher_leaving_does_not_stop_the_run(client):
    run = create(client, epochs=150)
    with client.websocket_connect(f"/api/runs/{run['id']}/stream") as ws:
        read_until(ws, lambda e: e["kind"] == "epoch")
    assert stream_to_end(client, run["id"])[-1]["state"] == "finished"


def test_finished_runs_survive_a_restart_and_active_ones_become_interrupted(make_client):
    client = make_client()
    finished = create(client, epochs=6)
    stream_to_end(client, finished["id"])
    active = create(client, epochs=5000)
    with client.websocket_connect(f"/api/runs/{active['id']}/stream") as ws:
        read_until(ws, lambda e: e["kind"] == "epoch")
    client.__exit__(None, None, None)  # the server stops mid-run

    restarted = make_client()
    record = restarted.get(f"/api/runs/{finished['id']}").json()
    assert record["state"] == "finished" and epochs(record["history"]) == list(range(1, 7))
    assert record["final"]["test_metric"] is not None
    assert restarted.get(f"/api/runs/{finished['id']}/model").status_code == 200
    replay = stream_to_end(restarted, finished["id"])
    assert epochs(replay) == list(range(1, 7)) and replay[-1]["kind"] == "done"

    interrupted = restarted.get(f"/api/runs/{active['id']}").json()
    assert interrupted["state"] == "interrupted" and len(interrupted["history"]) >= 1  # its epochs are kept
    lost = stream_to_end(restarted, active["id"])
    assert lost[-1] == {"kind": "error", "message": interrupted["error"]}  # the words its watchers read
    assert "shut down before the run finished" in lost[-1]["message"]


def test_old_runs_are_pruned_at_start(make_client):
    client = make_client()
    ids = [create(client, epochs=2)["id"] for _ in range(3)]
    for run_id in ids:
        stream_to_end(client, run_id)
    client.__exit__(None, None, None)
    restarted = make_client(keep_runs=2)
    assert restarted.get(f"/api/runs/{ids[0]}").status_code == 404
    assert all(restarted.get(f"/api/runs/{i}").status_code == 200 for i in ids[1:])
