"""Cohorts: the runs of one architecture that want an epoch now train it in one call.

Each training run keeps its own thread and its own loop (`control.drive`): it asks for
an epoch whenever it wants one, and gets it back with its results. Here the asks of one
architecture meet. The first to ask while no epoch of its cohort is running leads: it
waits a moment for the members that trained in the last call (they come back one by
one, each after publishing its events), then trains everyone who has asked, up to
`capacity`, as one stacked program (`stacked.StackedProgram`), and hands each its results.
A member that does not come back within the moment (paused, stopped, ended) is no longer
waited for; when it asks again it joins the next call. So joining and leaving happen at
epoch boundaries by themselves, and a learning-rate change needs no leaving at all: the
rate is part of the member's state, read at each call.

A call of one member goes to the run's solo program (`pool`), which is exact and has a
faster compiled tier alone; so does everything that is not an epoch (evaluation, frames
of final weights, saving). But a run alone for a few epochs in a cohort that trained
together (a straggler a call behind the class, a paused member's step) stays on the
smallest stacked program there is, for up to `SOLO_AFTER` calls in a row: its solo
program may never have run an epoch, and tracing it would take 0.3-0.5 s of the GIL
the whole class shares (`bench`'s class again lost most of a round to it).

Two tiers of stacked programs, each made for a capacity (the cohort's size rounded up to
2, 4, 8, 16 or 32 members; a call uses the smallest that fits, padded with copies). A
traced one is made when a size first meets (under half a second); once a size has held
for three calls, the same program is compiled with XLA in the background
(`tiers.COMPILER`, one compile at a time in the process) and used from the call after it
is ready: 2.5 ms a call of 32 members instead of 9 (`keras-playground bench`).

A member asks for the epochs after its own too (`AHEAD` of them): once the call is over
and its members go on with their results, the leader trains those epochs, one call each
(`cohort_lane.train_ahead`), and each member takes them as it asks for them.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
import threading
import time
import weakref
from typing import Callable, Hashable

import numpy as np

from .cohort_lane import Ask, Lane, asked_ahead, train_ahead
from .stacked import Layout, StackedProgram
from .tiers import COMPILER

log = logging.getLogger(__name__)

CAPACITIES = (2, 4, 8, 16, 32)
GATHER_SECONDS = 0.02  # how long a leader waits for last call's members to come back
# A new cohort's first call waits this long for the runs that entered it: its members
# are still evaluating their untrained networks (epoch 0), a few dozen ms each.
FIRST_GATHER_SECONDS = 1.0
STEADY_CALLS = 3  # calls of one size in a row before that size is compiled with XLA
SOLO_AFTER = 20  # one-member calls in a row on a stacked program before the run goes solo
AHEAD = 3  # epochs a member may ask for beyond the one it asks for (see `cohort_lane.train_ahead`)


class Cohort:
    """The members of one architecture: who is asking, who leads, which programs exist."""

    def __init__(self, shape: dict, *, key: Hashable = None, max_members: int = CAPACITIES[-1],
                 gather_seconds: float = GATHER_SECONDS, compile_in_background: bool = True):
        """`shape`: StackedProgram's arguments besides layout and capacity; `key`: the
        architecture's (what the compiler remembers a failure by); `compile_in_background`
        False: the traced tier only."""
        self.shape, self.key = shape, key
        self.layout: Layout | None = None  # set by the first member, from its solo program
        self.compile_in_background = compile_in_background
        self.max_members, self.gather_seconds = max_members, gather_seconds
        self._cond = threading.Lock()  # the programs
        self._line = Lane()
        self._traced: dict[int, StackedProgram] = {}  # traced programs by capacity
        self._compiled: dict[int, StackedProgram] = {}  # XLA programs by capacity, once ready
        self._compiling: set[int] = set()  # capacities asked of the background compiler (once each)
        self.calls = self.member_epochs = 0  # figures: stacked calls and the member-epochs in them

    def _make_program(self, capacity: int, jit_compile: bool) -> StackedProgram:
        return StackedProgram(self.layout, capacity=capacity, jit_compile=jit_compile, **self.shape)

    def _lane(self, member: Hashable) -> Lane:
        return self._line

    def enter(self, member: Hashable) -> None:
        """`member` (a new run) will ask soon: the first call of a new cohort waits for it a
        little longer (`FIRST_GATHER_SECONDS`), so a class that presses Train together is
        traced once, together, and not one by one."""
        lane = self._lane(member)
        with lane.cond:
            lane.expected.add(member)

    def warm(self, request: dict) -> None:
        """Trace the cohort's stacked program before its members come, with `request`
        (a throwaway epoch) standing for each of them."""
        with self._cond:
            if self._traced:
                return
        program = self._make_program(self.max_members, False)  # fits any class
        program.run([request, request])
        with self._cond:
            self._traced.setdefault(self.max_members, program)

    def leave(self, member: Hashable) -> None:
        """`member` asks no more (its run ended): the next call does not wait for it."""
        lane = self._lane(member)
        with lane.cond:
            lane.expected.discard(member)
            if lane.gathering:
                lane.cond.notify()

    def train(self, member: Hashable, request: dict, solo: Callable[[dict], tuple]) -> tuple:
        """One epoch of `member` (a dict as `StackedProgram.run` takes), trained with whoever
        else asks; `solo(request)` trains it alone when nobody does. Returns (results, state)."""
        return self._ask(Ask(member, request, solo, "epoch"))

    def start(self, member: Hashable, request: dict, solo: Callable[[dict], tuple]) -> tuple:
        """Epoch 0 of `member` (its untrained network: an epoch at learning rate zero, see
        `_call`), evaluated with whoever else asks; `solo(request)` evaluates it alone when
        nobody does. Returns (loss, metric, val_loss, val_metric, probe)."""
        return self._ask(Ask(member, request, solo, "start"))

    def _ask(self, ask: Ask) -> tuple:
        lane = self._lane(ask.member)
        with lane.cond:
            lane.asks.append(ask)
            if lane.gathering:
                lane.cond.notify()  # the leader waits for the members still out
            elif not lane.running:
                lane.running = ask.lead = True
        try:
            while True:
                if not ask.lead:
                    ask.sleep()
                if ask.done:
                    break
                if ask.lead:
                    ask.lead = False  # before leading: the lead may come back to this ask
                    self._lead(lane)
        except BaseException:  # raised into this thread (a time limit): the others go on
            self._abandon(lane, ask)
            raise
        if ask.error is not None:
            raise ask.error
        return ask.answer

    def _abandon(self, lane: Lane, ask: Ask) -> None:
        """`ask`'s thread leaves mid-ask: take its ask back, and pass on a lead it was given
        and did not take up, so no other member waits for a leader that never comes."""
        with lane.cond:
            if ask in lane.asks:
                lane.asks.remove(ask)
            if ask.lead:
                ask.lead = False
                if lane.asks:
                    lane.asks[0].lead = True
                    lane.asks[0].ring()
                else:
                    lane.running = False

    def _lead(self, lane: Lane) -> None:
        """Gather and train one call, then the epochs its members asked for ahead; then
        hand the lead to the first ask left, if any."""
        batch: list[Ask] = []
        try:
            with lane.cond:
                batch = self._gather(lane)
            ahead = self._call(batch, lane)
            if ahead is not None:
                for ask in batch:  # each goes on with its epoch while the next ones train
                    ask.ring()
                calls = train_ahead(*ahead)
                with self._cond:
                    self.calls += calls
                    self.member_epochs += calls * len(batch)
        finally:
            with lane.cond:
                lane.expected = weakref.WeakSet(a.member for a in batch if a.error is None)
                if lane.asks:  # more asked than one call takes: the next leads the next
                    lane.asks[0].lead = True
                    lane.asks[0].ring()
                else:
                    lane.running = False
            for ask in batch:
                ask.ring()

    def _gather(self, lane: Lane) -> list[Ask]:
        """As the leader (the lane's lock held): wait a moment for the expected members,
        then take the asks for one call."""
        fresh = not self._traced and not self._compiled
        deadline = time.monotonic() + (FIRST_GATHER_SECONDS if fresh else self.gather_seconds)
        while True:
            asking = {a.member for a in lane.asks}
            # Member by member, not a WeakSet difference (a new set at every arrival).
            missing = any(member not in asking for member in lane.expected)
            remaining = deadline - time.monotonic()
            if not missing or remaining <= 0 or len(lane.asks) >= self.max_members:
                break
            lane.gathering = True
            lane.cond.wait(remaining)
            lane.gathering = False
        lane.expected &= {a.member for a in lane.asks}  # who did not come back has left
        batch, lane.asks = lane.asks[:self.max_members], lane.asks[self.max_members:]
        return batch

    def _call(self, batch: list[Ask], lane: Lane) -> tuple | None:
        """Train the epochs asked, and evaluate the untrained networks of newcomers (epoch
        0), in one stacked call: epoch 0 is an epoch at learning rate zero, whose results
        are the untrained network's loss and metric, and whose frame shows it (its new
        state is thrown away). So a cold cohort traces one program, not two. Returns what
        `cohort_lane.train_ahead` takes when the members asked for epochs ahead, else None."""
        ahead = None
        try:
            program = self._straggler_program(batch, lane)
            if len(batch) == 1 and program is None:
                batch[0].answer = batch[0].solo(batch[0].request)
            else:
                batch.sort(key=lambda a: id(a.member))  # the same line-up: its data stays stacked
                requests = [a.request if a.what == "epoch" else self._untrained(a.request) for a in batch]
                program = program or self._program(batch, lane)
                answers = program.run(requests)
                for ask, (out, state) in zip(batch, answers):
                    ask.answer = (out, state) if ask.what == "epoch" else _start_answer(out)
                with self._cond:
                    self.calls += 1
                    self.member_epochs += sum(a.what == "epoch" for a in batch)
                ahead = asked_ahead(batch, program, answers)
        except Exception:  # one member's bad input must not end the others: each alone
            log.warning("a stacked call failed; its members go alone", exc_info=True)
            for ask in batch:
                try:
                    ask.answer = ask.solo(ask.request)
                except BaseException as exc:
                    ask.error = exc
        except BaseException as exc:  # an interrupt: every member of the call gets it, none hangs
            for ask in batch:
                ask.error = exc
        for ask in batch:
            ask.done = True
        return ahead

    def _straggler_program(self, batch: list[Ask], lane: Lane) -> StackedProgram | None:
        """The program of a one-member epoch while its run has been alone for at most
        `SOLO_AFTER` calls in a row after members trained together: the smallest stacked
        program there is (XLA first). None otherwise: several members (their own program),
        a run alone for longer, alone from the start (a warmed cohort's program is padded
        to 32: its solo program is faster), or a cohort with no program yet. Counts the
        lane's one-member calls as it goes: every call passes here once."""
        if len(batch) > 1:
            lane.alone, lane.together = 0, True
            return None
        lane.alone += 1
        if lane.alone > SOLO_AFTER:
            lane.together = False  # alone for good: a run that starts alone, too, goes solo
        if batch[0].what != "epoch" or not lane.together:
            return None
        with self._cond:
            programs = self._compiled or self._traced
            return programs[min(programs)] if programs else None

    def _untrained(self, request: dict) -> dict:
        """An epoch-0 request as an epoch that changes nothing: its learning rate zero
        (every rule here moves a weight by a multiple of it), the set in order, a frame."""
        state = list(request["state"])
        index = self.layout.learning_rate
        state[index] = np.zeros_like(np.asarray(state[index]))
        return {**request, "state": state, "want_frame": True}

    def _traced_program(self, members: int) -> StackedProgram:
        """The smallest traced program that fits `members`, else one traced for them
        (rounded up to a capacity). A traced call's time grows with its capacity."""
        capacity = next(c for c in CAPACITIES if c >= min(members, self.max_members))
        with self._cond:
            fitting = {c: p for c, p in self._traced.items() if c >= members}
        if fitting:
            return fitting[min(fitting)]
        program = self._make_program(capacity, False)  # traced outside the lock: half a second
        with self._cond:
            return self._traced.setdefault(capacity, program)

    def _program(self, batch: list[Ask], lane: Lane) -> StackedProgram:
        """The smallest XLA program that fits the call, else the traced one (asking the
        background compiler for the fitting XLA program, once)."""
        members = len(batch)
        with self._cond:  # the compiler's thread adds to it
            fitting = {c: p for c, p in self._compiled.items() if c >= members}
        if fitting:
            return fitting[min(fitting)]
        capacity = next(c for c in CAPACITIES if c >= min(members, self.max_members))
        # A class arrives a few at a time: compile for a size only once it holds (each
        # compile costs seconds of CPU the class is using).
        same = lane.recent[1] + 1 if lane.recent[0] == capacity else 1
        lane.recent = (capacity, same)
        with self._cond:
            ask_compile = (self.compile_in_background and same >= STEADY_CALLS
                           and capacity not in self._compiling)
            if ask_compile:
                self._compiling.add(capacity)
        if ask_compile:
            sample = [a.request for a in batch]
            COMPILER.submit(("cohort", self.key, capacity), lambda: self._compile(capacity, sample),
                            lambda program: self._deliver(capacity, program), owner=self)
        return self._traced_program(members)

    def _compile(self, capacity: int, sample: list[dict]) -> StackedProgram:
        """On the compiler's thread: the traced program of `capacity` compiled by XLA from
        its graph (no second trace), at a first call with a past call's members (its
        answers are thrown away). Raises if XLA cannot: the cohort then stays traced."""
        with self._cond:
            traced = self._traced.get(capacity)
        program = StackedProgram(self.layout, capacity=capacity, jit_compile=True, traced=traced, **self.shape)
        program.run(sample[:capacity])
        return program

    def _deliver(self, capacity: int, program: StackedProgram | None) -> None:
        if program is not None:
            with self._cond:
                self._compiled[capacity] = program

    def compile_asked(self) -> bool:
        """Whether an XLA program of some size has been asked of the compiler."""
        with self._cond:
            return bool(self._compiling)

    def tier(self, members: int) -> str:
        """Which tier a call of `members` runs on now: "xla" or "traced" (for tests, figures)."""
        with self._cond:
            return "xla" if any(c >= members for c in self._compiled) else "traced"


def _start_answer(out: dict) -> tuple:
    """An epoch at learning rate zero as epoch 0: (loss, metric, val_loss, val_metric, probe),
    as `TrainingSession._solo_start` gives them. Over the set in batches, the mean batch
    loss is the whole set's loss (within float round-off), as `evaluate` computes it."""
    return out["loss"], out["metric"], out.get("val_loss"), out.get("val_metric"), out["frame"]


class Cohorts:
    """The cohorts of a process, one per architecture key."""

    def __init__(self, max_members: int = CAPACITIES[-1], max_cohorts: int = 64, compile_in_background: bool = True):
        self.max_members, self.max_cohorts = max_members, max_cohorts
        self.compile_in_background = compile_in_background
        self._lock = threading.Lock()
        self._cohorts: OrderedDict[Hashable, Cohort] = OrderedDict()

    def get(self, key: Hashable, shape: dict) -> Cohort:
        """The cohort of `key`; `shape`: StackedProgram's arguments besides the layout, which
        the first member sets (`Cohort.layout`) before it asks."""
        with self._lock:
            cohort = self._cohorts.get(key)
            if cohort is not None:
                self._cohorts.move_to_end(key)  # the least recently used goes first
            else:
                if len(self._cohorts) >= self.max_cohorts:  # forget the oldest architecture
                    self._cohorts.pop(next(iter(self._cohorts)))
                cohort = self._cohorts[key] = Cohort(shape, key=key, max_members=self.max_members,
                                                     compile_in_background=self.compile_in_background)
            return cohort

    def clear(self) -> None:
        """Forget every cohort (runs in one keep theirs until they end)."""
        with self._lock:
            self._cohorts.clear()

    def figures(self) -> dict:
        with self._lock:
            cohorts = list(self._cohorts.values())
        return {"calls": sum(c.calls for c in cohorts), "member_epochs": sum(c.member_epochs for c in cohorts)}


# One registry for the process: the runs of every session meet here.
COHORTS = Cohorts()
