"""End to end on the lab-server topology: two web replicas, two workers, one Redis.

Real processes, a real redis-server, real WebSockets; runs created on one replica and
watched or controlled through the other, as a load balancer would send a class."""

import contextlib
import json
import secrets
import time
from pathlib import Path

import httpx
from websockets.sync.client import connect

from keras_playground.bench.harness import rss_mb

from ..real_server import TIMEOUT
from .conftest import ADMIN_ENV


def spec(epochs, seed=1):
    return {"dataset": {"name": "parabola", "n_train": 100, "n_val": 30, "n_test": 30},
            "layers": [{"units": 8, "activation": "tanh"}],
            "training": {"optimizer": "adam", "learning_rate": 0.05, "batch_size": 10,
                         "epochs": epochs, "seed": seed}}


def create(web, epochs, seed=1, paused=False):
    """A run of its own participant (each may train only a few at once, on all replicas)."""
    client = secrets.token_hex(4)
    response = httpx.post(f"{web.url}/api/runs", json=spec(epochs, seed), timeout=TIMEOUT,
                          params={"paused": "true"} if paused else None, headers={"X-Client-Id": client})
    assert response.status_code == 201, response.text
    return response.json()


def control(web, run, action, **extra):
    response = httpx.post(f"{web.url}/api/runs/{run['id']}/control", json={"action": action, **extra},
                          headers={"Authorization": f"Bearer {run['token']}"}, timeout=TIMEOUT)
    assert response.status_code == 200, response.text


class Stream:
    """A client's WebSocket on one replica, keeping every event it got."""

    def __init__(self, web, run_id, after=0):
        self.url = f"ws://127.0.0.1:{web.port}/api/runs/{run_id}/stream?after={after}"
        self.events: list[dict] = []

    def __enter__(self):
        self._connection = connect(self.url, max_size=None)
        self.ws = self._connection.__enter__()
        return self

    def __exit__(self, *exc):
        self._connection.__exit__(*exc)

    def until(self, predicate, timeout=TIMEOUT) -> dict:
        for event in self.events:
            if predicate(event):
                return event
        deadline = time.monotonic() + timeout
        while True:
            message = self.ws.recv(timeout=max(0.1, deadline - time.monotonic()))
            for event in json.loads(message):
                self.events.append(event)
                if predicate(event):
                    return event

    def end(self, timeout=TIMEOUT) -> dict:
        return self.until(lambda e: e["kind"] in ("done", "error"), timeout)

    def epochs(self) -> list[int]:
        return [e["epoch"] for e in self.events if e["kind"] == "epoch"]

    def worker(self) -> str:
        return self.until(lambda e: e["kind"] == "status" and e.get("worker"))["worker"]



def test_both_replicas_serve_in_redis_mode_and_see_both_workers(topology):
    for web in (0, 1):
        health = topology.health(web)
        assert health["mode"] == "redis" and health["workers"] == 2


def test_runs_spread_over_both_workers_and_any_replica_streams_any_run(topology):
    a, b = topology.webs
    # Four runs, two per replica; each worker trains two at once, so both must work.
    runs = [create(web, 400, seed) for seed, web in enumerate((a, b, a, b), start=1)]
    with contextlib.ExitStack() as opened:
        streams = [opened.enter_context(Stream(b if i % 2 == 0 else a, run["id"]))  # the other replica
                   for i, run in enumerate(runs)]
        workers = {stream.worker() for stream in streams}
        ends = [stream.end(120) for stream in streams]
    assert len(workers) == 2, f"all runs went to {workers}"
    for stream, end in zip(streams, ends):
        assert end["kind"] == "done" and end["state"] == "finished"
        assert stream.epochs() == list(range(1, 401))  # the whole history, from the first epoch
    # A late reader on either replica replays the full run from the start.
    with Stream(a, runs[1]["id"]) as late:
        assert late.end()["state"] == "finished" and late.epochs() == list(range(1, 401))
    record = httpx.get(f"{b.url}/api/runs/{runs[0]['id']}", timeout=TIMEOUT).json()
    assert record["state"] == "finished" and len(record["history"]) == 400
    assert record["final"]["test_metric"] > 0.8


def test_controls_sent_to_one_replica_reach_the_worker_of_a_run_created_on_the_other(topology):
    a, b = topology.webs
    run = create(a, 5000)
    with Stream(a, run["id"]) as stream:
        stream.until(lambda e: e["kind"] == "epoch" and e["epoch"] >= 3)
        control(b, run, "pause")
        paused = stream.until(lambda e: e["kind"] == "status" and e["state"] == "paused")
        time.sleep(0.5)
        control(b, run, "step")
        stepped = stream.until(lambda e: e["kind"] == "epoch" and e["epoch"] == paused["epoch"] + 1)
        control(b, run, "learning_rate", learning_rate=0.002)
        control(b, run, "resume")
        changed = stream.until(lambda e: e["kind"] == "epoch" and e["learning_rate"] == 0.002)
        control(b, run, "stop")
        end = stream.end()
    assert stepped["epoch"] == paused["epoch"] + 1 and changed["epoch"] == paused["epoch"] + 2
    assert end["kind"] == "done" and end["state"] == "stopped"
    assert stream.epochs() == list(range(1, end["epochs"] + 1))
    wrong = httpx.post(f"{b.url}/api/runs/{run['id']}/control", json={"action": "pause"},
                       headers={"Authorization": "Bearer not-the-token"}, timeout=TIMEOUT)
    assert wrong.status_code == 403


def test_a_drawing_is_classified_by_the_worker_training_the_run_through_the_other_replica(topology):
    a, b = topology.webs
    image_spec = {"dataset": {"name": "digits", "n_train": 100, "n_val": 20, "n_test": 20, "params": {"canvas": 10}},
                  "layers": [{"type": "conv2d", "filters": 4}, {"type": "flatten"}],
                  "training": {"epochs": 3, "batch_size": 20}}
    response = httpx.post(f"{a.url}/api/runs", json=image_spec, params={"paused": "true"}, timeout=TIMEOUT,
                          headers={"X-Client-Id": secrets.token_hex(4)})
    run = response.json()
    auth = {"Authorization": f"Bearer {run['token']}"}
    drawing = [[1.0 if 3 <= col <= 5 else 0.0 for col in range(10)] for _ in range(10)]
    with Stream(a, run["id"]) as stream:
        stream.until(lambda e: e["kind"] == "start")  # on its worker, paused
        answer = httpx.post(f"{b.url}/api/runs/{run['id']}/predict", json={"image": drawing}, headers=auth,
                            timeout=TIMEOUT)
        assert answer.status_code == 200, answer.text
        assert answer.json()["epoch"] == 0 and len(answer.json()["probabilities"]) == 10
        picked = httpx.post(f"{b.url}/api/runs/{run['id']}/predict", json={"index": 3}, headers=auth,
                            timeout=TIMEOUT)
        assert picked.status_code == 200, picked.text
        control(b, run, "resume")
        end = stream.end()
        frames = [e for e in stream.events if e["kind"] == "frame"]
    assert end["state"] == "finished" and frames[-1]["probe"]["index"] == 3
    ended = httpx.post(f"{a.url}/api/runs/{run['id']}/predict", json={"index": 3}, headers=auth, timeout=TIMEOUT)
    assert ended.status_code == 409 and "lab server" in ended.json()["detail"]


def test_a_killed_worker_ends_its_run_visibly_and_the_other_keeps_serving(topology):
    a, b = topology.webs
    victim_run = create(a, 5000)
    with Stream(b, victim_run["id"]) as stream:
        name = stream.worker()
        stream.until(lambda e: e["kind"] == "epoch" and e["epoch"] >= 5)
        pid = int(name.rsplit(":", 1)[1])
        victim = next(i for i, worker in enumerate(topology.workers) if worker.owns(pid))
        topology.workers[victim].kill()
        killed_at = time.monotonic()
        end = stream.end(timeout=30)
        noticed = time.monotonic() - killed_at
    assert end["kind"] == "error" and name in end["message"] and "stopped" in end["message"]
    print(f"the client heard of the killed worker {noticed:.1f} s after the kill")
    assert noticed < 15, f"the client heard of the dead worker after {noticed:.1f} s"
    record = httpx.get(f"{a.url}/api/runs/{victim_run['id']}", timeout=TIMEOUT).json()
    assert record["state"] == "failed" and len(record["history"]) >= 5  # what it trained is kept

    # The other worker keeps serving new runs.
    survivor = create(b, 50)
    with Stream(a, survivor["id"]) as after:
        assert after.worker() != name
        assert after.end()["state"] == "finished"
    topology.replace_worker(victim)
    topology.wait_for_workers(2)


def test_a_worker_shut_down_cleanly_ends_its_runs_as_interrupted(topology):
    """A scale-down or a `docker stop`: the run ends at once, with a reason, not after a timeout."""
    run = create(topology.webs[0], 5000)
    with Stream(topology.webs[1], run["id"]) as stream:
        name = stream.worker()
        stream.until(lambda e: e["kind"] == "epoch" and e["epoch"] >= 3)
        which = next(i for i, w in enumerate(topology.workers) if w.owns(int(name.rsplit(":", 1)[1])))
        topology.workers[which].stop()
        end = stream.end(timeout=30)
    assert end["kind"] == "error" and "shut down" in end["message"]
    assert topology.workers[which].process.returncode == 0  # a clean exit
    record = httpx.get(f"{topology.webs[0].url}/api/runs/{run['id']}", timeout=TIMEOUT).json()
    assert record["state"] == "interrupted" and len(record["history"]) >= 3
    topology.replace_worker(which)
    topology.wait_for_workers(2)


def test_restarting_the_web_replicas_loses_no_run(topology):
    a, b = topology.webs
    finished = create(a, 40)
    with Stream(a, finished["id"]) as stream:
        assert stream.end()["state"] == "finished"
    waiting = create(b, 60, paused=True)  # a worker holds it, paused, through the restart
    with Stream(b, waiting["id"]) as stream:
        stream.until(lambda e: e["kind"] == "status" and e["state"] == "paused")

    topology.restart_webs()

    record = httpx.get(f"{b.url}/api/runs/{finished['id']}", timeout=TIMEOUT).json()
    assert record["state"] == "finished" and len(record["history"]) == 40
    model = httpx.get(f"{b.url}/api/runs/{finished['id']}/model", timeout=TIMEOUT)
    assert model.status_code == 200 and model.content[:2] == b"PK"
    control(a, waiting, "resume")
    with Stream(a, waiting["id"]) as resumed:
        end = resumed.end()
    assert end["state"] == "finished" and resumed.epochs() == list(range(1, 61))


def test_a_room_opened_on_one_replica_is_joined_and_followed_on_the_other(topology):
    a, b = topology.webs
    assert httpx.post(f"{a.url}/api/rooms", json={"title": "Lab"}, timeout=TIMEOUT).status_code == 403
    room = httpx.post(f"{a.url}/api/rooms", json={"title": "Lab", "password": ADMIN_ENV["PLAYGROUND_INSTRUCTOR_PASSWORD"]},
                      timeout=TIMEOUT).json()
    with connect(f"ws://127.0.0.1:{a.port}/api/rooms/{room['code']}/stream") as wall:
        assert json.loads(wall.recv(timeout=TIMEOUT))[0]["participants"] == []
        ada = httpx.post(f"{b.url}/api/rooms/{room['code']}/join", json={"name": "Ada"}, timeout=TIMEOUT).json()
        run = create(b, 30)
        httpx.post(f"{b.url}/api/rooms/{room['code']}/runs", json={"run_id": run["id"], "run_token": run["token"]},
                   headers={"Authorization": f"Bearer {ada['token']}"}, timeout=TIMEOUT)
        tiles = []
        while not tiles or tiles[-1]["state"] != "finished":
            tiles += [e for e in json.loads(wall.recv(timeout=TIMEOUT)) if e["kind"] == "wall"]
    assert tiles[-1]["epoch"] == 30 and tiles[-1]["participant"] == ada["participant"]
    assert httpx.get(f"{a.url}/api/rooms/{room['code']}", timeout=TIMEOUT).json()["participants"][0]["name"] == "Ada"


def test_a_web_replica_never_imports_tensorflow_and_stays_small(topology):
    """Everything a class does through a replica (train, stream, code, rooms, a scored
    challenge) and still no TensorFlow in it: the workers train and score."""
    a, b = topology.webs
    password = ADMIN_ENV["PLAYGROUND_INSTRUCTOR_PASSWORD"]
    room = httpx.post(f"{a.url}/api/rooms", json={"password": password}, timeout=TIMEOUT).json()
    boss = {"Authorization": f"Bearer {room['instructor_token']}"}
    dataset = spec(1)["dataset"]
    opened = httpx.post(f"{a.url}/api/rooms/{room['code']}/challenge", headers=boss, timeout=TIMEOUT,
                        json={"dataset": dataset, "max_parameters": 1000, "max_epochs": 100})
    assert opened.status_code == 200, opened.text
    ada = httpx.post(f"{b.url}/api/rooms/{room['code']}/join", json={"name": "Ada"}, timeout=TIMEOUT).json()
    run = create(b, 20)
    with Stream(a, run["id"]) as stream:
        assert stream.end()["state"] == "finished"
    assert "model.fit(" in httpx.get(f"{a.url}/api/runs/{run['id']}/code", timeout=TIMEOUT).text
    submitted = httpx.post(f"{b.url}/api/rooms/{room['code']}/submissions", timeout=TIMEOUT,
                           json={"run_id": run["id"], "run_token": run["token"]},
                           headers={"Authorization": f"Bearer {ada['token']}"})
    assert submitted.status_code == 201 and 0.5 < submitted.json()["accuracy"] <= 1, submitted.text

    for web in (a, b):
        libraries = Path(f"/proc/{web.pid}/maps").read_text()
        assert "tensorflow" not in libraries and "keras" not in libraries
        assert rss_mb(web.pid) < 250
