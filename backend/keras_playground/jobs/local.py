"""The embedded runner: training threads in the web server's own process.

`LocalRunner` (the embedded default): a fixed pool of training threads and a FIFO queue
beyond it. A queued run is told its position whenever the queue moves. TensorFlow
releases the GIL while a compiled epoch runs, so a few threads use both cores; beyond
that, use worker processes (`distributed.DramatiqRunner`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field

from ..engine.control import Command, QueueControl, respond
from ..specs import RunSpec, StatusEvent
from .runner import Runner
from .training import INTERRUPTED, Trainer

log = logging.getLogger(__name__)


@dataclass
class _Job:
    run_id: str
    spec: RunSpec
    control: QueueControl = field(default_factory=QueueControl)
    # Commands that came while queued: a stop must not be lost, a pause holds the start.
    start_paused: bool = False
    cancelled: bool = False


class LocalRunner(Runner):
    def __init__(self, trainer: Trainer, *, threads: int = 4):
        super().__init__(trainer.ends)
        self.trainer = trainer
        self._queue: deque[_Job] = deque()
        self._active: dict[str, _Job] = {}
        self._cond = threading.Condition()
        self._closing = False
        self._threads = [threading.Thread(target=self._work, name=f"trainer-{i}", daemon=True)
                         for i in range(threads)]
        for thread in self._threads:
            thread.start()

    # ----- the public side -----

    def submit(self, run_id: str, spec: RunSpec, paused: bool = False) -> None:
        with self._cond:
            job = _Job(run_id, spec)
            job.start_paused = paused
            self._queue.append(job)
            self._active[run_id] = job
            position = len(self._queue)
            self._cond.notify()
        self.trainer.publish(run_id, StatusEvent(state="queued", queue_position=position))

    def control(self, run_id: str, command: Command) -> bool:
        with self._cond:
            job = self._active.get(run_id)
            if job is None:
                return False
            queued = job in self._queue
            if queued and command.action == "stop":
                self._queue.remove(job)
                job.cancelled = True
            elif queued and command.action in ("pause", "step"):
                job.start_paused = True
        if job.cancelled:
            self._end_unstarted(job)
            self._announce_positions()
        else:
            job.control.send(command)
        return True

    def predict(self, run_id: str, command: Command, timeout: float) -> dict | None:
        # In this process the session is at hand: it answers at once, even between epochs.
        # Once the run has left `_active` its end is stored (the model with it): the kept
        # model answers from then on, though the thread may not have let go of the session yet.
        with self._cond:
            active = run_id in self._active
        session = self.trainer.training.get(run_id) if active else None
        if session is None:
            return None
        return respond(session, command)  # predict or apply, as the training loop answers them

    def active_count(self) -> int:
        with self._cond:
            return len(self._active)

    def shutdown(self, timeout: float = 10.0) -> None:
        """Queued runs end `interrupted` now; training ones as their thread notices (their
        epochs are kept), or here if it has not within `timeout` seconds."""
        with self._cond:
            self._closing = True
            queued = [job.run_id for job in self._queue]
            self._queue.clear()
            self._cond.notify_all()
        message = INTERRUPTED.format(who="server")
        for run_id in queued:
            with self._cond:
                self._active.pop(run_id, None)
            self.ends.interrupted(run_id, message)
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(deadline - time.monotonic(), 0))
        with self._cond:
            left = list(self._active)
        for run_id in left:  # still training: its end is stored without its epochs
            self.ends.interrupted(run_id, message)

    # ----- the training threads -----

    def _announce_positions(self) -> None:
        with self._cond:
            waiting = [(job.run_id, i + 1) for i, job in enumerate(self._queue)]
        for run_id, position in waiting:
            self.trainer.publish(run_id, StatusEvent(state="queued", queue_position=position))

    def _end_unstarted(self, job: _Job) -> None:
        with self._cond:
            self._active.pop(job.run_id, None)
        self.ends.stopped_before_start(job.run_id)

    def _next_job(self) -> _Job | None:
        with self._cond:
            while not self._queue and not self._closing:
                self._cond.wait()
            if self._closing:
                return None
            job = self._queue.popleft()
        try:
            self._announce_positions()
        except Exception:  # only news for the queued runs: never lose the job over it
            log.exception("announcing queue positions failed")
        return job

    def _work(self) -> None:
        """A training thread: it outlives every run, whatever happens to one."""
        while True:
            job = self._next_job()
            if job is None:
                return
            try:
                self.trainer.train(job.run_id, job.spec, job.control, start_paused=job.start_paused,
                                   is_cancelled=lambda: self._closing, on_end=lambda: self._ended(job))
            except BaseException:  # train ends the run itself; this thread must go on
                log.exception("run %s: the trainer raised", job.run_id)
            finally:
                self._ended(job)

    def _ended(self, job: _Job) -> None:
        """The run takes no more commands (its end is going out to the watchers)."""
        with self._cond:
            self._active.pop(job.run_id, None)
