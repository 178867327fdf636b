"""Cohorts: runs of one architecture train their epochs in one stacked call, and each member
ends with the weights its own `model.fit(shuffle=False)` gives.

The members here differ in everything a member may own: training seed (initial weights),
data seed, learning rate. Each trains on its own thread, as the runners train runs.
"""

import base64
import threading

import numpy as np
import pytest

from keras_playground.bench.engine import fit_inputs
from keras_playground.engine import cohort as cohort_module
from keras_playground.engine.cohort import Cohorts
from keras_playground.engine.control import Command, drive
from keras_playground.engine.pool import ProgramPool
from keras_playground.engine.session import TrainingSession
from keras_playground.engine.stacked import stackable
from keras_playground.engine.tiers import COMPILER
from keras_playground.engine.warm import warm_session

from .conftest import make_spec

TOLERANCE = 1e-5  # float32 round-off: the stacked sums run in another order (measured 1e-7 to 2e-6)

LAYERS = [{"units": 8, "activation": "tanh"}, {"units": 5, "activation": "relu"}]
CASES = {
    "binary-sgd": dict(optimizer="sgd", learning_rate=0.1),
    "binary-sgd-momentum-l2": dict(optimizer="sgd", learning_rate=0.05, momentum=0.9,
                                   regularization="l2", regularization_rate=0.01),
    "binary-adam": dict(optimizer="adam", learning_rate=0.02),
    "binary-rmsprop-l1": dict(optimizer="rmsprop", learning_rate=0.01, regularization="l1", regularization_rate=0.001),
    "multiclass-adam": dict(optimizer="adam", learning_rate=0.02, dataset={"name": "blobs", "params": {"classes": 3}}),
    "regression-adagrad": dict(optimizer="adagrad", learning_rate=0.1, dataset={"name": "plane"}),
    "partial-last-batch-sgd": dict(optimizer="sgd", learning_rate=0.1, dataset={"n_train": 103}),
}


def member_specs(case: dict, epochs: int, members: int = 3):
    """`members` specs of one architecture that differ in seed, data and learning rate."""
    options = dict(case)
    dataset = options.pop("dataset", {})
    rate = options.pop("learning_rate")
    return [make_spec({**dataset, "seed": 3 + k}, layers=LAYERS, epochs=epochs, shuffle=False,
                      seed=5 + k, learning_rate=rate * (1 + 0.5 * k), **options) for k in range(members)]


def solo_fit(spec, learning_rates=None):
    """The run trained alone by Keras's model.fit; `learning_rates`: one per epoch (as the
    run's history recorded them), fitted epoch by epoch with the rate set in between."""
    session = TrainingSession(spec, cohorts=None)
    x, y, xv, yv = fit_inputs(session)
    model = session.model
    if learning_rates is None:
        history = model.fit(x, y, batch_size=spec.training.batch_size, epochs=spec.training.epochs,
                            shuffle=False, validation_data=(xv, yv), verbose=0).history
        return model.get_weights(), history
    history = {}
    for rate in learning_rates:
        model.optimizer.learning_rate.assign(rate)
        epoch = model.fit(x, y, batch_size=spec.training.batch_size, epochs=1, shuffle=False,
                          validation_data=(xv, yv), verbose=0).history
        for name, values in epoch.items():
            history.setdefault(name, []).extend(values)
    return model.get_weights(), history


def difference(ours, theirs) -> float:
    return max(float(np.max(np.abs(a - b))) for a, b in zip(ours, theirs))


def train_together(specs, cohorts, pool=None):
    pool = pool or ProgramPool()
    sessions = [TrainingSession(spec, cohorts=cohorts, pool=pool, max_frames_per_second=None) for spec in specs]
    errors = []

    def train(session):
        try:
            session.start_events()
            while not session.finished:
                session.train_epoch()
        except BaseException as exc:  # surfaced below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=train, args=(s,)) for s in sessions]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors
    return sessions


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_each_member_of_a_cohort_ends_with_its_own_model_fit_weights(case):
    epochs = 12
    specs = member_specs(CASES[case], epochs)
    assert all(stackable(s) for s in specs)
    cohorts = Cohorts(compile_in_background=False)
    sessions = train_together(specs, cohorts)
    figures = cohorts.figures()
    # They trained together: most member-epochs ran in stacked calls of several members.
    assert figures["member_epochs"] >= len(specs) * epochs * 0.8
    assert figures["member_epochs"] > figures["calls"]
    metric = "mae" if sessions[0].kind == "regression" else "accuracy"
    for spec, session in zip(specs, sessions):
        weights, history = solo_fit(spec)
        assert session.epoch == epochs
        assert difference(session.model.get_weights(), weights) <= TOLERANCE
        for epoch in (0, epochs - 1):
            event = session.history[epoch]
            assert event.loss == pytest.approx(history["loss"][epoch], abs=TOLERANCE)
            assert event.metric == pytest.approx(history[metric][epoch], abs=TOLERANCE)
            assert event.val_loss == pytest.approx(history["val_loss"][epoch], abs=TOLERANCE)
            assert event.val_metric == pytest.approx(history[f"val_{metric}"][epoch], abs=TOLERANCE)


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_members_untrained_networks_are_their_solo_epoch_zero(case):
    """Epoch 0 of members starting together (one stacked epoch at learning rate zero) tells
    what a run alone tells: its untrained network's loss and metric on both sets (as
    `model.evaluate` gives them) and the frame of its untrained weights, pixel for pixel.
    So a rule whose step at rate zero were not zero would show here."""
    specs = member_specs(CASES[case], epochs=3)
    cohorts, pool = Cohorts(compile_in_background=False), ProgramPool()
    sessions = [TrainingSession(spec, cohorts=cohorts, pool=pool, max_frames_per_second=None) for spec in specs]
    told = {}
    threads = [threading.Thread(target=lambda s=s: told.__setitem__(id(s), s.start_events())) for s in sessions]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert cohorts.figures()["calls"] == 1  # all three in one call
    for spec, session in zip(specs, sessions):
        start, frame = told[id(session)]
        alone_start, alone_frame = TrainingSession(spec, cohorts=None).start_events()
        for name in ("loss", "metric", "val_loss", "val_metric"):
            assert getattr(start, name) == pytest.approx(getattr(alone_start, name), abs=TOLERANCE), name
        assert frame.epoch == alone_frame.epoch == 0
        assert frame.boundary == alone_frame.boundary
        assert frame.neurons == alone_frame.neurons


def test_members_frames_show_their_own_networks(monkeypatch):
    """A frame drawn in a stacked call is the member's own boundary and neuron maps: the
    same as its solo program draws for the same weights."""
    frames = {}
    original = TrainingSession._frame

    def remembered(self, probe, index):
        frame = original(self, probe, index)
        frames.setdefault(id(self), []).append(frame)
        return frame

    monkeypatch.setattr(TrainingSession, "_frame", remembered)
    specs = member_specs(CASES["binary-adam"], epochs=4, members=2)
    cohorts = Cohorts(compile_in_background=False)
    sessions = train_together(specs, cohorts)
    assert cohorts.figures()["member_epochs"] >= 6  # most epochs (and their frames) were stacked
    for session in sessions:
        last = frames[id(session)][-1]
        assert last.epoch == 4
        with session._borrow() as program:  # the same weights through the solo program's probe
            program.load(session._state)
            boundary, maps, _ = program.probe(*session._probe[1])
        assert base64.b64decode(last.boundary) == boundary.numpy().tobytes()
        assert [[base64.b64decode(unit) for unit in layer] for layer in last.neurons] == \
            [[unit.tobytes() for unit in layer.numpy()] for layer in maps]
    assert frames[id(sessions[0])][-1].boundary != frames[id(sessions[1])][-1].boundary


class ScriptedControl:
    """Commands at given epochs of the session it drives: {epoch: [commands]}; while
    paused, each poll takes the next command of `while_paused`."""

    def __init__(self, at_epoch: dict, while_paused: list | None = None):
        self.at_epoch, self.while_paused = at_epoch, list(while_paused or [])
        self.session = None
        self.polls_paused = 0

    def next(self, timeout):
        pending = self.at_epoch.pop(self.session.epoch, None)
        if pending:
            first, *rest = pending
            if rest:
                self.at_epoch[self.session.epoch] = rest
            return first
        if timeout:  # polled while paused: the others train meanwhile
            self.polls_paused += 1
            threading.Event().wait(0.05)
            if self.polls_paused > 3 and self.while_paused:
                return self.while_paused.pop(0)
        return None


def test_pause_step_rate_and_stop_of_one_member_leave_the_others_untouched():
    epochs = 14
    specs = member_specs(CASES["binary-adam"], epochs, members=4)
    controls = [
        # Paused after 4 epochs; two single steps while paused; then resumed.
        ScriptedControl({4: [Command("pause")]}, [Command("step"), Command("step"), Command("resume")]),
        ScriptedControl({5: [Command("learning_rate", value=0.003)]}),  # after epoch 5
        ScriptedControl({6: [Command("stop")]}),  # stopped after 6 epochs
        ScriptedControl({}),  # untouched
    ]
    cohorts = Cohorts(compile_in_background=False)
    pool = ProgramPool()
    sessions = [TrainingSession(spec, cohorts=cohorts, pool=pool) for spec in specs]
    done, errors = {}, []

    def run(k):
        controls[k].session = sessions[k]
        try:
            done[k] = drive(sessions[k], controls[k], lambda event: None, paused_poll_seconds=0.05)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors
    paused, rate_changed, stopped, untouched = sessions
    assert [done[k].state for k in range(4)] == ["finished", "finished", "stopped", "finished"]
    assert stopped.epoch == 6 and untouched.epoch == epochs
    # The command came after epoch 5: epoch 6 trained with the new rate.
    assert [e.learning_rate for e in rate_changed.history[4:6]] == pytest.approx([0.03, 0.003])
    assert cohorts.figures()["member_epochs"] > cohorts.figures()["calls"]  # they did train together

    for spec, session in zip(specs, sessions):
        spec = spec.model_copy(deep=True)
        spec.training.epochs = session.epoch
        weights, _ = solo_fit(spec, [e.learning_rate for e in session.history])
        assert difference(session.model.get_weights(), weights) <= TOLERANCE


def test_a_cohort_switches_to_its_xla_program_and_stays_within_round_off_of_fit():
    specs = member_specs(CASES["binary-sgd"], epochs=40, members=2)
    cohorts = Cohorts()  # compiles with XLA in the background
    sessions = train_together(specs, cohorts)
    assert COMPILER.wait_idle(120)
    assert sessions[0]._cohort.tier(2) == "xla"
    more = [s.model_copy(deep=True) for s in specs]
    for spec in more:
        spec.training.epochs = 60
    sessions = train_together(more, cohorts)
    for spec, session in zip(more, sessions):
        weights, _ = solo_fit(spec)
        assert difference(session.model.get_weights(), weights) <= TOLERANCE


def test_a_cohorts_xla_program_compiles_the_traced_graph_without_tracing_again(monkeypatch):
    """The XLA tier is the traced program's own graph handed to XLA: the Python epoch is
    traced once per capacity, not once more for the compile (half a second of GIL, with a
    class waiting on it)."""
    from keras_playground.engine.stacked import StackedProgram

    traces = []
    epoch = StackedProgram._epoch

    def counted(self, *args):
        traces.append((self.capacity, self.jit_compile))
        return epoch(self, *args)

    monkeypatch.setattr(StackedProgram, "_epoch", counted)
    specs = member_specs(CASES["binary-adam"], epochs=12, members=2)
    cohorts = Cohorts()
    sessions = train_together(specs, cohorts)
    assert COMPILER.wait_idle(120)
    assert sessions[0]._cohort.tier(2) == "xla"
    assert traces == [(2, False)]
    for spec, session in zip(specs, train_together([s.model_copy(deep=True) for s in specs], cohorts)):
        weights, _ = solo_fit(spec)  # on the XLA program from the first epoch
        assert difference(session.model.get_weights(), weights) <= TOLERANCE
    assert traces == [(2, False)]


def test_a_member_whose_thread_is_interrupted_mid_ask_leaves_no_one_waiting():
    """An exception raised into an asking thread (dramatiq's time limit does that) takes
    its ask back and passes on the lead it was given: the others are still answered."""
    import ctypes
    import time

    from keras_playground.engine.cohort import Cohort

    class Member:  # cohorts hold members weakly, by identity
        pass

    cohort = Cohort({}, max_members=1)  # one member a call: B is told to lead the next one
    a, b, c = Member(), Member(), Member()
    results, raised = {}, []

    def slow(request):
        time.sleep(0.3)
        return request["name"], None

    def ask(member, name):
        try:
            results[name] = cohort.train(member, {"name": name}, slow)
        except TimeoutError:
            raised.append(name)

    threads = {name: threading.Thread(target=ask, args=(m, name)) for name, m in (("a", a), ("b", b), ("c", c))}
    threads["a"].start()
    time.sleep(0.1)  # a leads its call; b, then c ask meanwhile
    threads["b"].start()
    time.sleep(0.05)
    threads["c"].start()
    time.sleep(0.05)
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(threads["b"].ident), ctypes.py_object(TimeoutError))
    for t in threads.values():
        t.join(10)
    assert not any(t.is_alive() for t in threads.values())
    assert raised == ["b"] and results == {"a": ("a", None), "c": ("c", None)}


@pytest.fixture
def solo_calls(monkeypatch):
    """(training seed, epoch) of every epoch trained on a run's solo program."""
    calls = []
    solo = TrainingSession._solo

    def counted(self, request):
        calls.append((self.spec.training.seed, self.epoch))
        return solo(self, request)

    monkeypatch.setattr(TrainingSession, "_solo", counted)
    return calls


def test_a_run_left_alone_stays_on_the_stacked_program_for_a_while_then_goes_solo(monkeypatch, solo_calls):
    """Two members end after 5 epochs, the third trains 7 more alone: its first
    `SOLO_AFTER` epochs alone stay on the cohort's stacked program (no solo program traced
    for a straggler), the rest go to its solo program; its weights are its model.fit's."""
    monkeypatch.setattr(cohort_module, "SOLO_AFTER", 3)
    specs = member_specs(CASES["binary-adam"], epochs=5)
    specs[2].training.epochs = 12
    cohorts = Cohorts(compile_in_background=False)
    sessions = train_together(specs, cohorts)
    long_run = specs[2].training.seed
    assert sessions[2].epoch == 12
    # 7 epochs alone: 3 stacked, then 4 solo; a call more or less if a short member missed
    # the gather once (alone for a call, or a call behind to the end). All 7 solo, or none,
    # would be wrong.
    assert 2 <= [seed for seed, _ in solo_calls].count(long_run) <= 5
    # They trained together (a loaded machine may send a member's first epoch solo).
    assert cohorts.figures()["member_epochs"] > cohorts.figures()["calls"]
    for spec, session in zip(specs, sessions):
        weights, _ = solo_fit(spec)
        assert difference(session.model.get_weights(), weights) <= TOLERANCE


def test_a_run_alone_from_the_start_trains_solo_even_where_a_program_is_warm(solo_calls):
    """A warmed cohort holds a stacked program for 32 members; a run that trains alone
    from its start goes to its own solo program (faster alone), not to that one."""
    spec = member_specs(CASES["binary-sgd"], epochs=4, members=1)[0]
    cohorts, pool = Cohorts(compile_in_background=False), ProgramPool()
    warm_session(TrainingSession(spec, cohorts=cohorts, pool=pool))
    [session] = train_together([spec], cohorts, pool)
    assert [epoch for _, epoch in solo_calls] == [1, 2, 3, 4]
    weights, _ = solo_fit(spec)
    assert difference(session.model.get_weights(), weights) <= TOLERANCE
