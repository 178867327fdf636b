"""A cohort's line of calls (`Lane`), the bells its members sleep on (an ask for an
epoch, `Ask`; an epoch trained ahead, `Ahead`), and the epochs trained ahead (see
`train_ahead`). `cohort` says how they meet."""

from __future__ import annotations

import logging
import threading
import weakref
from typing import Callable, Hashable

log = logging.getLogger(__name__)


class Ask:
    """One member's request, and the lock its thread sleeps on until it is answered or
    told to lead the next call (each its own: waking every member at each arrival would
    cost more than the call)."""

    __slots__ = ("member", "request", "solo", "what", "answer", "error", "done", "lead", "_bell")

    def __init__(self, member: Hashable, request: dict, solo: Callable[[dict], tuple], what: str):
        self.member, self.request, self.solo, self.what = member, request, solo, what
        self.answer = self.error = None
        self.done = self.lead = False
        # A plain lock held until the ask is rung: the cheapest wake-up there is (an Event
        # costs a condition and its notify for each of thirty members, every epoch).
        self._bell = threading.Lock()
        self._bell.acquire()

    def ring(self) -> None:
        if self._bell.locked():
            try:
                self._bell.release()
            except RuntimeError:  # rung twice at once: one ring is enough
                pass

    def sleep(self) -> None:
        self._bell.acquire()


class Ahead:
    """An epoch of one member trained ahead (see `cohort_lane.train_ahead`): its (results,
    state) once the call is over, or None when it was not trained (the member then asks
    for that epoch as usual). `want_frame`: what the member asked for that epoch."""

    __slots__ = ("want_frame", "_answer", "_given", "_bell")

    def __init__(self, want_frame: bool):
        self.want_frame, self._answer, self._given = want_frame, None, False
        self._bell = threading.Lock()
        self._bell.acquire()

    def fulfil(self, answer: tuple | None) -> None:
        """Give the answer (the leader's thread only; once: later calls do nothing)."""
        if not self._given:
            self._answer, self._given = answer, True
            self._bell.release()

    def wait(self) -> tuple | None:
        with self._bell:  # taken and given back: a second wait returns at once
            return self._answer


class Lane:
    """A cohort's line of calls: its asks, its leader, the members it expects. One a
    cohort: two lines in flight at once were measured slower on 2 cores (2,100-2,300
    against 3,100-3,700 epochs/s for 30 runs), their calls and the members' Python
    competing for the same cores."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.asks: list[Ask] = []
        # Members of the last call (or entered, not yet asked), not yet gone. Weak: a run
        # built and dropped without training is not waited for.
        self.expected: weakref.WeakSet = weakref.WeakSet()
        self.running = False  # a leader is gathering or training
        self.gathering = False  # the leader waits for members (an arrival wakes it)
        self.recent = (0, 0)  # the capacity of its last calls, and how many in a row
        self.alone = 0  # one-member calls in a row
        self.together = False  # members trained together since a run last went solo


def asked_ahead(batch: list[Ask], program, answers: list) -> tuple | None:
    """The epochs a call's members asked for beyond it (`request["ahead"]`: each one's
    order and whether it wants a frame), as many as every member asked for, put in their
    answers as `Ahead`s: (program, requests, states, aheads) for `train_ahead`. None for
    a call of one, with a newcomer, or when a member asked for none (its last epoch is
    next, or it is not a run that asks ahead)."""
    if len(batch) < 2 or any(a.what != "epoch" for a in batch):
        return None
    depth = min(len(a.request.get("ahead", ())) for a in batch)
    if not depth:
        return None
    aheads = [[Ahead(step["want_frame"]) for step in a.request["ahead"][:depth]] for a in batch]
    for ask, mine in zip(batch, aheads):
        ask.answer[0]["ahead"] = mine
    return program, [a.request for a in batch], [state for _, state in answers], aheads


def train_ahead(program, requests: list[dict], states: list, aheads: list[list[Ahead]]) -> int:
    """Train the epochs the members asked for ahead, one call each, while they turn the
    last call's results into events: TensorFlow trains without the GIL, so the two cores
    overlap what would otherwise take turns (a call, then thirty members' Python and
    wake-ups, 2-3 ms each on 2 cores). Each call starts from the states the last one
    gave, exactly as the members would hand them in. A member whose learning rate
    changes meanwhile, or who stops, drops what was trained ahead for it; after a failure
    the rest are None and the members ask as usual. Returns the calls made."""
    calls = 0
    try:
        for j in range(len(aheads[0])):
            step = [{**request, "state": state, "perm": request["ahead"][j]["perm"],
                     "want_frame": request["ahead"][j]["want_frame"]}
                    for request, state in zip(requests, states)]
            answers = program.run(step)
            states = [state for _, state in answers]
            for mine, answer in zip(aheads, answers):
                mine[j].fulfil(answer)
            calls += 1
    except Exception:
        log.warning("a call trained ahead failed; its members ask again", exc_info=True)
    finally:  # nobody waits for an epoch that will not come
        for mine in aheads:
            for ahead in mine:
                ahead.fulfil(None)
    return calls
