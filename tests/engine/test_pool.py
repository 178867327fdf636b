"""Runs of one architecture share a compiled program without sharing their state."""

import threading

import numpy as np
import pytest

from keras_playground.engine.pool import ProgramPool
from keras_playground.engine.session import TrainingSession


def weights(session):
    return session.model.get_weights()


def test_interleaved_runs_on_one_program_equal_runs_trained_alone(spec_factory):
    pool = ProgramPool(per_key=1, tiered=False)  # bit-for-bit: no switch to XLA midway
    layers = [{"units": 6, "activation": "tanh", "dropout": 0.2}]
    a = TrainingSession(spec_factory(layers=layers, seed=1, epochs=8), pool=pool)
    b = TrainingSession(spec_factory(layers=layers, seed=2, epochs=8, learning_rate=0.05), pool=pool)
    while not (a.finished and b.finished):
        a.train_epoch()
        b.train_epoch()
    assert pool.created == 1  # one trace served both runs
    alone_a = TrainingSession(spec_factory(layers=layers, seed=1, epochs=8), pool=ProgramPool(tiered=False))
    alone_b = TrainingSession(spec_factory(layers=layers, seed=2, epochs=8, learning_rate=0.05),
                              pool=ProgramPool(tiered=False))
    for session in (alone_a, alone_b):
        while not session.finished:
            session.train_epoch()
    assert all(np.array_equal(x, y) for x, y in zip(weights(a), weights(alone_a)))
    assert all(np.array_equal(x, y) for x, y in zip(weights(b), weights(alone_b)))
    assert [e.loss for e in a.history] == [e.loss for e in alone_a.history]
    assert not np.array_equal(weights(a)[0], weights(b)[0])


def test_a_learning_rate_change_stays_with_its_run(spec_factory):
    pool = ProgramPool(per_key=1)
    a = TrainingSession(spec_factory(optimizer="sgd", learning_rate=0.1, epochs=4), pool=pool)
    b = TrainingSession(spec_factory(optimizer="sgd", learning_rate=0.1, epochs=4, seed=8), pool=pool)
    a.train_epoch(), b.train_epoch()
    a.set_learning_rate(0.0)
    frozen = [w.copy() for w in weights(a)]
    a.train_epoch(), b.train_epoch()
    assert all(np.array_equal(x, y) for x, y in zip(frozen, weights(a)))
    assert b.history[-1].learning_rate == pytest.approx(0.1) and a.history[-1].learning_rate == 0.0


def test_concurrent_identical_runs_trace_at_most_per_key_programs(spec_factory):
    pool = ProgramPool(per_key=2)
    sessions = [TrainingSession(spec_factory(seed=i, epochs=15), pool=pool) for i in range(6)]
    other = TrainingSession(spec_factory(layers=[{"units": 3, "activation": "relu"}], epochs=15), pool=pool)

    def train(session):
        while not session.finished:
            session.train_epoch()

    threads = [threading.Thread(target=train, args=(s,)) for s in [*sessions, other]]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert all(s.state == "finished" and s.epoch == 15 for s in [*sessions, other])
    assert pool.created <= 3  # two for the shared architecture, one for the other


class Program:
    def __init__(self, name):
        self.name = name


def test_a_returned_program_goes_to_the_longest_waiter_first():
    pool = ProgramPool(per_key=1)
    order = []
    gate = threading.Event()

    def hold():
        with pool.borrow("k", lambda: Program("p")):
            gate.wait(10)

    def wait_turn(name):
        with pool.borrow("k", lambda: Program("never")) as program:
            order.append((name, program.name))

    holder = threading.Thread(target=hold)
    holder.start()
    while pool.programs() == 0:
        pass
    waiters = []
    for name in ("first", "second", "third"):
        t = threading.Thread(target=wait_turn, args=(name,))
        t.start()
        waiters.append(t)
        while len(pool._waiters.get("k", ())) < len(waiters):  # queued in this order
            pass
    gate.set()
    for t in [holder, *waiters]:
        t.join(10)
    assert order == [("first", "p"), ("second", "p"), ("third", "p")]
    assert pool.created == 1


def test_a_failed_build_frees_its_slot():
    pool = ProgramPool(per_key=1)

    def broken():
        raise RuntimeError("no memory")

    with pytest.raises(RuntimeError):
        with pool.borrow("k", broken):
            pass
    with pool.borrow("k", lambda: Program("ok")) as program:
        assert program.name == "ok"


def test_idle_programs_of_old_architectures_are_evicted():
    pool = ProgramPool(per_key=1, max_idle=2)
    for key in ("a", "b", "c"):
        with pool.borrow(key, lambda: Program(key)):
            pass
    assert pool.programs() == 2
    with pool.borrow("a", lambda: Program("a-again")) as program:
        assert program.name == "a-again"  # the oldest was forgotten and is built anew


def test_a_second_program_is_built_only_after_the_first_came_back():
    """Two traces at once would halve the CPU each gets and delay every first epoch."""
    pool = ProgramPool(per_key=2)
    events = []
    first_in_use = threading.Event()
    release_first = threading.Event()

    def build(name):
        events.append(f"build {name}")
        return Program(name)

    def first():
        with pool.borrow("k", lambda: build("a")):
            first_in_use.set()
            release_first.wait(10)
            events.append("a back")

    def later(name):
        with pool.borrow("k", lambda: build(name)) as program:
            events.append(f"{name} got {program.name}")

    holder = threading.Thread(target=first)
    holder.start()
    first_in_use.wait(10)
    others = []
    for name in ("b", "c"):
        t = threading.Thread(target=later, args=(name,))
        t.start()
        others.append(t)
        while len(pool._waiters.get("k", ())) < len(others):  # both wait: no second build yet
            pass
    assert events == ["build a"]
    release_first.set()
    for t in [holder, *others]:
        t.join(10)
    assert events[:2] == ["build a", "a back"]
    assert sorted(events[2:]) == ["b got a", "build c", "c got c"]
    assert pool.created == 2


def test_a_program_the_pool_drops_is_freed_with_its_traced_epoch(spec_factory):
    # A server whose participants try architecture after architecture drops the programs
    # of the least recent ones: what they traced must go with them, or memory grows with
    # every architecture (Keras's optimizer once left each traced epoch in TensorFlow's
    # global gradient registry, through a custom gradient of its all-reduce).
    import gc
    import weakref

    pool = ProgramPool(max_idle=1, tiered=False)
    first = TrainingSession(spec_factory(epochs=2), pool=pool)
    while not first.finished:
        first.train_epoch()
    with pool.borrow(first.key, first._new_program) as program:
        graphs = [weakref.ref(concrete.graph) for concrete in program._concrete.values()]
    assert graphs  # the epoch it traced
    other = TrainingSession(spec_factory(layers=[{"units": 3, "activation": "relu"}], epochs=2), pool=pool)
    while not other.finished:
        other.train_epoch()  # its program comes back idle: the first architecture's is dropped
    del program, first
    gc.collect()
    assert [graph() for graph in graphs] == [None]
    assert other.epoch == 2
