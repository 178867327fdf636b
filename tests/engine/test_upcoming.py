"""A run's next epochs: which want a frame, and the orders they shuffle in."""

import numpy as np
import pytest

from keras_playground.engine.upcoming import Upcoming

from .conftest import make_spec


def upcoming(**training) -> Upcoming:
    spec = make_spec(**training)
    return Upcoming(spec.training, spec.dataset.n_train)


def test_without_a_frame_rate_every_frame_every_epoch_wants_one_and_the_first_and_last_always():
    assert upcoming(epochs=10).frames_due(1, 4, None) == [True] * 4
    assert upcoming(epochs=10, frame_every=3).frames_due(4, 4, None) == [False, False, True, False]
    assert upcoming(epochs=10, frame_every=3).frames_due(8, 3, None) == [False, True, True]  # 10 is the last
    assert upcoming(epochs=10, frame_every=4).frames_due(1, 2, None) == [True, False]  # the first


def test_under_a_frame_rate_only_the_first_due_epoch_of_those_asked_together_gets_one():
    due = upcoming(epochs=100, frame_every=2)
    assert due.frames_due(5, 4, 10.0) == [False, True, False, False]  # 6; not 8 as well
    due.frame_drawn(10.0)  # the next is 50-150 ms away
    assert due.frames_due(9, 4, 10.0) == [False] * 4
    assert due.frames_due(97, 4, 10.0) == [False, False, False, True]  # the last epoch always


def test_orders_are_drawn_once_each_in_order_however_far_ahead_they_are_asked_for():
    spec = make_spec(shuffle=True, seed=11)
    rng = np.random.default_rng(11)
    expected = [rng.permutation(spec.dataset.n_train) for _ in range(7)]
    orders = Upcoming(spec.training, spec.dataset.n_train)
    taken = [orders.take_orders(4)[0], orders.take_orders(4)[0]]  # two epochs, asking three ahead each time
    taken += [orders.take_orders(1)[0] for _ in range(5)]  # then one at a time
    assert [o.tolist() for o in taken] == [e.tolist() for e in expected]
    assert upcoming(shuffle=False).take_orders(3) == [None, None, None]


def test_a_frame_drawn_after_a_slow_epoch_does_not_push_the_next_a_slot_later():
    """Capped at 20 a second (a grid of 50 ms), with each frame's epoch taking 30 ms: the
    run still draws 20 a second. Counted from when it was drawn instead of asked for,
    every frame looked late and the next skipped a slot (10 a second)."""
    clock = [100.0]
    spec = make_spec(epochs=5_000)
    due, drawn = Upcoming(spec.training, spec.dataset.n_train, clock=lambda: clock[0]), 0
    for epoch in range(2, 2_000):
        clock[0] += 0.002  # between epochs
        if due.frames_due(epoch, 1, 20.0)[0]:
            clock[0] += 0.030  # the epoch and its picture
            due.frame_drawn(20.0)
            drawn += 1
        else:
            clock[0] += 0.005
    assert drawn / (clock[0] - 100.0) == pytest.approx(20.0, rel=0.05)


@pytest.mark.parametrize("rate", [5.0, 20.0, 30.0, 60.0])
@pytest.mark.parametrize("start", [100.0, 4_861.529, 91_234.5])  # a process's clock, some time up
def test_a_run_capped_at_a_rate_draws_that_many_frames_a_second(rate, start):
    """Fast epochs (0.6 ms) under a cap: the frames come at the cap, whatever the clock
    reads. Rounding a deadline on the grid up to the next whole slot skipped a slot about
    half the time (a run capped at 30 drew 18 a second, a member of a class of thirty at
    5, 4)."""
    clock = [start]
    spec = make_spec(epochs=5_000)
    due, drawn = Upcoming(spec.training, spec.dataset.n_train, clock=lambda: clock[0]), []
    for epoch in range(2, 5_000):
        wanted = due.frames_due(epoch, 1, rate)[0]
        clock[0] += 0.0006
        if wanted:
            due.frame_drawn(rate)
            drawn.append(clock[0])
    assert (len(drawn) - 1) / (drawn[-1] - drawn[0]) == pytest.approx(rate, rel=0.05)
