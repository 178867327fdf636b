"""Training one submitted run on the calling thread, the same for every runner.

A `Trainer` drives a run's session under its control, publishes its events on the bus,
and records its end in the store. It shares one frame budget among the runs it trains
at once, so drawing pictures never starves the training itself. The local runner calls
it from its thread pool; a distributed worker from its actor threads.
"""

from __future__ import annotations

import logging
import tempfile
import threading
import traceback
from pathlib import Path
from typing import Callable

from ..engine.control import Control, drive
from ..engine.session import TrainingSession
from ..specs import DoneEvent, ErrorEvent, Event, RunSpec
from ..store import RunStore
from .bus import EventBus

log = logging.getLogger(__name__)

# Called when a run ends: (run_id, done event or None if it failed, the session or None).
Finisher = Callable[[str, DoneEvent | None, TrainingSession | None], None]


def model_bytes(session: TrainingSession) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.keras"
        session.model.save(path)
        return path.read_bytes()


def store_finisher(store: RunStore) -> Finisher:
    """Record a run's end in `store`: state, every epoch, final figures, the model."""

    def finish(run_id: str, done: DoneEvent | None, session: TrainingSession | None) -> None:
        history = [e.model_dump(mode="json") for e in session.history] if session else []
        if done is None:
            store.finish(run_id, "failed", history, None)
            return
        trained = model_bytes(session) if session is not None and session.epoch > 0 else None
        store.finish(run_id, done.state, history, done.model_dump(mode="json"), trained)

    return finish


def unstarted_done(message: str) -> DoneEvent:
    """The end of a run stopped before it trained an epoch."""
    return DoneEvent(state="stopped", epochs=0, loss=None, metric=None, val_loss=None,
                     val_metric=None, test_loss=None, test_metric=None, metric_name="accuracy",
                     confusion_matrix=None, parameters=0, message=message)


class Trainer:
    def __init__(self, bus: EventBus, on_finish: Finisher, *, resolution: int = 64, thumb: int = 16,
                 frames_per_second: float = 20.0, frame_budget: float = 150.0,
                 on_interrupt: Callable[[str, TrainingSession], None] | None = None,
                 name: str | None = None):
        """`on_interrupt`: what to do with a run cut short by a shutdown (None: nothing; the
        local runner's server marks it interrupted). `name`: who trains (a worker's name),
        told in each run's `running` status."""
        self.bus, self.on_finish, self.on_interrupt = bus, on_finish, on_interrupt
        self.resolution, self.thumb, self.fps = resolution, thumb, frames_per_second
        self.frame_budget = frame_budget
        self.name = name
        self.training: dict[str, TrainingSession] = {}
        self._lock = threading.Lock()

    def publish(self, run_id: str, event: Event) -> None:
        self.bus.publish_json(run_id, event.kind, event.model_dump_json())

    def _share_frames(self) -> None:
        """Give each training run its share of the frame budget (at most `fps` each)."""
        with self._lock:
            sessions = list(self.training.values())
        share = min(self.fps, self.frame_budget / max(len(sessions), 1))
        for session in sessions:
            session.max_frames_per_second = share

    def _emit(self, run_id: str, event: Event) -> None:
        if event.kind == "done":
            return  # published by `train` once the end is recorded
        if event.kind == "status" and self.name:
            event = event.model_copy(update={"worker": self.name})
        self.publish(run_id, event)

    def train(self, run_id: str, spec: RunSpec, control: Control, *, start_paused: bool = False,
              is_cancelled: Callable[[], bool] = lambda: False) -> None:
        """Train `spec` to its end; every outcome ends with `done` or `error` on the bus."""
        session = None
        try:
            session = TrainingSession(spec, resolution=self.resolution, thumb=self.thumb,
                                      max_frames_per_second=self.fps)
            with self._lock:
                self.training[run_id] = session
            self._share_frames()
            done = drive(session, control, lambda e: self._emit(run_id, e),
                         start_paused=start_paused, is_cancelled=is_cancelled)
            if is_cancelled() and done.state == "stopped":
                if self.on_interrupt is not None:
                    self.on_interrupt(run_id, session)
                return
            # `done` waits until the record is stored: a client that reads the run on
            # `done` must find it final.
            self.on_finish(run_id, done, session)
            self.publish(run_id, done)
        except Exception as exc:  # a bug or a resource error must end the run visibly
            log.error("run %s failed:\n%s", run_id, traceback.format_exc())
            self.on_finish(run_id, None, session)
            self.publish(run_id, ErrorEvent(message=f"Training failed: {exc}"))
        finally:
            with self._lock:
                self.training.pop(run_id, None)
            self._share_frames()

