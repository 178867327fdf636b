"""A run's next epochs: the order each shuffles the training set in, which of them want
a frame (under the run's frame rate), and those its cohort has trained ahead (see
`cohort_lane.train_ahead`).

An epoch asked for ahead and then dropped (the learning rate changed, the cohort's call
failed) is asked for again with the same order: the orders are drawn once each, in the
order `model.fit` draws them, whatever was trained ahead."""

from __future__ import annotations

import math
import time
from collections import deque

import numpy as np


class Upcoming:
    """One run's next epochs (its session's; one thread)."""

    def __init__(self, training, n_train: int, clock=time.perf_counter):
        """`training`: the run's training spec (seed, shuffle, frame_every, epochs)."""
        self._training, self._n_train, self._clock = training, n_train, clock
        self._rng = np.random.default_rng(training.seed)
        self._orders: deque[np.ndarray] = deque()  # drawn, not yet trained
        self._ahead: deque = deque()  # `cohort_lane.Ahead`s, the next epoch's first
        self._next_frame_at = -math.inf  # a frame is due at the first epoch from then on
        self._asked_at: float | None = None  # when the frames of the epochs asked for were decided

    def take_orders(self, count: int) -> list[np.ndarray | None]:
        """The shuffled orders of this epoch and the `count - 1` after it (None each: not
        shuffled); this epoch's is used up."""
        if not self._training.shuffle:
            return [None] * count
        while len(self._orders) < count:
            self._orders.append(self._rng.permutation(self._n_train).astype(np.int32))
        orders = list(self._orders)[:count]
        self._orders.popleft()
        return orders

    def add(self, aheads) -> None:
        self._ahead.extend(aheads)

    def drop(self) -> None:
        """What was trained ahead no longer holds (a new rate) or is not wanted (the end)."""
        self._ahead.clear()

    def next_ahead(self) -> tuple | None:
        """The next epoch as trained ahead, (results, state, want_frame), its order used up;
        or None: none was, or it was not trained (then none after it is either)."""
        while self._ahead:
            ahead = self._ahead.popleft()
            answer = ahead.wait()
            if answer is not None:
                if self._orders:
                    self._orders.popleft()
                return (*answer, ahead.want_frame)
            self._ahead.clear()
        return None

    def frames_due(self, first: int, count: int, rate: float | None) -> list[bool]:
        """Which of epochs first, first + 1, ... want a frame: the first and last epochs of a
        run always; others every `frame_every` epochs, and under a frame `rate` (a
        second), only the first of them once the rate allows one (asked now for all: an
        epoch trained ahead gets its frame when it was asked for, not when it is due)."""
        every, last = self._training.frame_every, self._training.epochs
        self._asked_at = self._clock()
        allowed, wanted = not rate or self._asked_at >= self._next_frame_at, []
        for epoch in range(first, first + count):
            due = epoch == 1 or epoch >= last or (allowed and epoch % every == 0)
            allowed = allowed and not (rate and due)
            wanted.append(due)
        return wanted

    def frame_drawn(self, rate: float | None) -> None:
        """A frame was drawn: the next is due one interval of `rate` on. Deadlines a fixed
        interval apart: a frame lands on the first epoch after each, so the rate averages
        the cap (counting from the last frame would lose part of an epoch every time). One
        that falls behind does not catch up in a burst: the next is due at least half an
        interval after the frame was asked for. Asked for, not drawn: the epoch trained
        in between (7-20 ms with its picture, more in a busy class) would make a frame
        that came on time look late, and skip the next (a run capped at 20 a second drew
        11-16)."""
        asked = self._clock() if self._asked_at is None else self._asked_at
        self._asked_at = None
        if rate:
            interval = 1.0 / rate
            due = max(self._next_frame_at + interval, asked + interval / 2)
            # On a grid of this interval: runs sharing the frame budget fall due together, so
            # a cohort draws its members' frames in one call, not a few in every call. Less a
            # millionth of a slot: a deadline on the grid, divided by the interval, is often a
            # hair above its whole number in floating point, and rounded up it skipped a slot
            # (a run capped at 30 a second drew 18, a class's members at 5 a second 4).
            self._next_frame_at = math.ceil(due / interval - 1e-6) * interval
