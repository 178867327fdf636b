"""Runners, the same suite on both backends: the local thread pool (memory bus, SQLite)
and dramatiq workers through a real redis-server (Redis bus and store, a worker in this
process). What a client sees: every epoch, the controls, the recorded end."""

import asyncio
import json
import secrets
import threading
import time

import dramatiq
import pytest

from keras_playground.config import Settings
from keras_playground.engine.control import Command
from keras_playground.engine.session import TrainingSession
from keras_playground.jobs.bus import MemoryBus
from keras_playground.jobs.distributed import DramatiqRunner, Keys, make_broker
from keras_playground.jobs.redis_bus import RedisBus
from keras_playground.jobs.runner import LocalRunner
from keras_playground.jobs.training import Trainer, store_finisher
from keras_playground.jobs.worker import WorkerContext, attach
from keras_playground.specs import parse_spec
from keras_playground.store import RedisRunStore, SqliteRunStore

TIMEOUT = 60
THREADS = 2  # runs trained at once, on either backend


def spec(epochs=30, **training):
    return parse_spec({"dataset": {"name": "line", "n_train": 40, "n_val": 10, "n_test": 10},
                       "training": {"epochs": epochs, "batch_size": 8, **training}}).model_dump(mode="json")


class Harness:
    """A runner with its bus and store, and a client's view of a run's events."""

    def __init__(self, runner, bus, store):
        self.runner, self.bus, self.store = runner, bus, store
        self.seen: dict[str, list[dict]] = {}
        self.loop = asyncio.new_event_loop()  # one reader's loop, as a server has
        if isinstance(bus, MemoryBus):
            bus.bind_loop(self.loop)

    def close(self):
        self.loop.close()

    def submit(self, raw: dict, paused=False) -> str:
        run_id = secrets.token_hex(6)
        self.store.create(run_id, "token", "client", raw)
        self.bus.open(run_id)
        self.runner.submit(run_id, parse_spec(raw), paused)
        self.seen[run_id] = []
        return run_id

    def poll(self, run_id) -> list[dict]:
        """Every event so far, as a client streaming from the start has them."""
        seen = self.seen[run_id]
        after = seen[-1]["seq"] if seen else 0
        found, _ = self.loop.run_until_complete(self.bus.read(run_id, after, 0.05))
        seen += [json.loads(item.json) for item in found]
        return seen

    def wait_for(self, run_id, predicate, what="the event") -> dict:
        deadline = time.monotonic() + TIMEOUT
        while True:
            for event in self.poll(run_id):
                if predicate(event):
                    return event
            assert time.monotonic() < deadline, f"{what} did not come within {TIMEOUT} s"

    def epochs(self, run_id) -> list[int]:
        return [e["epoch"] for e in self.poll(run_id) if e["kind"] == "epoch"]

    def end(self, run_id) -> dict:
        return self.wait_for(run_id, lambda e: e["kind"] in ("done", "error"), "the end of the run")


@pytest.fixture(params=["local", "redis"])
def harness(request, tmp_path):
    if request.param == "local":
        store, bus = SqliteRunStore(tmp_path), MemoryBus()
        runner = LocalRunner(Trainer(bus, store_finisher(store)), threads=THREADS)
        harness = Harness(runner, bus, store)
        yield harness
        runner.shutdown()
        harness.close()
        store.close()
        return
    url, ns = request.getfixturevalue("redis_url"), request.getfixturevalue("namespace")
    store, bus = RedisRunStore(url, ns), RedisBus(url, ns)
    runner = DramatiqRunner(bus, store, make_broker(url, ns), url=url, namespace=ns)
    settings = Settings(redis_url=url, heartbeat_seconds=0.2, worker_timeout=2)
    worker_broker = make_broker(url, ns)
    context = WorkerContext(settings, namespace=ns, name=f"{ns}-worker")
    attach(worker_broker, context)
    worker = dramatiq.Worker(worker_broker, queues={"training"}, worker_threads=THREADS)
    worker.queue_prefetch = THREADS  # as `keras-playground worker` sets it
    worker.start()
    harness = Harness(runner, bus, store)
    yield harness
    harness.close()
    worker.stop(timeout=30_000)
    worker_broker.close()
    runner.close()


def test_a_run_streams_every_epoch_and_its_end_is_recorded(harness):
    run_id = harness.submit(spec(epochs=30))
    done = harness.end(run_id)
    events = harness.poll(run_id)
    assert events[0] == {**events[0], "kind": "status", "state": "queued"}
    assert any(e["kind"] == "status" and e["state"] == "running" for e in events)
    assert harness.epochs(run_id) == list(range(1, 31))
    assert any(e["kind"] == "frame" for e in events)
    assert done["kind"] == "done" and done["state"] == "finished" and done["epochs"] == 30
    record = harness.store.get(run_id)
    assert record.state == "finished" and [e["epoch"] for e in record.history] == list(range(1, 31))
    assert harness.store.model(run_id)[:2] == b"PK"  # a .keras file is a zip
    assert harness.store.active_count() == 0
    assert harness.runner.control(run_id, Command("pause")) is False  # it has ended


def test_pause_step_learning_rate_resume_and_stop_reach_the_run(harness):
    run_id = harness.submit(spec(epochs=5000, learning_rate=0.1))
    harness.wait_for(run_id, lambda e: e["kind"] == "epoch" and e["epoch"] >= 3, "epoch 3")
    assert harness.runner.control(run_id, Command("pause"))
    paused = harness.wait_for(run_id, lambda e: e["kind"] == "status" and e["state"] == "paused", "paused")
    time.sleep(0.5)
    at_pause = harness.epochs(run_id)
    assert at_pause[-1] == paused["epoch"]  # nothing trained once it said paused

    harness.runner.control(run_id, Command("step"))
    harness.wait_for(run_id, lambda e: e["kind"] == "epoch" and e["epoch"] == paused["epoch"] + 1, "the step")
    time.sleep(0.3)
    assert harness.epochs(run_id) == at_pause + [paused["epoch"] + 1]  # exactly one epoch

    harness.runner.control(run_id, Command("learning_rate", 0.01))
    harness.runner.control(run_id, Command("resume"))
    changed = harness.wait_for(run_id, lambda e: e["kind"] == "epoch" and e["learning_rate"] == 0.01,
                               "an epoch at the new learning rate")
    assert changed["epoch"] == paused["epoch"] + 2
    harness.runner.control(run_id, Command("stop"))
    done = harness.end(run_id)
    assert done["kind"] == "done" and done["state"] == "stopped"
    assert harness.epochs(run_id) == list(range(1, done["epochs"] + 1))  # none lost, none repeated


def test_a_run_submitted_paused_waits_for_a_step(harness):
    run_id = harness.submit(spec(epochs=100), paused=True)
    harness.wait_for(run_id, lambda e: e["kind"] == "status" and e["state"] == "paused", "paused")
    time.sleep(0.5)
    assert harness.epochs(run_id) == []
    harness.runner.control(run_id, Command("step"))
    harness.wait_for(run_id, lambda e: e["kind"] == "epoch", "the step")
    time.sleep(0.3)
    assert harness.epochs(run_id) == [1]
    harness.runner.control(run_id, Command("stop"))
    assert harness.end(run_id)["state"] == "stopped"


def test_a_queued_run_can_be_stopped_before_it_starts(harness):
    busy = [harness.submit(spec(epochs=5000)) for _ in range(THREADS)]
    for run_id in busy:
        harness.wait_for(run_id, lambda e: e["kind"] == "epoch", "training to start")
    waiting = harness.submit(spec(epochs=10))
    time.sleep(0.5)
    assert harness.epochs(waiting) == []  # every training slot is taken
    assert harness.runner.control(waiting, Command("stop"))
    done = harness.end(waiting)
    assert done["state"] == "stopped" and done["epochs"] == 0
    assert harness.store.get(waiting).state == "stopped"
    for run_id in busy:
        harness.runner.control(run_id, Command("stop"))
        assert harness.end(run_id)["state"] == "stopped"
    time.sleep(0.5)
    assert harness.epochs(waiting) == []  # a worker that gets it later skips it


def test_a_run_that_fails_ends_with_an_error_and_is_recorded(harness, monkeypatch):
    def broken(self):
        raise MemoryError("out of memory (on purpose)")

    monkeypatch.setattr(TrainingSession, "train_epoch", broken)
    run_id = harness.submit(spec(epochs=10))
    end = harness.end(run_id)
    assert end["kind"] == "error" and "out of memory (on purpose)" in end["message"]
    assert harness.store.get(run_id).state == "failed"


def test_the_runs_of_a_worker_without_heartbeat_are_failed(redis_url, namespace):
    """What a web replica's watchdog does when a worker vanished (kill -9 is in tests/distributed)."""
    store, bus = RedisRunStore(redis_url, namespace), RedisBus(redis_url, namespace)
    runner = DramatiqRunner(bus, store, make_broker(redis_url, namespace), url=redis_url, namespace=namespace)
    keys = Keys(namespace)
    for run_id, worker in (("lost", "gone:1"), ("alive", "here:2")):
        store.create(run_id, "token", "client", spec())
        bus.open(run_id)
        bus.publish(run_id, {"kind": "epoch", "epoch": 1})
        runner.redis.hset(keys.training, run_id, worker)
    runner.redis.set(keys.worker("here:2"), json.dumps({"name": "here:2"}), ex=30)

    assert runner.reap() == ["lost"]
    assert runner.reap() == []  # once only, whichever replica saw it first
    assert store.get("lost").state == "failed" and store.get("alive").state == "queued"
    assert [e["epoch"] for e in store.get("lost").history] == [1]  # what it trained is kept
    last = bus.replay("lost")[-1]
    assert last["kind"] == "error" and "gone:1" in last["message"] and "stopped" in last["message"]
    assert [w["name"] for w in runner.workers()] == ["here:2"]


def test_runs_training_together_share_the_frame_budget():
    finished = threading.Event()
    ended = []

    def on_finish(run_id, done, session):
        ended.append(run_id)
        finished.set()

    trainer = Trainer(MemoryBus(), on_finish, frames_per_second=20, frame_budget=2)
    runner = LocalRunner(trainer, threads=4)
    long = parse_spec(spec(epochs=5000))
    try:
        runner.submit("a", long)
        runner.submit("b", long)
        wait_until(lambda: len(trainer.training) == 2)
        wait_until(lambda: all(s.max_frames_per_second == 1.0 for s in list(trainer.training.values())))
        runner.control("a", Command("stop"))
        assert finished.wait(60) and ended == ["a"]
        wait_until(lambda: list(trainer.training) == ["b"])
        assert trainer.training["b"].max_frames_per_second == 2.0
        runner.control("b", Command("stop"))
        wait_until(lambda: ended == ["a", "b"])
    finally:
        runner.shutdown()


def wait_until(predicate, timeout=60):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached within the timeout"
        time.sleep(0.01)
