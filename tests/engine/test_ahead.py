"""Epochs trained ahead: a cohort's member asks for the epochs after its own too, trained
while it publishes its own (`cohort_lane.train_ahead`). Each must be the epoch the member
would have asked for, in the order its run shuffles in, at the rate it has then."""

import threading

import pytest

from keras_playground.engine import cohort as cohort_module
from keras_playground.engine.cohort import Cohorts
from keras_playground.engine.control import Command, drive
from keras_playground.engine.pool import ProgramPool
from keras_playground.engine.session import TrainingSession

from .conftest import make_spec
from .test_cohort import LAYERS, TOLERANCE, ScriptedControl, difference


def drive_all(sessions, scripts) -> None:
    errors = []

    def run(session, script):
        control = ScriptedControl(dict(script))
        control.session = session
        try:
            drive(session, control, lambda event: None, paused_poll_seconds=0.05)
        except BaseException as exc:  # surfaced below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=pair) for pair in zip(sessions, scripts)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors


def test_members_shuffling_and_changing_their_rate_end_as_they_would_alone(monkeypatch):
    """Three members shuffling their sets, two of them changing the rate between epochs
    trained ahead (so those are dropped and asked for again): each ends with the weights
    and losses of the same run trained alone, under the same commands."""
    epochs = 12
    specs = [make_spec({"seed": 3 + k}, layers=LAYERS, epochs=epochs, shuffle=True, seed=5 + k,
                       optimizer="adam", learning_rate=0.02 * (1 + 0.5 * k)) for k in range(3)]
    scripts = [{2: [Command("learning_rate", value=0.004)]},  # after epoch 2: 3 and 4 were trained ahead
               {},
               {7: [Command("learning_rate", value=0.05)]}]
    asks = {}
    original = cohort_module.Cohort.train

    def counted(self, member, request, solo):
        asks[id(member)] = asks.get(id(member), 0) + 1
        return original(self, member, request, solo)

    monkeypatch.setattr(cohort_module.Cohort, "train", counted)
    cohorts, pool = Cohorts(compile_in_background=False), ProgramPool()
    together = [TrainingSession(spec, cohorts=cohorts, pool=pool) for spec in specs]
    drive_all(together, scripts)
    alone = [TrainingSession(spec, cohorts=None, pool=pool) for spec in specs]
    drive_all(alone, scripts)

    untouched = together[1]
    assert asks[id(untouched)] <= epochs // 2  # it took most of its epochs as trained ahead
    assert cohorts.figures()["member_epochs"] > cohorts.figures()["calls"]  # in calls of several
    for ours, theirs in zip(together, alone):
        assert ours.epoch == theirs.epoch == epochs
        assert [e.learning_rate for e in ours.history] == [e.learning_rate for e in theirs.history]
        assert [e.loss for e in ours.history] == pytest.approx([e.loss for e in theirs.history], abs=TOLERANCE)
        assert difference(ours.model.get_weights(), theirs.model.get_weights()) <= TOLERANCE
    assert together[0].history[2].learning_rate == pytest.approx(0.004)  # epoch 3 at the new rate
