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
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from contextlib import contextmanager
from typing import Callable, Hashable, Iterator, TypeVar

P = TypeVar("P")


class _Waiter:
    __slots__ = ("event", "program", "create")

    def __init__(self) -> None:
        self.event = threading.Event()
        self.program = None
        self.create = False  # told to build a program itself (a build failed before it)


class ProgramPool:
    def __init__(self, per_key: int = 2, max_idle: int = 64):
        self.per_key, self.max_idle = per_key, max_idle
        self._lock = threading.Lock()
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
            elif self._count.get(key, 0) < self.per_key and key not in self._building:
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
            self._give_back(key, program, built=create)

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

    def _give_back(self, key: Hashable, program, built: bool = False) -> None:
        with self._lock:
            waiters = self._waiters.get(key)
            if built:
                self._building.discard(key)
                if waiters and len(waiters) > 1 and self._count[key] < self.per_key:
                    # The first program works; the waiter after the one it goes to builds another.
                    self._count[key] += 1
                    self._building.add(key)
                    builder = waiters[1]
                    del waiters[1]
                    builder.create = True
                    builder.event.set()
            if waiters:
                waiter = waiters.popleft()
                waiter.program = program
                waiter.event.set()
                return
            self._idle.setdefault(key, []).append(program)
            self._idle.move_to_end(key)
            self._evict()

    def _evict(self) -> None:
        """Forget idle programs of the least recently used architectures beyond max_idle."""
        idle_total = sum(len(programs) for programs in self._idle.values())
        while idle_total > self.max_idle:
            key, programs = next(iter(self._idle.items()))
            if not programs:
                del self._idle[key]
                continue
            programs.pop(0)
            self._count[key] -= 1
            idle_total -= 1
            if not programs:
                del self._idle[key]

    def programs(self) -> int:
        with self._lock:
            return sum(self._count.values())


# One pool for the process: runs of any session share it.
PROGRAMS = ProgramPool()
