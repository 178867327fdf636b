"""Tiered compilation: a run starts on the traced epoch at once, moves to the XLA epoch
when the background compiler has built it, stays within 1e-5 of model.fit on it, and
keeps training on the traced tier when XLA cannot compile its architecture."""

import logging
import threading
import time
from contextlib import contextmanager

import numpy as np
import pytest

from keras_playground.bench.engine import fit_inputs
from keras_playground.data import validate_spec
from keras_playground.engine.pool import ProgramPool
from keras_playground.engine.session import TrainingSession
from keras_playground.engine.tiers import TierCompiler
from keras_playground.specs import Limits

COMPILE_TIMEOUT = 180.0  # seconds: a compile takes 1-4 s on 2 busy cores


class RecordingPool(ProgramPool):
    """A pool that notes the tier of the program each trained epoch ran on."""

    def __init__(self, **options):
        super().__init__(**options)
        self.epoch_tiers: list[str] = []

    @contextmanager
    def borrow(self, key, factory):
        with super().borrow(key, factory) as program:
            before = program.epochs_run
            yield program
            if program.epochs_run > before:
                self.epoch_tiers.append(program.tier)


def train(session):
    while not session.finished:
        session.train_epoch()
    return session


def largest_difference(a, b):
    return max(float(np.max(np.abs(x - y))) for x, y in zip(a, b))


OPTIMIZERS = {
    "sgd-momentum": dict(optimizer="sgd", learning_rate=0.05, momentum=0.9),
    "adam": dict(optimizer="adam"),
    "rmsprop-l2": dict(optimizer="rmsprop", regularization="l2", regularization_rate=0.01),
    "adagrad": dict(optimizer="adagrad", learning_rate=0.1),
}


@pytest.mark.parametrize("case", OPTIMIZERS, ids=list(OPTIMIZERS))
def test_twenty_epochs_on_the_xla_tier_stay_within_1e_5_of_model_fit(spec_factory, case):
    layers = [{"units": 8, "activation": "tanh"}, {"units": 5, "activation": "relu"}]
    spec = spec_factory(layers=layers, epochs=20, shuffle=False, **OPTIMIZERS[case])
    pool = RecordingPool(compiler=TierCompiler())
    first = TrainingSession(spec_factory(layers=layers, seed=11, epochs=1, **OPTIMIZERS[case]), pool=pool)
    first.train_epoch()  # its program coming back asks for the XLA tier
    assert pool.wait_for_tier(first.key, COMPILE_TIMEOUT) == "xla"

    ours = train(TrainingSession(spec, pool=pool))
    assert ours.key == first.key and pool.epoch_tiers == ["traced"] + ["xla"] * 20
    theirs = TrainingSession(spec, pool=ProgramPool(tiered=False))
    x, y, xv, yv = fit_inputs(theirs)
    history = theirs.model.fit(x, y, batch_size=10, epochs=20, shuffle=False,
                               validation_data=(xv, yv), verbose=0).history
    assert largest_difference(ours.model.get_weights(), theirs.model.get_weights()) <= 1e-5
    assert [e.loss for e in ours.history] == pytest.approx(history["loss"], abs=1e-5)
    assert [e.val_loss for e in ours.history] == pytest.approx(history["val_loss"], abs=1e-5)


def test_a_run_starts_traced_without_waiting_and_switches_to_xla_when_it_is_ready(spec_factory):
    compiler = TierCompiler()
    compiler.pause()  # a compile that takes as long as the test wants
    pool = RecordingPool(compiler=compiler)
    spec = spec_factory(epochs=6, shuffle=True)
    session = TrainingSession(spec, pool=pool)
    session.train_epoch()
    session.train_epoch()
    assert pool.epoch_tiers == ["traced", "traced"]  # trained while XLA had not even started
    assert pool.tier(session.key) == "compiling"

    compiler.resume()
    assert pool.wait_for_tier(session.key, COMPILE_TIMEOUT) == "xla"
    train(session)
    assert pool.epoch_tiers == ["traced"] * 2 + ["xla"] * 4
    assert session.state == "finished" and session.epoch == 6

    # The switch is invisible: the same run traced throughout ends within 1e-5.
    alone = train(TrainingSession(spec, pool=ProgramPool(tiered=False)))
    assert largest_difference(session.model.get_weights(), alone.model.get_weights()) <= 1e-5
    assert not np.array_equal(session.model.get_weights()[0], TrainingSession(spec).model.get_weights()[0])


def test_a_run_lent_the_traced_program_meanwhile_finishes_and_the_traced_program_retires(spec_factory):
    pool = RecordingPool(compiler=TierCompiler())
    a = TrainingSession(spec_factory(epochs=4, seed=1), pool=pool)
    a.train_epoch()
    assert pool.wait_for_tier(a.key, COMPILE_TIMEOUT) == "xla"
    assert pool.programs() == 1  # the idle traced program was dropped for the XLA one
    train(a)
    assert pool.epoch_tiers == ["traced", "xla", "xla", "xla"]


def test_an_architecture_xla_cannot_compile_stays_traced_and_its_runs_finish(caplog):
    # Random rotation is ImageProjectiveTransformV3, which XLA's CPU backend does not have.
    spec = validate_spec({"dataset": {"name": "digits", "params": {"canvas": 16}, "n_train": 48, "n_val": 16,
                                      "n_test": 16},
                          "layers": [{"type": "conv2d", "filters": 2}, {"type": "flatten"}],
                          "training": {"epochs": 3, "batch_size": 16, "augment": {"rotate": 20.0}}}, Limits())
    compiler = TierCompiler()
    pool = RecordingPool(compiler=compiler, compile_when=lambda program: True)  # try even images
    caplog.set_level(logging.WARNING, logger="keras_playground.engine.tiers")
    session = TrainingSession(spec, pool=pool, max_frames_per_second=None)
    session.train_epoch()
    assert pool.wait_for_tier(session.key, COMPILE_TIMEOUT) == "traced"
    train(session)
    assert session.state == "finished" and session.epoch == 3
    assert pool.epoch_tiers == ["traced"] * 3
    assert session.done_event().test_metric is not None

    # Never tried again, by this pool or another: logged once.
    other_pool = RecordingPool(compiler=compiler, compile_when=lambda program: True)
    again = train(TrainingSession(spec, pool=other_pool, max_frames_per_second=None))
    assert other_pool.wait_for_tier(again.key, 1.0) == "traced" and other_pool.epoch_tiers == ["traced"] * 3
    assert compiler.compiled == 0
    warnings = [r for r in caplog.records if "XLA" in r.getMessage()]
    assert len(warnings) == 1 and "ImageProjectiveTransform" in warnings[0].getMessage()


def test_the_compiler_builds_one_program_at_a_time_in_the_order_asked_and_once_per_key():
    compiler = TierCompiler()
    compiler.pause()
    active, most_active, order = [0], [0], []
    lock = threading.Lock()

    def build(name):
        def compile_it():
            with lock:
                active[0] += 1
                most_active[0] = max(most_active[0], active[0])
            time.sleep(0.05)
            with lock:
                active[0] -= 1
            order.append(name)
            return name
        return compile_it

    delivered = []
    asked = [compiler.submit(name, build(name), delivered.append, owner="pool")
             for name in ("a", "b", "a", "c")]
    compiler.resume()
    assert compiler.wait_idle(10)
    assert asked == [True, True, False, True]  # "a" was queued already
    assert most_active[0] == 1 and order == ["a", "b", "c"] and delivered == ["a", "b", "c"]
    assert compiler.compiled == 3


def test_a_pool_without_tiers_never_compiles(spec_factory):
    compiler = TierCompiler()
    pool = RecordingPool(compiler=compiler, tiered=False)
    session = train(TrainingSession(spec_factory(epochs=3), pool=pool))
    assert pool.wait_for_tier(session.key, 0.1) == "traced"
    assert compiler.wait_idle(1) and compiler.compiled == 0 and pool.epoch_tiers == ["traced"] * 3


def test_past_its_budget_the_compiler_refuses_and_new_architectures_train_traced(spec_factory, caplog):
    # TensorFlow keeps every XLA program for good: a budget bounds what the tier holds.
    compiler = TierCompiler(max_programs=1)
    pool = RecordingPool(compiler=compiler)
    first = train(TrainingSession(spec_factory(epochs=3), pool=pool))
    assert pool.wait_for_tier(first.key, COMPILE_TIMEOUT) == "xla"
    with caplog.at_level(logging.WARNING, logger="keras_playground.engine.tiers"):
        others = [train(TrainingSession(spec_factory(layers=[{"units": units, "activation": "relu"}], epochs=4),
                                        pool=pool)) for units in (3, 4)]
    assert [pool.wait_for_tier(s.key, 1.0) for s in others] == ["traced", "traced"]
    assert [s.epoch for s in others] == [4, 4]  # trained all the same, on the traced tier
    assert (compiler.asked, compiler.compiled) == (1, 1)
    told = [r.getMessage() for r in caplog.records if "PLAYGROUND_XLA_PROGRAMS" in r.getMessage()]
    assert len(told) == 1  # once, not for every architecture refused
    # The compiled architecture keeps its XLA program.
    again = train(TrainingSession(spec_factory(epochs=2, seed=9), pool=pool))
    assert pool.epoch_tiers[-2:] == ["xla", "xla"] and again.epoch == 2



def test_a_finished_compile_holds_nothing_once_the_compiler_is_idle():
    # Priming waits for its compile, then the server freezes what is alive for good:
    # the compiler must not keep the last job (a pool's factory, a cohort) meanwhile.
    import gc
    import weakref

    class Thing:
        pass

    compiler, made = TierCompiler(), []

    def build():
        program = Thing()
        made.append(weakref.ref(program))
        return program

    owner = Thing()
    asked_by = weakref.ref(owner)
    assert compiler.submit("key", build, lambda program: None, owner=owner)
    del owner
    assert compiler.wait_idle(10)
    gc.collect()
    assert (made[0](), asked_by()) == (None, None)
