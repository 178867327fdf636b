"""A Redis restart with a run in flight, on the process topology: a redis-server of its own
(with the AOF, as in docker-compose.yml), a web replica and a worker.

Redis is stopped with SIGTERM (it writes its AOF, as `docker restart` makes it) and started
again on the same port and directory: the run must ride out a short outage and fail
visibly, with what it trained kept, after a long one."""

import json
import threading
import time

import httpx
import pytest
from websockets.sync.client import connect

from keras_playground.jobs.redis_bus import RedisBus

from ..real_server import TIMEOUT, Server, Worker
from ..redis_server import RedisServer
from .conftest import ADMIN_ENV, TEST_SETTINGS, serve_command, service
from .test_lab_server import Stream, create


class Lab:
    def __init__(self, root):
        self.root = root
        self.redis = RedisServer(root / "redis").start()  # not the session's: this one restarts
        _, settings = service("web")
        self.web = Server(root / "web", serve_command(), redis_url=self.redis.url,
                          **{**settings, **TEST_SETTINGS}).start()
        self.worker = None

    def start_worker(self, **extra) -> None:
        """The only worker, with `extra` settings (e.g. redis_outage_seconds)."""
        if self.worker is not None:
            self.worker.stop()
        command, settings = service("worker")
        self.worker = Worker(command, self.root / "worker.log", redis_url=self.redis.url,
                             **{**settings, **TEST_SETTINGS, **extra}).start()
        deadline = time.monotonic() + 120  # it imports TensorFlow
        while self.health().get("workers") != 1:
            assert time.monotonic() < deadline, "the worker did not report within 120 s"
            time.sleep(0.3)

    def health(self) -> dict:
        response = httpx.get(f"{self.web.url}/api/health", timeout=TIMEOUT)
        assert response.status_code == 200, response.text
        return response.json()

    def run(self, run_id) -> httpx.Response:
        return httpx.get(f"{self.web.url}/api/runs/{run_id}", timeout=TIMEOUT)

    def outage(self, seconds: float, run_id: str) -> list[httpx.Response]:
        """Redis down for `seconds`, then up again; what GET of `run_id` answered meanwhile."""
        self.redis.stop()
        down_until = time.monotonic() + seconds
        answers, health = [], []
        while time.monotonic() < down_until - 1.5:  # a request waits ~1 s for Redis
            answers.append(self.run(run_id))
            health.append(self.health())
        time.sleep(max(0.0, down_until - time.monotonic()))
        self.redis.start()
        assert all(h["status"] == "degraded" for h in health) and health
        return answers

    def stop(self):
        for process in (self.worker, self.web, self.redis):
            if process is not None:
                process.stop()


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    running = Lab(tmp_path_factory.mktemp("outage"))
    yield running
    running.stop()


def wait_for_idle(lab) -> None:
    deadline = time.monotonic() + TIMEOUT
    while lab.health()["active_runs"] != 0:
        assert time.monotonic() < deadline, "the run still counts as active"
        time.sleep(0.2)


def test_a_redis_restart_of_3_seconds_is_ridden_out_and_the_run_finishes(lab):
    lab.start_worker()  # rides out redis_outage_seconds: 30 (the default)
    run = create(lab.web, 600)  # still training when Redis stops at epoch 10
    with Stream(lab.web, run["id"]) as stream:
        stream.until(lambda e: e["kind"] == "epoch" and e["epoch"] >= 10)
        answers = lab.outage(3.0, run["id"])
        end = stream.end(timeout=120)
    assert answers and all(a.status_code == 503 for a in answers), [a.status_code for a in answers]
    assert all(int(a.headers["Retry-After"]) >= 1 for a in answers)
    assert end["kind"] == "done" and end["state"] == "finished"
    assert stream.epochs() == list(range(1, 601))  # every epoch, once, in order
    record = lab.run(run["id"])
    assert record.status_code == 200 and record.json()["state"] == "finished"
    assert len(record.json()["history"]) == 600
    wait_for_idle(lab)
    assert lab.health()["workers"] == 1  # the watchdog did not take the restart for a dead worker


def test_a_redis_outage_longer_than_the_setting_fails_the_run_keeping_its_epochs(lab):
    lab.start_worker(redis_outage_seconds=3)
    run = create(lab.web, 5000)
    with Stream(lab.web, run["id"]) as stream:
        stream.until(lambda e: e["kind"] == "epoch" and e["epoch"] >= 5)
        lab.outage(6.0, run["id"])
        end = stream.end(timeout=120)
    assert end["kind"] == "error" and end["message"].startswith("Training failed (error ")
    seen = stream.epochs()
    assert seen == list(range(1, len(seen) + 1))  # none lost, none repeated before the end
    record = lab.run(run["id"]).json()
    assert record["state"] == "failed" and len(record["history"]) >= len(seen) >= 5
    wait_for_idle(lab)
    after = create(lab.web, 20)  # the worker goes on
    with Stream(lab.web, after["id"]) as stream:
        assert stream.end()["state"] == "finished"


def test_events_published_across_redis_restarts_arrive_once_each(tmp_path):
    """A restart can drop the reply to a publish that Redis did apply: sent again, it must
    not add the event twice."""
    server = RedisServer(tmp_path / "redis").start()
    bus = RedisBus(server.url, retry_seconds=30)  # as a worker's
    bus.open("run")
    published, stop = [], threading.Event()

    def publish():
        while not stop.is_set():
            epoch = len(published) + 1
            bus.publish_json("run", "epoch", json.dumps({"kind": "epoch", "epoch": epoch}))
            published.append(epoch)
            time.sleep(0.001)

    publisher = threading.Thread(target=publish, daemon=True)
    publisher.start()
    try:
        for _ in range(5):
            time.sleep(0.3)
            server.stop()  # SIGTERM: Redis writes its AOF and goes, mid-publish
            server.start()
        time.sleep(0.3)
        stop.set()
        publisher.join(TIMEOUT)
        epochs = [e["epoch"] for e in bus.replay("run")]
    finally:
        stop.set()
        bus.close()
        server.stop()
    assert epochs == published and len(published) > 100


def test_a_room_stream_rides_out_a_redis_restart(lab):
    room = httpx.post(f"{lab.web.url}/api/rooms", timeout=TIMEOUT,
                      json={"password": ADMIN_ENV["PLAYGROUND_INSTRUCTOR_PASSWORD"]}).json()
    code = room["code"]
    with connect(f"ws://127.0.0.1:{lab.web.port}/api/rooms/{code}/stream") as ws:
        assert json.loads(ws.recv(timeout=TIMEOUT))[0]["participants"] == []
        lab.redis.stop()
        time.sleep(3)
        lab.redis.start()
        joined = httpx.post(f"{lab.web.url}/api/rooms/{code}/join", json={"name": "Ada"}, timeout=TIMEOUT)
        assert joined.status_code == 201, joined.text
        # The same connection, kept open through the outage, shows the join.
        while True:
            views = [e for e in json.loads(ws.recv(timeout=TIMEOUT)) if e["kind"] == "room"]
            if views and views[-1]["participants"]:
                break
    assert [p["name"] for p in views[-1]["participants"]] == ["Ada"]


def test_the_class_wall_goes_on_after_a_redis_restart(lab):
    lab.start_worker()  # rides out the default 30 s
    url = lab.web.url
    room = httpx.post(f"{url}/api/rooms", json={"password": ADMIN_ENV["PLAYGROUND_INSTRUCTOR_PASSWORD"]},
                      timeout=TIMEOUT).json()
    code = room["code"]
    ada = httpx.post(f"{url}/api/rooms/{code}/join", json={"name": "Ada"}, timeout=TIMEOUT).json()
    run = create(lab.web, 3000)
    registered = httpx.post(f"{url}/api/rooms/{code}/runs", headers={"Authorization": f"Bearer {ada['token']}"},
                            json={"run_id": run["id"], "run_token": run["token"]}, timeout=TIMEOUT)
    assert registered.status_code == 200, registered.text

    def wall_epoch_reaches(ws, epoch):
        while True:
            for event in json.loads(ws.recv(timeout=TIMEOUT)):
                if event["kind"] == "wall" and event["run_id"] == run["id"] and event["epoch"] >= epoch:
                    return event["epoch"]

    try:
        with connect(f"ws://127.0.0.1:{lab.web.port}/api/rooms/{code}/stream") as ws:
            before = wall_epoch_reaches(ws, 5)
            lab.redis.stop()
            time.sleep(3)
            lab.redis.start()
            assert wall_epoch_reaches(ws, before + 50) >= before + 50  # the tile still moves
    finally:
        httpx.post(f"{url}/api/runs/{run['id']}/control", json={"action": "stop"},
                   headers={"Authorization": f"Bearer {run['token']}"}, timeout=TIMEOUT)
