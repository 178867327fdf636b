"""A pool of compiled epoch programs, shared by every run of the same architecture.

Tracing a new model costs 0.3-0.5 s of CPU under the GIL: thirty participants pressing
Train together would wait seconds. A program is traced once per architecture (the
`key`) and lent, one epoch at a time, to the runs that share it; each run brings its
own state (weights, optimizer slots, seeds). At most `per_key` programs exist for one
key, so a burst of identical runs costs that many traces, and the runs take turns in
arrival order: a program returned is handed straight to the longest waiter.

A key's programs are built one at a time: while the first is being traced (its first
epoch), a second build would only halve the CPU both get and delay every first epoch,
so the next waiter builds the second program when the first comes back.

Tiers (see `tiers`): when a key's first traced program comes back having run an epoch,
the pool asks the process's one compiler for the same epoch under XLA, built by the same
factory in the background. Once delivered, that XLA program serves the key alone: it is
lent from the next borrow on (a run switches at its next epoch, as its state is the same
list of tensors) and traced programs of the key are dropped as they come back. If the
compile fails or the program is not worth it, the key stays traced.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from contextlib import contextmanager
from typing import Callable, Hashable, Iterator, TypeVar

from .tiers import COMPILER, COMPILING, TRACED, XLA, TierCompiler, worth_compiling, xla_build

P = TypeVar("P")


class _Waiter:
    __slots__ = ("event", "program", "create")

    def __init__(self) -> None:
        self.event = threading.Event()
        self.program = None
        self.create = False  # told to build a program itself (a build failed before it)


class ProgramPool:
    def __init__(self, per_key: int = 2, max_idle: int = 64, *, tiered: bool = True,
                 compiler: TierCompiler | None = None,
                 compile_when: Callable[[object], bool] = worth_compiling):
        """`tiered` False: programs stay traced (bit-for-bit equal to model.fit's weights);
        `compiler`: the process's one `tiers.COMPILER` unless a test brings its own;
        `compile_when(program)`: which architectures get an XLA tier."""
        self.per_key, self.max_idle = per_key, max_idle
        self.tiered, self.compile_when = tiered, compile_when
        self._compiler = compiler if compiler is not None else COMPILER
        self._lock = threading.Lock()
        self._tier_changed = threading.Condition(self._lock)
        self._tiers: dict[Hashable, str] = {}  # COMPILING, XLA, or TRACED for good
        self._idle: OrderedDict[Hashable, list] = OrderedDict()  # least recently used first
        self._count: dict[Hashable, int] = {}
        self._waiters: dict[Hashable, deque[_Waiter]] = {}
        self._building: set[Hashable] = set()  # keys whose newest program has not come back yet
        self.created = 0  # programs built so far (each one traced once)

    @contextmanager
    def borrow(self, key: Hashable, factory: Callable[[], P]) -> Iterator[P]:
        """Lend a program for `key`, building one with `factory` while fewer than per_key exist."""
        program, create, waiter = None, False, None
        with self._lock:
            idle = self._idle.get(key)
            if idle:
                program = idle.pop()
                self._idle.move_to_end(key)
            elif (self._count.get(key, 0) < self.per_key and key not in self._building
                  and self._tiers.get(key) != XLA):  # an XLA program serves its key alone
                self._count[key] = self._count.get(key, 0) + 1
                self._building.add(key)
                create = True
            else:
                waiter = _Waiter()
                self._waiters.setdefault(key, deque()).append(waiter)
        if waiter is not None:
            waiter.event.wait()
            program, create = waiter.program, waiter.create
        if create:
            try:
                program = factory()
            except BaseException:
                self._build_failed(key)
                raise
            with self._lock:
                self.created += 1
        try:
            yield program
        finally:
            self._give_back(key, program, built=create, factory=factory)

    def _build_failed(self, key: Hashable) -> None:
        with self._lock:
            waiters = self._waiters.get(key)
            if waiters:  # the slot passes to the next waiter, who builds
                waiter = waiters.popleft()
                waiter.create = True
                waiter.event.set()
            else:
                self._count[key] -= 1
                self._building.discard(key)

    def _give_back(self, key: Hashable, program, built: bool = False, factory=None) -> None:
        compile_now = None
        with self._lock:
            waiters = self._waiters.get(key)
            tier = self._tiers.get(key)
            if built:
                self._building.discard(key)
                if (waiters and len(waiters) > 1 and self._count[key] < self.per_key
                        and tier != XLA):
                    # The first program works; the waiter after the one it goes to builds another.
                    self._count[key] += 1
                    self._building.add(key)
                    builder = waiters[1]
                    del waiters[1]
                    builder.create = True
                    builder.event.set()
            if tier == XLA and getattr(program, "tier", XLA) != XLA:
                self._count[key] -= 1  # a traced program retires: the XLA one serves the key
                return
            if tier is None and self.tiered and getattr(program, "call_signature", None) is not None:
                if self.compile_when(program) and factory is not None:
                    self._tiers[key] = COMPILING
                    compile_now = xla_build(factory, program.call_signature)
                else:
                    self._set_tier(key, TRACED)
            self._hand_over(key, program)
        if compile_now is not None and not self._compiler.submit(
                key, compile_now, lambda xla: self._deliver(key, xla), owner=id(self)):
            with self._lock:  # it failed before, for another pool
                self._set_tier(key, TRACED)

    def _hand_over(self, key: Hashable, program) -> None:
        """To the longest waiter, else to the idle programs (the lock held)."""
        waiters = self._waiters.get(key)
        if waiters:
            waiter = waiters.popleft()
            waiter.program = program
            waiter.event.set()
            return
        self._idle.setdefault(key, []).append(program)
        self._idle.move_to_end(key)
        self._evict()

    def _set_tier(self, key: Hashable, tier: str) -> None:
        self._tiers[key] = tier
        self._tier_changed.notify_all()

    def _deliver(self, key: Hashable, program) -> None:
        """The compiler's answer for `key`: its XLA program, or None (stays traced)."""
        with self._lock:
            if program is None:
                self._set_tier(key, TRACED)
                return
            self._set_tier(key, XLA)
            self._count[key] = self._count.get(key, 0) + 1
            idle = self._idle.get(key, [])
            retired = [p for p in idle if getattr(p, "tier", XLA) != XLA]
            if retired:
                idle[:] = [p for p in idle if p not in retired]
                self._count[key] -= len(retired)
            self._hand_over(key, program)

    def tier(self, key: Hashable) -> str:
        """The tier that `key`'s next epoch runs on: "traced", "compiling" (still traced) or "xla"."""
        with self._lock:
            return self._tiers.get(key, TRACED)

    def wait_for_tier(self, key: Hashable, timeout: float) -> str:
        """Wait until `key` is on its final tier ("xla", or "traced" when it will not be
        compiled) and return it; the current tier after `timeout` seconds. A key whose
        first epoch has not come back yet is waited for too."""
        with self._tier_changed:
            if self.tiered:
                self._tier_changed.wait_for(lambda: self._tiers.get(key) in (XLA, TRACED), timeout)
            return self._tiers.get(key, TRACED)

    def _evict(self) -> None:
        """Forget idle programs of the least recently used architectures beyond max_idle."""
        idle_total = sum(len(programs) for programs in self._idle.values())
        while idle_total > self.max_idle:
            key, programs = next(iter(self._idle.items()))
            if not programs:
                del self._idle[key]
                continue
            program = programs.pop(0)
            self._count[key] -= 1
            if getattr(program, "tier", None) == XLA:
                self._tiers.pop(key, None)  # a later run of it traces and compiles anew
            idle_total -= 1
            if not programs:
                del self._idle[key]

    def programs(self) -> int:
        with self._lock:
            return sum(self._count.values())


# One pool for the process: runs of any session share it.
PROGRAMS = ProgramPool()
