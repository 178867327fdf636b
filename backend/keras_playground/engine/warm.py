"""Warm programs: the lesson steps' programs, traced before anyone presses Train.

A class starting a lesson step all presses Train within seconds. Tracing that step's
programs then (the solo epoch, half a second or more; the cohort's stacked epoch, about
as much) would hold every first epoch. So at start, one background thread trains a
throwaway epoch of each step, in course order: the pool keeps the traced solo program and
queues its XLA tier with the one compiler (`tiers`), and the cohort keeps its traced
stacked program. A run that comes before its step is warm traces it as it would have.

Tracing is Python, under the GIL: a thread's CPU priority does not keep it from slowing
the training threads. So the warming works only while the server is otherwise idle (no
run active, nothing compiling), and waits between steps while it is not.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from typing import Callable, Iterable

from ..specs import RunSpec

log = logging.getLogger(__name__)


def lower_priority() -> None:
    """Make the calling thread the last the CPU serves (Linux threads have their own nice
    value; elsewhere, nothing happens)."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
    except (AttributeError, OSError):
        pass


class Warmer:
    """Warms `specs` on a thread of its own; `stop()` ends it after the program at hand."""

    def __init__(self, specs: Iterable[RunSpec], idle: Callable[[], bool] = lambda: True,
                 poll_seconds: float = 0.5, **session_options):
        """`idle()`: whether the server trains nothing now (warming waits until it does)."""
        self.specs = list(specs)
        self.idle, self.poll_seconds = idle, poll_seconds
        self.session_options = session_options
        self.warmed = self.failed = 0
        self.done = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._work, name="warm-lessons", daemon=True)

    def start(self) -> "Warmer":
        self._thread.start()
        # Stopped before the interpreter tears down: TensorFlow killed mid-call aborts the process.
        atexit.register(self.stop)
        return self

    def stop(self, timeout: float = 30.0) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _wait_until_idle(self) -> bool:
        """Until no run trains and the compiler has nothing to do; False when stopped."""
        from .tiers import COMPILER

        while not self._stopping.is_set():
            if self.idle() and COMPILER.wait_idle(0):
                return True
            self._stopping.wait(self.poll_seconds)
        return False

    def _work(self) -> None:
        from .session import TrainingSession  # TensorFlow: this thread's, not the importer's

        lower_priority()
        seen: set = set()
        try:
            for spec in self.specs:
                if not self._wait_until_idle():
                    return
                try:
                    session = TrainingSession(spec, max_frames_per_second=None, **self.session_options)
                    session.leave_cohort()  # it trains no epoch of its own: nobody waits for it
                    key = (session.key, session.cohort_key)
                    if key in seen:
                        continue
                    seen.add(key)
                    warm_session(session)
                    self.warmed += 1
                except Exception:  # a step that cannot be warmed is traced when it runs
                    self.failed += 1
                    log.warning("warming a lesson step's programs failed", exc_info=True)
        finally:
            self.done.set()


def warm_session(session) -> None:
    """Trace a session's programs (solo, and its cohort's) with a throwaway epoch from its
    initial state: nothing of the run changes."""
    import numpy as np
    import tensorflow as tf

    from .microscopy import patches

    x, y = session._x, session._y
    if session.microscopy:  # trains on patches
        xp, yp = patches(session._train_x, session._train_y, session.spec.unet.patch, np.random.default_rng(0))
        x, y = tf.constant(xp), tf.constant(yp)
    with session._borrow() as program:
        session._ensure_state(program)
        state = program.initial_state(session.spec.training.seed, session.learning_rate)
        request = {"state": state, "x": x, "y": y, "perm": tf.range(session.spec.dataset.n_train),
                   "xv": session._xv, "yv": session._yv, "inputs": session._probe[1], "want_frame": True}
        program.run(state, x, y, request["perm"], session._xv, session._yv, session._probe[1], True)
    if session._cohort is not None:
        session._cohort.warm(request)
