"""Training one submitted run on the calling thread, the same for every runner.

A `Trainer` drives a run's session under its control, publishes its events on the bus,
and records its end in the store. It shares one frame budget among the runs it trains
at once, so drawing pictures never starves the training itself. The local runner calls
it from its thread pool; a distributed worker from its actor threads.

Whatever fails (the training, storing the end, storing the failure, publishing), the
watchers get `done` or `error` and the record ends: a step that cannot be done now is kept
and retried (`ends.Ends`), and the calling thread goes on.
"""

from __future__ import annotations

import logging
import secrets
import tempfile
import threading
from pathlib import Path
from typing import Callable

from ..engine.control import Control, drive
from ..engine.session import TrainingSession
from ..specs import DoneEvent, ErrorEvent, Event, RunSpec
from ..store import RunStore
from .bus import EventBus
from .ends import Ends, attempt

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


def failure_message(error_id: str) -> str:
    """What every watcher of a failed run reads: plain words and an id; never the exception
    (it can carry paths and internals), which the server's log has under that id."""
    return (f"Training failed (error {error_id}). The server's log has the details; "
            "press Train to start again.")


def unstarted_done(message: str) -> DoneEvent:
    """The end of a run stopped before it trained an epoch."""
    return DoneEvent(state="stopped", epochs=0, loss=None, metric=None, val_loss=None,
                     val_metric=None, test_loss=None, test_metric=None, metric_name="accuracy",
                     confusion_matrix=None, parameters=0, message=message)


class Trainer:
    def __init__(self, bus: EventBus, on_finish: Finisher, *, resolution: int = 64, thumb: int = 16,
                 frames_per_second: float = 20.0, frame_budget: float = 150.0,
                 on_interrupt: Callable[[str, TrainingSession], None] | None = None,
                 name: str | None = None, paused_timeout: float | None = None,
                 retry_ends_every: float = 5.0):
        """`on_interrupt`: what to do with a run cut short by a shutdown (None: nothing; the
        local runner's server marks it interrupted). `name`: who trains (a worker's name),
        told in each run's `running` status. `paused_timeout`: seconds a run may stay
        paused before it is stopped (None: forever). `retry_ends_every`: seconds between
        tries to store and tell the ends that failed (`ends.Ends`)."""
        self.paused_timeout = paused_timeout
        self.bus, self.on_finish, self.on_interrupt = bus, on_finish, on_interrupt
        self.resolution, self.thumb, self.fps = resolution, thumb, frames_per_second
        self.frame_budget = frame_budget
        self.name = name
        self.training: dict[str, TrainingSession] = {}
        self._lock = threading.Lock()
        self.ends = Ends(retry_ends_every)

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
              is_cancelled: Callable[[], bool] = lambda: False,
              on_end: Callable[[], None] = lambda: None) -> None:
        """Train `spec` to its end; every outcome ends with `done` or `error` on the bus and
        an ended record, now or (if the store or the bus is down) once they work again.
        `on_end` is called once the outcome is known, before `done` or `error` goes out.
        Never raises an Exception; an interrupt (e.g. dramatiq's time limit, raised into the
        thread) fails the run first, then goes on up."""
        session = None
        try:
            try:
                session = TrainingSession(spec, resolution=self.resolution, thumb=self.thumb,
                                          max_frames_per_second=self.fps)
                with self._lock:
                    self.training[run_id] = session
                self._share_frames()
                done = drive(session, control, lambda e: self._emit(run_id, e),
                             start_paused=start_paused, paused_timeout=self.paused_timeout,
                             is_cancelled=is_cancelled)
                if is_cancelled() and done.state == "stopped":
                    if self.on_interrupt is not None:
                        self.on_interrupt(run_id, session)
                    return
                # `done` waits until the record is stored: a client that reads the run on
                # `done` must find it final.
                unstored = attempt(lambda: self.on_finish(run_id, done, session), f"run {run_id}: storing its end")
            except BaseException as exc:  # a bug, a resource error, a time limit: end the run visibly
                on_end()
                self.fail(run_id, session, exc)
                if not isinstance(exc, Exception):
                    raise
                return
            on_end()
            if unstored is None:
                self.ends.settle(run_id, "publishing done", lambda: self.publish(run_id, done))
            else:  # trained, but its end cannot be stored: fail it, keep trying to store that
                self.fail(run_id, session, unstored)
        finally:
            with self._lock:
                self.training.pop(run_id, None)
            self._share_frames()

    def fail(self, run_id: str, session: TrainingSession | None, exc: BaseException) -> None:
        """End a run as `failed` (what it trained is kept): the details go to the log under
        an error id; watchers get a plain message with that id. Never raises an Exception."""
        error_id = secrets.token_hex(4)
        log.error("run %s failed (error %s)", run_id, error_id, exc_info=(type(exc), exc, exc.__traceback__))
        event = ErrorEvent(message=failure_message(error_id))
        self.ends.settle(run_id, "storing its failure", lambda: self.on_finish(run_id, None, session))
        # Told at once even if the store is down (the record follows when it can).
        self.ends.settle(run_id, "publishing its error", lambda: self.publish(run_id, event),
                         after_earlier=False)
