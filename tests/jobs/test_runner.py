"""Runners, the same suite on both backends: the local thread pool (memory bus, SQLite)
and dramatiq workers through a real redis-server (Redis bus and store, a worker in this
process). What a client sees: every epoch, the controls, the recorded end."""

import asyncio
import errno
import json
import os
import re
import secrets
import subprocess
import threading
import time
from pathlib import Path

import dramatiq
import pytest

from keras_playground.config import Settings
from keras_playground.engine.control import Command
from keras_playground.engine.session import TrainingSession
from keras_playground.jobs.bus import MemoryBus
from keras_playground.jobs.distributed import DramatiqRunner, Keys, make_broker
from keras_playground.jobs.redis_bus import RedisBus
from keras_playground.backends import worker_context
from keras_playground.jobs.ends import RunEnds
from keras_playground.jobs.local import LocalRunner
from keras_playground.jobs.training import Trainer
from keras_playground.jobs.worker import attach
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


def in_process_worker(settings, namespace, threads):
    """A training worker in this process, as `keras-playground worker` runs one: (its broker,
    its context, the started dramatiq worker)."""
    broker = make_broker(settings.redis_url, namespace)
    context = worker_context(settings, namespace=namespace, name=f"{namespace}-worker")
    attach(broker, context)
    broker.emit_after("process_boot")  # as `dramatiq` does: starts the time limit's clock
    worker = dramatiq.Worker(broker, queues={"training"}, worker_threads=threads)
    worker.queue_prefetch = threads  # as `keras-playground worker` sets it
    worker.start()
    return broker, context, worker


@pytest.fixture(params=["local", "redis"])
def harness(request, tmp_path):
    if request.param == "local":
        store, bus = SqliteRunStore(tmp_path), MemoryBus()
        runner = LocalRunner(Trainer(RunEnds(store, bus)), threads=THREADS)
        harness = Harness(runner, bus, store)
        harness.trainer = runner.trainer
        yield harness
        runner.shutdown()
        harness.close()
        store.close()
        return
    url, ns = request.getfixturevalue("redis_url"), request.getfixturevalue("namespace")
    store, bus = RedisRunStore(url, ns), RedisBus(url, ns)
    runner = DramatiqRunner(bus, store, make_broker(url, ns), url=url, namespace=ns)
    settings = Settings(redis_url=url, heartbeat_seconds=0.2, worker_timeout=2)
    worker_broker, context, worker = in_process_worker(settings, ns, THREADS)
    harness = Harness(runner, bus, store)
    harness.trainer = context.trainer
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


def test_a_run_that_fails_ends_with_an_error_and_is_recorded(harness, monkeypatch, caplog):
    def broken(self):
        raise MemoryError("out of memory in /srv/secret/path (on purpose)")

    monkeypatch.setattr(TrainingSession, "train_epoch", broken)
    run_id = harness.submit(spec(epochs=10))
    end = harness.end(run_id)
    # The watcher reads plain words and an error id, never the exception (paths, internals)...
    error_id = re.fullmatch(r"Training failed \(error ([0-9a-f]{8})\)\. The server's log has the details; "
                            r"press Train to start again\.", end["message"]).group(1)
    assert "secret" not in json.dumps(harness.poll(run_id))
    # ...and the server's log has them under that id.
    logged = [r for r in caplog.records if error_id in r.getMessage()]
    assert logged and "out of memory in /srv/secret/path" in logged[0].exc_text
    assert harness.store.get(run_id).state == "failed"


def test_a_run_left_paused_is_stopped_with_its_history_and_model(harness, monkeypatch):
    monkeypatch.setattr(harness.trainer, "paused_timeout", 0.5)
    run_id = harness.submit(spec(epochs=5000))
    harness.wait_for(run_id, lambda e: e["kind"] == "epoch" and e["epoch"] >= 2, "epoch 2")
    assert harness.runner.control(run_id, Command("pause"))
    paused = harness.wait_for(run_id, lambda e: e["kind"] == "status" and e["state"] == "paused", "paused")
    done = harness.end(run_id)
    assert done["kind"] == "done" and done["state"] == "stopped" and done["epochs"] == paused["epoch"]
    assert done["message"] == ("Stopped after 0.5 seconds paused, to free its place for others. "
                               "Its history and trained model are kept.")
    record = harness.store.get(run_id)
    assert record.state == "stopped" and record.done["message"] == done["message"]
    assert [e["epoch"] for e in record.history] == list(range(1, paused["epoch"] + 1))
    assert harness.store.model(run_id)[:2] == b"PK" and harness.store.active_count() == 0


def test_a_worker_stops_runs_paused_longer_than_the_setting(redis_url, namespace):
    settings = Settings(redis_url=redis_url, paused_run_timeout=42)
    context = worker_context(settings, namespace=namespace, name=f"{namespace}-worker")
    assert context.trainer.paused_timeout == 42
    for connection in (context.redis, context.store, context.bus):
        connection.close()


def test_the_runs_of_a_worker_without_heartbeat_are_failed(redis_url, namespace):
    """What a web replica's watchdog does when a worker vanished (kill -9 is in tests/distributed)."""
    store, bus = RedisRunStore(redis_url, namespace), RedisBus(redis_url, namespace)
    runner = DramatiqRunner(bus, store, make_broker(redis_url, namespace), url=redis_url, namespace=namespace,
                            worker_timeout=0.5)
    keys = Keys(namespace)
    for run_id, worker in (("lost", "gone:1"), ("alive", "here:2")):
        store.create(run_id, "token", "client", spec())
        bus.open(run_id)
        bus.publish(run_id, {"kind": "epoch", "epoch": 1})
        runner.redis.hset(keys.training, run_id, worker)
    runner.redis.set(keys.worker("here:2"), json.dumps({"name": "here:2"}), ex=30)
    runner.redis.sadd(keys.workers, "here:2")

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

    class Recorder:  # a store that notes which runs ended
        def finish(self, run_id, *args, **kwargs):
            ended.append(run_id)
            finished.set()

    trainer = Trainer(RunEnds(Recorder(), MemoryBus()), frames_per_second=20, frame_budget=2)
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


class FlakyStore:
    """A store whose `finish` fails (a full disk, SQLite locked) while `broken` is set."""

    def __init__(self, store):
        self.store, self.broken, self.failures = store, True, 0

    def __getattr__(self, name):
        return getattr(self.store, name)

    def finish(self, *args, **kwargs):
        if self.broken:
            self.failures += 1
            raise OSError(28, "No space left on device", "/srv/secret/runs.sqlite3")
        return self.store.finish(*args, **kwargs)


def test_a_store_that_fails_to_store_the_end_and_the_failure_ends_the_run_and_the_thread_goes_on(tmp_path):
    store, bus = SqliteRunStore(tmp_path), MemoryBus()
    flaky = FlakyStore(store)
    trainer = Trainer(RunEnds(flaky, bus, retry_every=0.2))
    runner = LocalRunner(trainer, threads=1)  # one thread: the next run proves it survived
    harness = Harness(runner, bus, store)
    try:
        first = harness.submit(spec(epochs=5))
        end = harness.end(first)
        assert end["kind"] == "error" and re.match(r"Training failed \(error [0-9a-f]{8}\)", end["message"])
        assert "secret" not in end["message"]
        assert flaky.failures >= 2  # the end, then the failure: both refused
        assert store.get(first).ended is None and store.active_count("client") == 1  # kept in memory
        assert trainer.ends.pending.waiting() == [first]

        flaky.broken = False  # the disk has room again: the kept end is stored
        wait_until(lambda: store.get(first).ended is not None)
        record = store.get(first)
        assert record.state == "failed" and [e["epoch"] for e in record.history] == [1, 2, 3, 4, 5]
        assert store.active_count("client") == 0 and trainer.ends.pending.waiting() == []

        second = harness.submit(spec(epochs=5))
        assert harness.end(second)["state"] == "finished"
        assert store.get(second).state == "finished" and store.model(second)[:2] == b"PK"
    finally:
        runner.shutdown()
        harness.close()
        store.close()


@pytest.fixture
def lab(redis_url, namespace):
    """A web side and one worker in this process, on the session's redis-server."""
    store, bus = RedisRunStore(redis_url, namespace), RedisBus(redis_url, namespace)
    runner = DramatiqRunner(bus, store, make_broker(redis_url, namespace), url=redis_url, namespace=namespace,
                            worker_timeout=0.5)
    settings = Settings(redis_url=redis_url, heartbeat_seconds=0.2, worker_timeout=0.5)
    worker_broker, context, worker = in_process_worker(settings, namespace, 1)
    harness = Harness(runner, bus, store)
    harness.context = context
    yield harness
    harness.close()
    worker.stop(timeout=30_000)
    worker_broker.close()
    runner.close()


def test_a_run_past_dramatiqs_time_limit_ends_as_failed_with_its_epochs(lab):
    raw = spec(epochs=5000)
    run_id = secrets.token_hex(6)
    lab.store.create(run_id, "token", "client", raw)
    lab.bus.open(run_id)
    lab.seen[run_id] = []
    lab.runner.actor.send_with_options(args=(run_id, False), time_limit=1500)  # ms
    lab.wait_for(run_id, lambda e: e["kind"] == "epoch", "the first epoch")
    end = lab.end(run_id)
    assert end["kind"] == "error" and re.match(r"Training failed \(error [0-9a-f]{8}\)", end["message"])
    wait_until(lambda: lab.store.get(run_id).ended is not None)
    record = lab.store.get(run_id)
    assert record.state == "failed" and len(record.history) >= 1
    assert lab.store.active_count("client") == 0
    wait_until(lambda: not lab.runner.redis.hexists(Keys(lab.context.keys.ns).training, run_id))

    after = lab.submit(spec(epochs=5))  # the actor thread goes on
    assert lab.end(after)["state"] == "finished"


def test_a_worker_that_dies_right_after_claiming_a_run_has_it_failed_by_the_watchdog(redis_url, namespace):
    store, bus = RedisRunStore(redis_url, namespace), RedisBus(redis_url, namespace)
    runner = DramatiqRunner(bus, store, make_broker(redis_url, namespace), url=redis_url, namespace=namespace,
                            worker_timeout=0.5)
    context = worker_context(Settings(redis_url=redis_url), namespace=namespace, name="dies:1")

    frozen = threading.Event()

    def hang(run_id):  # as kill -9 right after the claim: nothing more comes from this worker
        frozen.wait(TIMEOUT)
        raise SystemExit("killed")

    context.store.get = hang
    run_id = "claimed"
    store.create(run_id, "token", "client", spec())
    bus.open(run_id)
    dying = threading.Thread(target=lambda: pytest.raises(SystemExit, context.train_run, run_id))
    dying.start()
    wait_until(lambda: runner.redis.get(Keys(namespace).claim(run_id)) == b"dies:1")  # no one else trains it
    assert runner.reap() == [run_id]  # the worker has no heartbeat
    assert store.get(run_id).state == "failed" and store.active_count("client") == 0
    assert bus.replay(run_id)[-1]["kind"] == "error"
    frozen.set()
    dying.join(TIMEOUT)
    runner.close()


@pytest.fixture
def tiny_disk(tmp_path):
    """A 2 MB filesystem of its own (tmpfs) for a data directory. CI runs as root, as this
    machine does: if it cannot be mounted, the test fails rather than skip."""
    path = tmp_path / "tiny"
    path.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs", str(path)], check=True,
                   capture_output=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill(directory) -> Path:
    """Take every free byte of `directory`'s filesystem; returns the file to delete."""
    filler = directory / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        for size in (1 << 16, 4096, 512, 1):
            try:
                while True:
                    os.write(fd, b"\0" * size)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
    finally:
        os.close(fd)
    return filler


def test_a_full_disk_fails_the_run_visibly_and_the_server_trains_again_once_it_has_room(tiny_disk):
    store, bus = SqliteRunStore(tiny_disk), MemoryBus()
    trainer = Trainer(RunEnds(store, bus, retry_every=0.2))
    runner = LocalRunner(trainer, threads=1)
    harness = Harness(runner, bus, store)
    try:
        first = harness.submit(spec(epochs=30), paused=True)
        harness.wait_for(first, lambda e: e["kind"] == "status" and e["state"] == "paused", "paused")
        filler = fill(tiny_disk)
        runner.control(first, Command("resume"))
        end = harness.end(first)
        assert end["kind"] == "error" and re.match(r"Training failed \(error [0-9a-f]{8}\)", end["message"])
        assert str(tiny_disk) not in end["message"]
        assert store.get(first).ended is None and store.active_count("client") == 1  # the end waits for room
        assert trainer.ends.pending.waiting() == [first]

        filler.unlink()
        wait_until(lambda: store.get(first).ended is not None)
        record = store.get(first)
        assert record.state == "failed" and len(record.history) == 30  # what it trained is kept
        assert store.model(first) is None  # never a model cut short by the full disk
        assert store.active_count("client") == 0  # the client may train again

        second = harness.submit(spec(epochs=10))
        assert harness.end(second)["state"] == "finished"
        assert store.get(second).state == "finished" and store.model(second)[:2] == b"PK"
    finally:
        runner.shutdown()
        harness.close()
        store.close()


def test_the_watchdog_waits_for_heartbeats_after_a_redis_restart(tmp_path):
    """Heartbeat keys keep their deadline in the AOF, so a restart longer than the worker
    timeout drops live workers' keys: the watchdog must give them time to beat again."""
    from ..redis_server import RedisServer

    server = RedisServer(tmp_path / "redis").start()  # just (re)started, as after an outage
    store, bus = RedisRunStore(server.url), RedisBus(server.url)
    runner = DramatiqRunner(bus, store, make_broker(server.url), url=server.url, worker_timeout=2)
    keys = Keys()
    try:
        store.create("run", "token", "client", spec())
        bus.open("run")
        runner.redis.hset(keys.training, "run", "alive:1")
        assert runner.reap() == []  # no heartbeat yet, but Redis is younger than the timeout
        assert store.get("run").ended is None
        wait_until(lambda: runner.redis.info("server")["uptime_in_seconds"] >= 2, timeout=10)
        assert runner.reap() == ["run"]  # still silent a whole timeout later: dead
    finally:
        runner.close()
        server.stop()


def test_a_create_refused_by_a_full_disk_leaves_the_store_usable_once_it_has_room(tiny_disk):
    import sqlite3

    store = SqliteRunStore(tiny_disk)
    try:
        filler = fill(tiny_disk)
        with pytest.raises(sqlite3.OperationalError):
            for i in range(200):  # the WAL takes a few pages before the disk says no
                store.create_within(f"run{i}", "token", "client", spec() | {"pad": "x" * 4000},
                                    per_client=None, total=None)
        filler.unlink()
        store.create_within("after", "token", "client", spec(), per_client=None, total=None)
        store.finish("after", "finished", [], None)
        assert store.get("after").state == "finished"
    finally:
        store.close()


def test_ends_a_web_replica_takes_on_are_retried_until_the_store_takes_them(redis_url, namespace):
    """A stop before start and a dead worker's run, while the store fails: each run still ends."""
    store, bus = RedisRunStore(redis_url, namespace), RedisBus(redis_url, namespace)
    flaky = FlakyStore(store)
    runner = DramatiqRunner(bus, flaky, make_broker(redis_url, namespace), url=redis_url, namespace=namespace,
                            worker_timeout=0.01)
    runner.ends = RunEnds(flaky, bus, retry_every=0.2)
    keys = Keys(namespace)
    for run_id in ("queued", "lost"):
        store.create(run_id, "token", "client", spec())
        bus.open(run_id)
    runner.redis.hset(keys.training, "lost", "gone:1")
    try:
        assert runner.control("queued", Command("stop"))  # no worker has it yet
        wait_until(lambda: runner.redis.info("server")["uptime_in_seconds"] >= 1, timeout=10)
        assert runner.reap() == ["lost"]
        assert bus.replay("lost")[-1]["kind"] == "error"  # told at once
        assert store.get("queued").ended is None and flaky.failures >= 2  # not stored yet
        assert [e["kind"] for e in bus.replay("queued")] == []  # `done` waits for its record
        flaky.broken = False
        wait_until(lambda: store.get("queued").ended is not None and store.get("lost").ended is not None)
        wait_until(lambda: bus.replay("queued") and bus.replay("queued")[-1]["kind"] == "done")
        assert store.get("queued").state == "stopped" and store.get("lost").state == "failed"
        assert store.active_count("client") == 0
    finally:
        runner.close()
