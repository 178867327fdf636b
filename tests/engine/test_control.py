"""Pause, resume, step, stop and learning-rate commands, as a driver thread sees them."""

import threading

import pytest

from keras_playground.engine.control import Command, QueueControl, drive
from keras_playground.engine.session import TrainingSession

TIMEOUT = 60


class Recorder:
    """Collects events; lets a test wait for one that matches."""

    def __init__(self):
        self.events, self._cond = [], threading.Condition()

    def __call__(self, event):
        with self._cond:
            self.events.append(event)
            self._cond.notify_all()

    def wait_for(self, predicate):
        with self._cond:
            assert self._cond.wait_for(lambda: any(predicate(e) for e in self.events), TIMEOUT)
        return next(e for e in self.events if predicate(e))

    def epochs(self):
        return [e.epoch for e in self.events if e.kind == "epoch"]


def start(session, **kwargs):
    control, recorder = QueueControl(), Recorder()
    result = {}
    thread = threading.Thread(target=lambda: result.setdefault("done", drive(session, control, recorder, **kwargs)))
    thread.start()
    return control, recorder, thread, result


def test_runs_to_the_end_without_commands(spec_factory):
    control, recorder, thread, result = start(TrainingSession(spec_factory(epochs=6)))
    thread.join(TIMEOUT)
    assert recorder.epochs() == [1, 2, 3, 4, 5, 6]
    assert recorder.events[0].kind == "status" and recorder.events[0].state == "running"
    assert recorder.events[-1].kind == "done" and result["done"].state == "finished"


def test_step_trains_exactly_one_epoch_at_a_time_while_paused(spec_factory):
    control, recorder, thread, result = start(TrainingSession(spec_factory(epochs=50)), start_paused=True,
                                              paused_poll_seconds=0.05)
    recorder.wait_for(lambda e: e.kind == "status" and e.state == "paused")
    control.send(Command("step"))
    recorder.wait_for(lambda e: e.kind == "epoch" and e.epoch == 1)
    control.send(Command("step"))
    recorder.wait_for(lambda e: e.kind == "epoch" and e.epoch == 2)
    control.send(Command("stop"))
    thread.join(TIMEOUT)
    assert recorder.epochs() == [1, 2]
    assert result["done"].state == "stopped" and result["done"].epochs == 2


def test_pause_holds_and_resume_continues_to_the_end(spec_factory):
    session = TrainingSession(spec_factory(epochs=400))
    control, recorder, thread, result = start(session, paused_poll_seconds=0.05)
    recorder.wait_for(lambda e: e.kind == "epoch" and e.epoch >= 3)
    control.send(Command("pause"))
    paused = recorder.wait_for(lambda e: e.kind == "status" and e.state == "paused")
    held = len(recorder.epochs())
    # Paused: no epoch arrives while we send a harmless command and wait for its effect.
    control.send(Command("learning_rate", 0.005))
    thread.join(0.5)
    assert len(recorder.epochs()) == held and thread.is_alive()
    control.send(Command("resume"))
    thread.join(TIMEOUT)
    assert recorder.epochs() == list(range(1, 401))
    assert result["done"].state == "finished"
    later = [e for e in recorder.events if e.kind == "epoch" and e.epoch > held]
    assert later[0].learning_rate == pytest.approx(0.005)
    assert paused.epoch == held


def test_stop_ends_a_running_run_with_its_figures(spec_factory):
    control, recorder, thread, result = start(TrainingSession(spec_factory(epochs=5000)))
    recorder.wait_for(lambda e: e.kind == "epoch" and e.epoch >= 2)
    control.send(Command("stop"))
    thread.join(TIMEOUT)
    done = result["done"]
    assert done.state == "stopped" and done.epochs < 5000
    assert done.test_metric is not None and done.loss is not None
    assert recorder.events[-2].kind == "frame"  # the final weights are shown


def test_cancellation_reaches_a_paused_run(spec_factory):
    cancelled = threading.Event()
    control, recorder, thread, result = start(TrainingSession(spec_factory(epochs=50)), start_paused=True,
                                              paused_poll_seconds=0.05, is_cancelled=cancelled.is_set)
    recorder.wait_for(lambda e: e.kind == "status")
    cancelled.set()
    thread.join(TIMEOUT)
    assert result["done"].state == "stopped" and result["done"].epochs == 0


def test_a_run_left_paused_is_stopped_keeping_what_it_trained(spec_factory):
    session = TrainingSession(spec_factory(epochs=5000))
    control, recorder, thread, result = start(session, paused_poll_seconds=0.05, paused_timeout=0.3)
    recorder.wait_for(lambda e: e.kind == "epoch" and e.epoch >= 2)
    control.send(Command("pause"))
    paused = recorder.wait_for(lambda e: e.kind == "status" and e.state == "paused")
    thread.join(TIMEOUT)
    done = result["done"]
    assert done.state == "stopped" and done.epochs == paused.epoch == len(session.history)
    assert done.message == ("Stopped after 0.3 seconds paused, to free its place for others. "
                            "Its history and trained model are kept.")
    assert done.test_metric is not None and recorder.events[-1] == done


def test_a_run_started_paused_and_never_stepped_is_stopped(spec_factory):
    control, recorder, thread, result = start(TrainingSession(spec_factory(epochs=50)), start_paused=True,
                                              paused_poll_seconds=0.05, paused_timeout=0.3)
    thread.join(TIMEOUT)
    done = result["done"]
    assert done.state == "stopped" and done.epochs == 0 and recorder.epochs() == []
    assert done.message == "Stopped after 0.3 seconds paused, to free its place for others."


def test_a_step_restarts_the_paused_clock_and_minutes_are_told_as_minutes(spec_factory):
    now = [0.0]  # seconds, advanced by the test
    control, recorder, thread, result = start(TrainingSession(spec_factory(epochs=50)), start_paused=True,
                                              paused_poll_seconds=0.02, paused_timeout=900,
                                              clock=lambda: now[0])
    recorder.wait_for(lambda e: e.kind == "status" and e.state == "paused")
    now[0] = 600.0
    control.send(Command("step"))
    recorder.wait_for(lambda e: e.kind == "epoch" and e.epoch == 1)
    now[0] = 1200.0  # 20 minutes since the start, 10 since the step
    thread.join(0.3)
    assert thread.is_alive()
    now[0] = 1500.0  # 15 minutes since the step
    thread.join(TIMEOUT)
    done = result["done"]
    assert done.state == "stopped" and done.epochs == 1
    assert done.message.startswith("Stopped after 15 minutes paused")


def test_a_running_run_is_never_stopped_for_the_paused_timeout(spec_factory):
    now = [0.0]
    control, recorder, thread, result = start(TrainingSession(spec_factory(epochs=20)), paused_poll_seconds=0.02,
                                              paused_timeout=1, clock=lambda: now[0])
    now[0] = 10_000.0
    thread.join(TIMEOUT)
    assert result["done"].state == "finished" and result["done"].message is None
    assert recorder.epochs() == list(range(1, 21))
