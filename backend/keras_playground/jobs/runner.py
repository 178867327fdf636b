"""Runners train submitted runs in the background and publish their events on the bus.

`LocalRunner` (the embedded default): a fixed pool of training threads and a FIFO queue
beyond it. A queued run is told its position whenever the queue moves. TensorFlow
releases the GIL while a compiled epoch runs, so a few threads use both cores; beyond
that, use worker processes (the distributed runner).
"""

from __future__ import annotations

import logging
import threading
import traceback
from abc import ABC, abstractmethod
from collections import deque
from dataclasses import dataclass, field
from typing import Callable

from ..engine.control import Command, QueueControl, drive
from ..engine.session import TrainingSession
from ..specs import DoneEvent, ErrorEvent, Event, RunSpec, StatusEvent
from .bus import EventBus

log = logging.getLogger(__name__)

# Called when a run ends: (run_id, done event or None if it failed, the session or None).
Finisher = Callable[[str, DoneEvent | None, TrainingSession | None], None]


class Runner(ABC):
    @abstractmethod
    def submit(self, run_id: str, spec: RunSpec, paused: bool = False) -> None: ...

    @abstractmethod
    def control(self, run_id: str, command: Command) -> bool:
        """Pass a command to a queued or active run; False if the run is not here."""

    @abstractmethod
    def active_count(self) -> int:
        """Runs queued or training."""

    @abstractmethod
    def shutdown(self) -> list[str]:
        """Stop everything; return the ids of runs that did not finish."""


@dataclass
class _Job:
    run_id: str
    spec: RunSpec
    control: QueueControl = field(default_factory=QueueControl)
    # Commands that came while queued: a stop must not be lost, a pause holds the start.
    start_paused: bool = False
    cancelled: bool = False


class LocalRunner(Runner):
    def __init__(self, bus: EventBus, on_finish: Finisher, *, threads: int = 4,
                 resolution: int = 64, thumb: int = 16, frames_per_second: float = 20.0,
                 frame_budget: float = 150.0):
        self.bus, self.on_finish = bus, on_finish
        self.resolution, self.thumb, self.fps = resolution, thumb, frames_per_second
        # Frames a second for all runs together: a crowded room shares them, so drawing
        # pictures never starves the training itself. Every epoch's figures still go out.
        self.frame_budget = frame_budget
        self._training: dict[str, TrainingSession] = {}
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
        self._publish(run_id, StatusEvent(state="queued", queue_position=position))

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

    def active_count(self) -> int:
        with self._cond:
            return len(self._active)

    def shutdown(self, timeout: float = 10.0) -> list[str]:
        with self._cond:
            self._closing = True
            unfinished = list(self._active)
            self._queue.clear()
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(timeout)
        return unfinished

    # ----- the training threads -----

    def _publish(self, run_id: str, event: Event) -> None:
        self.bus.publish_json(run_id, event.kind, event.model_dump_json())

    def _announce_positions(self) -> None:
        with self._cond:
            waiting = [(job.run_id, i + 1) for i, job in enumerate(self._queue)]
        for run_id, position in waiting:
            self._publish(run_id, StatusEvent(state="queued", queue_position=position))

    def _end_unstarted(self, job: _Job) -> None:
        with self._cond:
            self._active.pop(job.run_id, None)
        done = DoneEvent(state="stopped", epochs=0, loss=None, metric=None, val_loss=None,
                         val_metric=None, test_loss=None, test_metric=None, metric_name="accuracy",
                         confusion_matrix=None, parameters=0, message="Stopped before it started.")
        self.on_finish(job.run_id, done, None)
        self._publish(job.run_id, done)

    def _next_job(self) -> _Job | None:
        with self._cond:
            while not self._queue and not self._closing:
                self._cond.wait()
            if self._closing:
                return None
            job = self._queue.popleft()
        self._announce_positions()
        return job

    def _work(self) -> None:
        while (job := self._next_job()) is not None:
            self._train(job)

    def _share_frames(self) -> None:
        """Give each training run its share of the frame budget (at most `fps` each)."""
        with self._cond:
            sessions = list(self._training.values())
        share = min(self.fps, self.frame_budget / max(len(sessions), 1))
        for session in sessions:
            session.max_frames_per_second = share

    def _train(self, job: _Job) -> None:
        session = None
        try:
            session = TrainingSession(job.spec, resolution=self.resolution, thumb=self.thumb,
                                      max_frames_per_second=self.fps)
            with self._cond:
                self._training[job.run_id] = session
            self._share_frames()
            # `done` waits until the record is stored: a client that reads the run on
            # `done` must find it final.
            done = drive(session, job.control,
                         lambda e: e.kind == "done" or self._publish(job.run_id, e),
                         start_paused=job.start_paused, is_cancelled=lambda: self._closing)
            if self._closing and done.state == "stopped":
                return  # shut down mid-run: the store marks it interrupted
            self.on_finish(job.run_id, done, session)
            self._publish(job.run_id, done)
        except Exception as exc:  # a bug or a resource error must end the run visibly
            log.error("run %s failed:\n%s", job.run_id, traceback.format_exc())
            self.on_finish(job.run_id, None, session)
            self._publish(job.run_id, ErrorEvent(message=f"Training failed: {exc}"))
        finally:
            with self._cond:
                self._active.pop(job.run_id, None)
                self._training.pop(job.run_id, None)
            self._share_frames()
