"""Warm lessons: a step's programs are traced before its class presses Train, so the
class's first epochs trace nothing."""

import threading

from keras_playground.backends import warm_lessons
from keras_playground.classroom.lessons import load_lessons
from keras_playground.config import Settings
from keras_playground.engine.cohort import Cohorts
from keras_playground.engine.pool import ProgramPool
from keras_playground.engine.session import TrainingSession
from keras_playground.engine.warm import Warmer
from keras_playground.specs import Limits

from .conftest import make_spec


def test_a_warmed_step_trains_its_first_epochs_without_tracing():
    pool, cohorts = ProgramPool(tiered=False), Cohorts(compile_in_background=False)
    step = make_spec(layers=[{"units": 8, "activation": "tanh"}], epochs=3)
    other = make_spec(layers=[{"units": 3, "activation": "relu"}], epochs=3)
    warmer = Warmer([step, other, step], pool=pool, cohorts=cohorts).start()
    assert warmer.done.wait(120)
    assert (warmer.warmed, warmer.failed) == (2, 0)  # the repeated step is warmed once
    assert pool.created == 2

    cohort = TrainingSession(step, pool=pool, cohorts=cohorts)._cohort
    assert list(cohort._traced) == [32]  # traced for any class size
    stacked = cohort._traced[32]
    assert len(stacked._concrete) == 1

    # A class of three on the warmed step: the stacked program is not traced again.
    members = [make_spec(layers=[{"units": 8, "activation": "tanh"}], epochs=3, seed=s) for s in (11, 12, 13)]
    sessions = [TrainingSession(spec, pool=pool, cohorts=cohorts) for spec in members]

    def train(session):
        session.start_events()
        while not session.finished:
            session.train_epoch()

    threads = [threading.Thread(target=train, args=(s,)) for s in sessions]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert all(s.epoch == 3 for s in sessions)
    assert cohorts.figures()["member_epochs"] > 0  # they did meet in the cohort
    assert list(cohort._traced) == [32] and len(stacked._concrete) == 1


def test_the_server_warms_every_lesson_step_unless_told_not_to():
    assert warm_lessons(Settings(warm_lessons=False)) is None
    warmer = warm_lessons(Settings(warm_lessons=True))
    try:
        steps = sum(len(lesson.steps) for lesson in load_lessons(Limits()))
        assert len(warmer.specs) == steps
    finally:
        warmer.stop()
    assert warmer.done.is_set() or not warmer._thread.is_alive()
