"""The local runner shares the frame budget among the runs training at once."""

import threading
import time

from keras_playground.engine.control import Command
from keras_playground.jobs.bus import MemoryBus
from keras_playground.jobs.runner import LocalRunner
from keras_playground.specs import parse_spec

SPEC = parse_spec({"dataset": {"name": "line", "n_train": 40, "n_val": 10, "n_test": 10},
                   "training": {"epochs": 5000, "batch_size": 8}})


def wait_until(predicate, timeout=60):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached within the timeout"
        time.sleep(0.01)


def test_runs_training_together_share_the_frame_budget():
    finished = threading.Event()
    ended = []

    def on_finish(run_id, done, session):
        ended.append(run_id)
        finished.set()

    runner = LocalRunner(MemoryBus(), on_finish, threads=4, frames_per_second=20, frame_budget=2)
    try:
        runner.submit("a", SPEC)
        runner.submit("b", SPEC)
        wait_until(lambda: len(runner._training) == 2)
        wait_until(lambda: all(s.max_frames_per_second == 1.0 for s in runner._training.values()))
        runner.control("a", Command("stop"))
        assert finished.wait(60) and ended == ["a"]
        wait_until(lambda: list(runner._training) == ["b"])
        assert runner._training["b"].max_frames_per_second == 2.0
        runner.control("b", Command("stop"))
        wait_until(lambda: ended == ["a", "b"])
    finally:
        runner.shutdown()
