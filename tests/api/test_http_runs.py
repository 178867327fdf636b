"""The runs API as a page uses it: create, stream, read, list, download; and every refusal."""

import io
import re
import threading
import zipfile
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from ..real_server import Server
from ..redis_server import RedisServer
from .conftest import TIMEOUT, create, read_until, receive, stream_to_end, tiny


def test_health_and_catalog(client):
    assert client.get("/api/health").json()["status"] == "ok"
    catalog = client.get("/api/catalog").json()
    names = [d["name"] for d in catalog["datasets"]]
    assert names[:3] == ["line", "parabola", "course_spiral"] and "custom" in names
    parabola = next(d for d in catalog["datasets"] if d["name"] == "parabola")
    assert {"name": "a", "default": 2.0, "low": -5, "high": 5} .items() <= parabola["params"][0].items()
    assert "sin(x1)" in catalog["features"] and "relu" in catalog["activations"]
    assert "adagrad" in catalog["optimizers"] and "mse" in catalog["losses"]
    assert catalog["limits"]["max_units"] == 64


def test_a_run_streams_every_epoch_once_in_order_then_done(client):
    run = create(client, epochs=15)
    assert run["status"] == "queued" and len(run["token"]) >= 20
    events = stream_to_end(client, run["id"])
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(set(seqs))
    assert [e["epoch"] for e in events if e["kind"] == "epoch"] == list(range(1, 16))
    frames = [e["epoch"] for e in events if e["kind"] == "frame"]
    # The untrained network's frame (epoch 0) comes first, unless a newer frame replaced it
    # before this reader got there (frames may be coalesced); the last epoch always has one.
    assert frames[0] in (0, 1) and frames == sorted(set(frames)) and frames[-1] == 15
    start = next(e for e in events if e["kind"] == "start")
    assert start["epoch"] == 0 and start["loss"] > 0 and events.index(start) < events.index(
        next(e for e in events if e["kind"] == "epoch"))
    assert events[0]["kind"] == "status" and events[-1]["kind"] == "done"
    done = events[-1]
    assert done["state"] == "finished" and done["test_metric"] > 0.7 and done["parameters"] == 3

    record = client.get(f"/api/runs/{run['id']}").json()
    assert record["state"] == "finished" and len(record["history"]) == 15
    assert record["final"]["test_metric"] == done["test_metric"]
    listed = client.get("/api/runs", headers={"X-Client-Id": "tester"}).json()
    assert [r["id"] for r in listed] == [run["id"]]
    assert client.get("/api/runs", headers={"X-Client-Id": "someone-else"}).json() == []


def test_downloads_code_model_and_data(client):
    run = create(client, epochs=5)
    assert client.get(f"/api/runs/{run['id']}/model").status_code in (404, 200)
    stream_to_end(client, run["id"])
    code = client.get(f"/api/runs/{run['id']}/code").text
    compile(code, "train.py", "exec")
    assert "model.fit(" in code and "Dense(1, activation='sigmoid')" in code
    model = client.get(f"/api/runs/{run['id']}/model")
    assert model.status_code == 200 and zipfile.is_zipfile(io.BytesIO(model.content))  # a .keras file
    csv = client.get(f"/api/runs/{run['id']}/data").text.splitlines()
    assert csv[0] == "split,x1,x2,label" and len(csv) == 1 + 60


def test_a_run_downloads_as_a_valid_notebook(client):
    import nbformat

    run = create(client, epochs=2)
    answer = client.get(f"/api/runs/{run['id']}/notebook")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/x-ipynb+json")
    assert f'filename="run_{run["id"]}.ipynb"' in answer.headers["content-disposition"]
    notebook = nbformat.reads(answer.text, as_version=4)
    nbformat.validate(notebook)
    assert any("model.fit(" in c.source for c in notebook.cells if c.cell_type == "code")
    assert client.get("/api/runs/nope/notebook").status_code == 404
    stream_to_end(client, run["id"])


def test_control_needs_the_runs_token(client):
    run = create(client, epochs=3000)
    url = f"/api/runs/{run['id']}/control"
    missing = client.post(url, json={"action": "pause"})
    assert missing.status_code == 401 and "token" in missing.json()["detail"]
    wrong = client.post(url, json={"action": "pause"}, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 403
    other = create(client, client_id="other")
    stolen = client.post(url, json={"action": "stop"}, headers={"Authorization": f"Bearer {other['token']}"})
    assert stolen.status_code == 403
    ok = client.post(url, json={"action": "stop"}, headers={"Authorization": f"Bearer {run['token']}"})
    assert ok.status_code == 200
    assert stream_to_end(client, run["id"])[-1]["state"] == "stopped"
    late = client.post(url, json={"action": "pause"}, headers={"Authorization": f"Bearer {run['token']}"})
    assert late.status_code == 409
    client.post(f"/api/runs/{other['id']}/control", json={"action": "stop"},
                headers={"Authorization": f"Bearer {other['token']}"})


def test_pause_step_resume_and_learning_rate_reach_the_run(client):
    run = create(client, epochs=3000)
    auth = {"Authorization": f"Bearer {run['token']}"}
    url = f"/api/runs/{run['id']}/control"
    with client.websocket_connect(f"/api/runs/{run['id']}/stream") as ws:
        before = read_until(ws, lambda e: e["kind"] == "epoch" and e["epoch"] >= 2)
        client.post(url, json={"action": "pause"}, headers=auth)
        paused = read_until(ws, lambda e: e["kind"] == "status" and e["state"] == "paused")
        # The pause says where it held: at or past every epoch streamed so far (the pause may land
        # before another epoch is sent), and the step below trains the one after it.
        held = paused[-1]["epoch"]
        assert held >= max(e["epoch"] for e in before + paused if e["kind"] == "epoch") >= 2
        client.post(url, json={"action": "learning_rate", "learning_rate": 0.05}, headers=auth)
        client.post(url, json={"action": "step"}, headers=auth)
        stepped = read_until(ws, lambda e: e["kind"] == "epoch")
        assert stepped[-1]["epoch"] == held + 1 and stepped[-1]["learning_rate"] == pytest.approx(0.05)
        state = client.get(f"/api/runs/{run['id']}").json()
        assert state["state"] == "paused" and len(state["history"]) == held + 1
        client.post(url, json={"action": "resume"}, headers=auth)
        resumed = read_until(ws, lambda e: e["kind"] == "epoch" and e["epoch"] >= held + 3)
        assert [e["epoch"] for e in resumed if e["kind"] == "epoch"][:2] == [held + 2, held + 3]
        client.post(url, json={"action": "stop"}, headers=auth)
        assert read_until(ws, lambda e: e["kind"] == "done")[-1]["state"] == "stopped"


def test_a_run_created_paused_trains_only_the_epochs_stepped(client):
    run = client.post("/api/runs?paused=true", json=tiny(epochs=50)).json()
    auth = {"Authorization": f"Bearer {run['token']}"}
    with client.websocket_connect(f"/api/runs/{run['id']}/stream") as ws:
        read_until(ws, lambda e: e["kind"] == "status" and e["state"] == "paused")
        client.post(f"/api/runs/{run['id']}/control", json={"action": "step"}, headers=auth)
        events = read_until(ws, lambda e: e["kind"] == "epoch")
        assert [e["epoch"] for e in events if e["kind"] == "epoch"] == [1]
        assert client.get(f"/api/runs/{run['id']}").json()["state"] == "paused"
        client.post(f"/api/runs/{run['id']}/control", json={"action": "stop"}, headers=auth)
        assert read_until(ws, lambda e: e["kind"] == "done")[-1]["epochs"] == 1


def test_a_learning_rate_out_of_range_is_refused(client):
    run = create(client, epochs=5)
    for value in (0, -1, 11, None):
        response = client.post(f"/api/runs/{run['id']}/control",
                               json={"action": "learning_rate", "learning_rate": value},
                               headers={"Authorization": f"Bearer {run['token']}"})
        assert response.status_code == 422
        assert response.json()["detail"][0]["field"] == "learning_rate"
        assert "(0, 10]" in response.json()["detail"][0]["msg"]
    bad_action = client.post(f"/api/runs/{run['id']}/control", json={"action": "explode"},
                             headers={"Authorization": f"Bearer {run['token']}"})
    assert bad_action.status_code == 422 and bad_action.json()["detail"][0]["field"] == "action"


@pytest.mark.parametrize("spec, fields", [
    ({"layers": [{"units": 500}], "training": {"batch_size": 0}}, {"layers[0].units", "training.batch_size"}),
    ({"dataset": {"name": "moons"}}, {"dataset.name"}),
    ({"dataset": {"name": "parabola", "params": {"a": 50}}}, {"dataset.params.a"}),
    ({"training": {"optimizer": "lbfgs"}}, {"training.optimizer"}),
    ({"training": {"epochs": 100000}}, {"training.epochs"}),
    ({"surprise": 1}, {"surprise"}),
])
def test_an_invalid_spec_is_a_422_naming_each_field(client, spec, fields):
    response = client.post("/api/runs", json=spec)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert {p["field"] for p in detail} == fields
    assert all(p["msg"] for p in detail)


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b"", b'"text"', b"{\"layers\": 5}"])
def test_a_malformed_body_is_a_422_never_a_500(client, body):
    response = client.post("/api/runs", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert "Traceback" not in response.text and response.json()["detail"][0]["msg"]


def test_an_oversized_body_is_a_413(make_client):
    client = make_client(max_body_bytes=2000)
    response = client.post("/api/runs", json={**tiny(), "pad": "x" * 5000})
    assert response.status_code == 413 and "2000" in response.json()["detail"]

    def chunks():  # no Content-Length: counted as it arrives
        for _ in range(10):
            yield b" " * 500

    chunked = client.post("/api/runs", content=chunks(), headers={"content-type": "application/json"})
    assert chunked.status_code == 413


def test_unknown_runs_are_404(client):
    for path in ("", "/code", "/model", "/data"):
        response = client.get(f"/api/runs/nope{path}")
        assert response.status_code == 404 and "nope" in response.json()["detail"]
    assert client.post("/api/runs/nope/control", json={"action": "stop"},
                       headers={"Authorization": "Bearer x"}).status_code == 404


def test_per_client_cap_is_a_429_with_retry_after(make_client):
    client = make_client(max_runs_per_client=1)
    first = create(client, epochs=3000, client_id="alice")
    refused = client.post("/api/runs", json=tiny(), headers={"X-Client-Id": "alice"})
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert "1 runs training" in refused.json()["detail"]
    bob = create(client, client_id="bob")  # someone else is not held back
    for run in (first, bob):
        client.post(f"/api/runs/{run['id']}/control", json={"action": "stop"},
                    headers={"Authorization": f"Bearer {run['token']}"})
        stream_to_end(client, run["id"])
    create(client, client_id="alice")  # a finished run frees the place


def test_server_wide_cap_is_a_429(make_client):
    client = make_client(max_active_runs=2, max_runs_per_client=5)
    runs = [create(client, epochs=3000, client_id=f"c{i}") for i in range(2)]
    refused = client.post("/api/runs", json=tiny(), headers={"X-Client-Id": "c9"})
    assert refused.status_code == 429 and "Retry-After" in refused.headers
    for run in runs:
        client.post(f"/api/runs/{run['id']}/control", json={"action": "stop"},
                    headers={"Authorization": f"Bearer {run['token']}"})


def test_a_queued_run_reports_its_position_and_can_be_stopped_unstarted(make_client):
    client = make_client(training_threads=1)
    first = create(client, epochs=3000)
    # The one training thread has taken the first run before the others come (on a busy
    # machine it may not have yet, and the second would be second in the queue).
    with client.websocket_connect(f"/api/runs/{first['id']}/stream") as ws:
        read_until(ws, lambda e: e["kind"] == "epoch")
    second = create(client, epochs=5)
    third = create(client, epochs=5)
    with client.websocket_connect(f"/api/runs/{third['id']}/stream") as ws:
        queued = receive(ws)
        assert queued[0]["kind"] == "status" and queued[0]["state"] == "queued"
        assert queued[0]["queue_position"] == 2
        client.post(f"/api/runs/{third['id']}/control", json={"action": "stop"},
                    headers={"Authorization": f"Bearer {third['token']}"})
        done = read_until(ws, lambda e: e["kind"] == "done")[-1]
        assert done["state"] == "stopped" and done["epochs"] == 0
    client.post(f"/api/runs/{first['id']}/control", json={"action": "stop"},
                headers={"Authorization": f"Bearer {first['token']}"})
    events = stream_to_end(client, second["id"])
    positions = [e["queue_position"] for e in events if e["kind"] == "status" and e["state"] == "queued"]
    assert positions[0] == 1
    assert events[-1]["state"] == "finished"


def create_paused(client, client_id):
    """A run that holds its place without training (it waits for a step)."""
    response = client.post("/api/runs?paused=true", json=tiny(), headers={"X-Client-Id": client_id})
    assert response.status_code == 201, response.text
    return response.json()


def stop(client, run):
    client.post(f"/api/runs/{run['id']}/control", json={"action": "stop"},
                headers={"Authorization": f"Bearer {run['token']}"})


def test_simultaneous_creates_of_one_client_never_pass_its_cap(make_client):
    client = make_client(max_runs_per_client=3)
    start, responses = threading.Barrier(30), []

    def press_train():
        start.wait(TIMEOUT)
        responses.append(client.post("/api/runs?paused=true", json=tiny(), headers={"X-Client-Id": "alice"}))

    threads = [threading.Thread(target=press_train) for _ in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    created = [r.json() for r in responses if r.status_code == 201]
    refused = [r for r in responses if r.status_code == 429]
    assert len(created) == 3 and len(refused) == 27
    assert all("3 runs training" in r.json()["detail"] and int(r.headers["Retry-After"]) > 0 for r in refused)
    assert len(client.get("/api/runs", headers={"X-Client-Id": "alice"}).json()) == 3
    for run in created:
        stop(client, run)


def test_a_new_client_id_for_each_run_does_not_pass_the_per_address_limit(make_client):
    client = make_client(runs_per_address_per_minute=3, max_runs_per_client=1)
    runs = [create_paused(client, f"made-up-{i}") for i in range(3)]
    refused = client.post("/api/runs", json=tiny(), headers={"X-Client-Id": "made-up-3"})
    assert refused.status_code == 429 and 1 <= int(refused.headers["Retry-After"]) <= 60
    detail = refused.json()["detail"]
    assert "3 runs in the last minute" in detail and "PLAYGROUND_RUNS_PER_ADDRESS_PER_MINUTE" in detail
    for run in runs:
        stop(client, run)


def test_nobody_lists_anyone_elses_runs(client):
    run = create_paused(client, "alice")
    for query in ("", "?mine=false", "?mine=true&limit=100"):
        assert client.get(f"/api/runs{query}", headers={"X-Client-Id": "eve"}).json() == []
        assert [r["id"] for r in client.get(f"/api/runs{query}", headers={"X-Client-Id": "alice"}).json()] \
            == [run["id"]]
    stop(client, run)


def test_an_address_is_not_an_id_that_lists_the_runs_made_from_it(client):
    made = client.post("/api/runs?paused=true", json=tiny(epochs=50))  # a script: no X-Client-Id
    assert made.status_code == 201
    assert client.get("/api/runs", headers={"X-Client-Id": "testclient"}).json() == []  # TestClient's address
    assert [r["id"] for r in client.get("/api/runs").json()] == [made.json()["id"]]
    stop(client, made.json())


@pytest.mark.parametrize("limit", ["0", "101", "-5"])
def test_a_list_limit_out_of_range_is_a_422_naming_it(client, limit):
    response = client.get(f"/api/runs?limit={limit}")
    assert response.status_code == 422 and response.json()["detail"][0]["field"] == "limit"


def test_a_run_left_paused_is_stopped_and_says_why(make_client):
    client = make_client(paused_run_timeout=0.5)
    run = client.post("/api/runs?paused=true", json=tiny(epochs=50), headers={"X-Client-Id": "tester"}).json()
    auth = {"Authorization": f"Bearer {run['token']}"}
    with client.websocket_connect(f"/api/runs/{run['id']}/stream") as ws:
        read_until(ws, lambda e: e["kind"] == "status" and e["state"] == "paused")
        client.post(f"/api/runs/{run['id']}/control", json={"action": "step"}, headers=auth)
        done = read_until(ws, lambda e: e["kind"] == "done")[-1]
    assert done["state"] == "stopped" and done["epochs"] == 1
    assert done["message"] == ("Stopped after 0.5 seconds paused, to free its place for others. "
                               "Its history and trained model are kept.")
    record = client.get(f"/api/runs/{run['id']}").json()
    assert record["state"] == "stopped" and len(record["history"]) == 1
    assert record["final"]["message"] == done["message"]
    assert client.get(f"/api/runs/{run['id']}/model").status_code == 200


def test_a_lab_server_holds_its_caps_against_simultaneous_and_rotating_clients(tmp_path):
    """A real `keras-playground serve` on Redis (no worker needed to be queued): the caps are
    counted by the Lua script and the Redis rate limiter, as every web replica shares them."""
    redis_server = RedisServer(tmp_path / "redis", persist=False).start()
    server = Server(tmp_path / "data", redis_url=redis_server.url, max_runs_per_client=3,
                    runs_per_address_per_minute=33).start()
    try:
        start = threading.Barrier(30)

        def press_train(client_id):
            start.wait(TIMEOUT)
            return httpx.post(f"{server.url}/api/runs", json=tiny(), headers={"X-Client-Id": client_id},
                              timeout=TIMEOUT)

        with ThreadPoolExecutor(30) as pool:
            codes = sorted(r.status_code for r in pool.map(press_train, ["alice"] * 30))
        assert codes == [201] * 3 + [429] * 27
        # 30 of the address's 33 a minute are spent: a new id for each run gets 3 more, then no more.
        codes = [httpx.post(f"{server.url}/api/runs", json=tiny(), headers={"X-Client-Id": f"new-{i}"},
                            timeout=TIMEOUT) for i in range(4)]
        assert [r.status_code for r in codes] == [201, 201, 201, 429]
        assert "PLAYGROUND_RUNS_PER_ADDRESS_PER_MINUTE" in codes[-1].json()["detail"]
        assert int(codes[-1].headers["Retry-After"]) >= 1
    finally:
        server.stop()
        redis_server.stop()


def test_a_store_that_cannot_write_is_a_503_not_a_500(client, caplog):
    import sqlite3

    def full(*args, **kwargs):
        raise sqlite3.OperationalError("database or disk is full")

    client.app.state.service.store.create_within = full
    answer = client.post("/api/runs", json=tiny())
    assert answer.status_code == 503 and int(answer.headers["Retry-After"]) >= 1
    assert re.match(r"The server cannot store data right now \(error [0-9a-f]{8}\)", answer.json()["detail"])
    assert "disk is full" not in answer.text and any("disk is full" in r.getMessage() for r in caplog.records)


def test_a_run_recorded_but_never_queued_does_not_hold_its_place(client):
    import redis

    def redis_gone(*args, **kwargs):
        raise redis.ConnectionError("Error 111 connecting to redis:6379. Connection refused.")

    client.app.state.service.runner.submit = redis_gone  # what a lab server meets mid-create
    answer = client.post("/api/runs", json=tiny(), headers={"X-Client-Id": "ada"})
    assert answer.status_code == 503 and answer.headers["Retry-After"]
    assert client.app.state.service.store.active_count("id:ada") == 0
    [run] = client.get("/api/runs", headers={"X-Client-Id": "ada"}).json()
    assert run["state"] == "failed" and run["ended"] is not None
