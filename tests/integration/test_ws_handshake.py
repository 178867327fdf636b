"""The streams' handshake as a browser meets it: a real uvicorn process, a real client.

Under uvicorn, a stream closed before `accept()` is an HTTP 403 on the handshake, which a
page sees without a code (Starlette's TestClient hides this); every refusal must arrive
as a close code and a reason."""

import json
import uuid

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from ..real_server import TIMEOUT, Server

LAB = "http://lab.example.org"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    running = Server(tmp_path_factory.mktemp("data"), allowed_origins=LAB).start()
    yield running
    running.stop()


def run_url(server, run_id, after="0"):
    return f"ws://127.0.0.1:{server.port}/api/runs/{run_id}/stream?after={after}"


def room_url(server, code):
    return f"ws://127.0.0.1:{server.port}/api/rooms/{code}/stream"


def closed_with(url, **options):
    """The close (code, reason) the server ends the stream with, before any message."""
    with connect(url, open_timeout=TIMEOUT, **options) as ws:  # an HTTP 403 would raise here
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=TIMEOUT)
    return closed.value.rcvd.code, closed.value.rcvd.reason


def create_run(server, epochs=5):
    spec = {"dataset": {"name": "line", "n_train": 40, "n_val": 10, "n_test": 10}, "layers": [],
            "training": {"epochs": epochs, "batch_size": 8, "optimizer": "sgd", "learning_rate": 0.5}}
    # A client of its own for each run: the runs here are not streamed to their end, and
    # whether a client's earlier ones have ended (at most 3 at once) is not what is tested.
    response = httpx.post(f"{server.url}/api/runs", json=spec, timeout=TIMEOUT,
                          headers={"X-Client-Id": f"handshake-{uuid.uuid4()}"})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def open_room(server):
    response = httpx.post(f"{server.url}/api/rooms", json={"title": "Handshake"}, timeout=TIMEOUT)
    assert response.status_code == 201, response.text
    return response.json()["code"]


def run_events(server, run_id, **options):
    """Every event of the run's stream, to its `done`, and the close code."""
    events = []
    with connect(run_url(server, run_id), open_timeout=TIMEOUT, **options) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                events += json.loads(ws.recv(timeout=TIMEOUT))
    return events, closed.value.rcvd.code


def first_room_message(server, code, **options):
    with connect(room_url(server, code), open_timeout=TIMEOUT, **options) as ws:
        return json.loads(ws.recv(timeout=TIMEOUT))


def test_an_unknown_run_is_closed_with_4404(server):
    assert closed_with(run_url(server, "nosuchrun")) == (4404, "unknown run")
    for not_an_id in ("a" * 65, "no.such.run", "%E2%9C%93"):  # answered without asking the store
        assert closed_with(run_url(server, not_an_id)) == (4404, "unknown run")


def test_an_unknown_room_is_closed_with_4404(server):
    assert closed_with(room_url(server, "NOROOM")) == (4404, "unknown room")


def test_a_foreign_origin_is_closed_with_4403_on_both_streams(server):
    run_id, code = create_run(server), open_room(server)
    for url in (run_url(server, run_id), room_url(server, code)):
        assert closed_with(url, origin="https://evil.example") == (4403, "origin not allowed: https://evil.example")
        assert closed_with(url, origin="null") == (4403, "origin not allowed: null")
        # Same host, another port: another origin.
        assert closed_with(url, origin=f"http://127.0.0.1:{server.port + 1}")[0] == 4403


def test_the_origin_is_checked_before_the_run_exists(server):
    assert closed_with(run_url(server, "nosuchrun"), origin="https://evil.example")[0] == 4403
    assert closed_with(room_url(server, "NOROOM"), origin="https://evil.example")[0] == 4403


def test_the_servers_own_origin_streams_to_the_end(server):
    run_id, room = create_run(server), open_room(server)
    own = f"http://127.0.0.1:{server.port}"
    for origin in (own, own.replace("http", "HTTP")):  # case does not matter
        events, code = run_events(server, run_id, origin=origin)
        assert [e["epoch"] for e in events if e["kind"] == "epoch"] == [1, 2, 3, 4, 5]
        assert events[-1]["kind"] == "done" and code == 1000
    assert first_room_message(server, room, origin=own)[0]["code"] == room
    # "Own" is the Host the browser used: a page opened at localhost streams from localhost,
    # and the same page's origin is foreign to a stream opened at 127.0.0.1.
    at_localhost = f"ws://localhost:{server.port}/api/rooms/{room}/stream"
    with connect(at_localhost, origin=f"http://localhost:{server.port}", open_timeout=TIMEOUT) as ws:
        assert json.loads(ws.recv(timeout=TIMEOUT))[0]["code"] == room
    assert closed_with(room_url(server, room), origin=f"http://localhost:{server.port}")[0] == 4403


def test_an_origin_in_the_setting_is_accepted(server):
    run_id, room = create_run(server), open_room(server)
    for origin in (LAB, "http://LAB.example.org:80"):  # the default port is the same origin
        events, code = run_events(server, run_id, origin=origin)
        assert events[-1]["kind"] == "done" and code == 1000
        assert first_room_message(server, room, origin=origin)[0]["code"] == room
    for other in ("https://lab.example.org", "http://lab.example.org:8080", "http://example.org"):
        assert closed_with(run_url(server, run_id), origin=other)[0] == 4403
        assert closed_with(room_url(server, room), origin=other)[0] == 4403


def test_a_client_without_an_origin_is_accepted(server):
    """Scripts and the CLI send no Origin; a browser always does, so none is not a page."""
    run_id, room = create_run(server), open_room(server)
    events, code = run_events(server, run_id)
    assert events[-1]["kind"] == "done" and code == 1000
    assert first_room_message(server, room)[0]["code"] == room
    assert closed_with(run_url(server, run_id), origin="https://evil.example")[0] == 4403
    assert closed_with(room_url(server, room), origin="https://evil.example")[0] == 4403


@pytest.mark.parametrize("after", ["-1", "99999999999999999999999", "abc", "1.5", "1e3", ""])
def test_an_after_out_of_bounds_is_closed_with_4400(server, after):
    run_id = create_run(server, epochs=1)
    code, reason = closed_with(run_url(server, run_id, after))
    assert code == 4400 and reason == f"after: {after!r} is not an integer in [0, 1000000000]"


def test_the_bound_of_after_is_inclusive(server):
    run_id = create_run(server, epochs=1)
    with connect(run_url(server, run_id, "1000000000"), open_timeout=TIMEOUT) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=TIMEOUT)  # nothing is newer than that: the stream just ends
    assert closed.value.rcvd.code == 1000
    assert closed_with(run_url(server, run_id, "1000000001"))[0] == 4400
