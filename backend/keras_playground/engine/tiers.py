"""Tiered compilation: a run starts on the traced epoch at once; the same epoch compiled by
XLA is built in the background, and the pool lends it from then on (see `pool`).

XLA runs a small dense network's epoch about twice as fast as the traced graph, but it
compiles at the first call: 0.8-3 s alone, up to 10 s when 16 compile at once. So one
thread compiles for the whole process, one program at a time, in the order asked; a run
never waits for it. A compile that fails (an op XLA does not support) leaves its
architecture on the traced tier for good, logged once, never an error to a run.

XLA may sum in another order: the weights stay within 1e-5 of `model.fit(shuffle=False)`
(about 3e-7 after 12 epochs of the reference workload), not bit for bit. A pool made with
`tiered=False` never switches, for the tests that demand equality.
"""

from __future__ import annotations

import atexit
import ctypes
import logging
import queue
import threading
from typing import Callable, Hashable

log = logging.getLogger(__name__)

TRACED, COMPILING, XLA = "traced", "compiling", "xla"


def worth_compiling(program) -> bool:
    """Only dense networks on points. Measured on 2 cores (ms per epoch, traced -> XLA,
    and the compile): the reference 2-8-8-1 4.3 -> 2.5 (0.8-3 s); 6 layers of 8 on 7
    features 9.9 -> 3.8 (1-4 s); but the digits CNN 81 -> 223 (22 s) and the U-Net
    204 -> 4,200 (20 s), as XLA's CPU convolutions are slower than oneDNN's; and image
    augmentation does not compile at all (ImageProjectiveTransformV3)."""
    return len(getattr(program, "input_shape", ())) == 1


def release_freed_memory() -> None:
    """Give the memory a compile freed back to the system. LLVM builds a program in tens of
    megabytes it frees at the end, but glibc keeps freed memory in the compiling thread's
    arena: without this, a server's resident memory grows by ~140 MiB with its first
    compiles (`bench --server`). Elsewhere than glibc, nothing happens."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


class TierCompiler:
    """One background thread that builds XLA programs one at a time, in the order asked.

    `submit(key, build, deliver, owner)`: `build()` returns the compiled program (or
    raises); `deliver(program)` then gets it, or `deliver(None)` when it failed. A key
    already queued or compiling for the same `owner` (a pool) is not queued twice; a key
    (an architecture) that failed once is never tried again, whoever asks.

    `max_programs`: how many compiles the process may ask for in all (None: no bound).
    TensorFlow keeps every program XLA compiled for as long as the process lives, even
    once nothing calls it (its compilation cache has no eviction: tensorflow#64170), about
    7.5 MiB for a playground network: a server whose participants try architecture after
    architecture would grow without end. Past the bound, `submit` refuses (logged once)
    and what has no XLA program yet stays on the traced tier (whose idle programs the pool
    bounds): a new architecture, or one whose XLA program the pool dropped (its 64 idle
    programs past), as a compile again would take another 7.5 MiB for good. Priming's
    compile and the warmed lessons' count too.
    """

    def __init__(self, max_programs: int | None = None) -> None:
        self.max_programs = max_programs
        self.asked = 0  # compiles queued so far (each keeps its program for good once built)
        self._told_full = False
        self._lock = threading.Lock()
        self._jobs: queue.Queue = queue.Queue()
        self._pending: set[tuple] = set()  # (owner, key) queued or compiling
        self._failed: set[Hashable] = set()
        self._idle = threading.Condition(self._lock)
        self._running = threading.Event()
        self._running.set()
        self._thread: threading.Thread | None = None
        self._closing = False
        self.compiled = 0  # programs built so far

    def submit(self, key: Hashable, build: Callable[[], object],
               deliver: Callable[[object | None], None], owner: Hashable = None) -> bool:
        """Queue a compile; False (and nothing queued) when it is pending or failed before."""
        with self._lock:
            if (owner, key) in self._pending or key in self._failed or self._closing:
                return False
            if self.max_programs is not None and self.asked >= self.max_programs:
                if not self._told_full:
                    self._told_full = True
                    log.warning("XLA tier: %d compiles asked for, the most this process makes "
                                "(PLAYGROUND_XLA_PROGRAMS); programs not compiled yet stay traced", self.asked)
                return False
            self.asked += 1
            self._pending.add((owner, key))
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name="xla-tier-compiler", daemon=True)
                self._thread.start()
        self._jobs.put((owner, key, build, deliver))
        return True

    def failed(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._failed

    def pause(self) -> None:
        """Hold the next compile until `resume` (tests; a compile under way finishes)."""
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until nothing is queued or compiling; False after `timeout` seconds."""
        with self._idle:
            return self._idle.wait_for(lambda: not self._pending, timeout)

    def close(self, timeout: float = 60.0) -> None:
        """Drop what is queued and wait for the compile under way: called at exit, as
        TensorFlow torn down in the middle of a compile aborts the process."""
        with self._lock:
            self._closing = True
            thread = self._thread
        if thread is None:
            return
        self._running.set()
        self._jobs.put(None)
        thread.join(timeout)

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None or self._closing:
                return
            pending = (job[0], job[1])
            try:
                self._build_and_deliver(*job)
            finally:
                # Let go of the job (its build holds a pool's factory, a cohort and its
                # programs) before anyone waiting for the compiler hears it is idle: what a
                # finished compile held is garbage then, not kept until the next compile
                # (priming waits for its compile, then the process freezes what is alive).
                del job
                with self._idle:
                    self._pending.discard(pending)
                    del pending  # before the waiters can wake: the lock is still held
                    self._idle.notify_all()

    def _build_and_deliver(self, owner: Hashable, key: Hashable, build: Callable[[], object],
                           deliver: Callable[[object | None], None]) -> None:
        self._running.wait()
        try:
            program = build()
        except Exception as error:  # an unsupported op, out of memory: stay traced
            with self._lock:
                self._failed.add(key)
            first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
            log.warning("XLA tier unavailable for an architecture; it stays traced: %s: %s",
                        type(error).__name__, first_line[:300])
            program = None
        else:
            self.compiled += 1
        release_freed_memory()
        try:
            deliver(program)
        except Exception:  # the pool's bookkeeping must not kill the compiler thread
            log.exception("delivering an XLA program failed")


# One compiler for the process: compiles never overlap, whatever pool asked for them.
COMPILER = TierCompiler()
atexit.register(COMPILER.close)


def xla_build(factory: Callable[[], object], call_signature) -> Callable[[], object]:
    """What the compiler runs for a key: a fresh program from the pool's `factory`, turned
    to XLA and called once on `call_signature`'s shapes, so the compile happens here."""
    def build():
        program = factory().compile_with_xla()
        program.warm_up(call_signature)
        return program
    return build
