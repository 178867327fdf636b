"""Training one submitted run on the calling thread, the same for every runner.

A `Trainer` drives a run's session under its control, publishes its events on the bus,
and ends it through `RunEnds` (stored, then told). It shares one frame budget among the runs it trains
at once, so drawing pictures never starves the training itself. The local runner calls
it from its thread pool; a distributed worker from its actor threads.

Whatever fails (the training, storing the end, storing the failure, publishing), the
watchers get `done` or `error` and the record ends: a step that cannot be done now is kept
and retried (`ends.RunEnds`), and the calling thread goes on.
"""

from __future__ import annotations

import threading
from typing import Callable

from ..config import Settings
from ..engine.control import Control, drive
from ..engine.session import TrainingSession
from ..specs import Event, RunSpec
from .ends import RunEnds

INTERRUPTED = "The {who} training this run was shut down before the run finished. Press Train to start again."


def history_of(session: TrainingSession | None) -> list[dict]:
    return [e.model_dump(mode="json") for e in session.history] if session else []


def trainer_for(settings: Settings, ends: RunEnds, *, name: str | None = None) -> "Trainer":
    """The trainer the settings describe (the embedded server's, or a worker's)."""
    return Trainer(ends, resolution=settings.grid_resolution, thumb=settings.thumb_resolution,
                   frames_per_second=settings.frames_per_second, frame_budget=settings.frame_budget,
                   name=name, paused_timeout=settings.paused_run_timeout)


class Trainer:
    def __init__(self, ends: RunEnds, *, resolution: int = 64, thumb: int = 16,
                 frames_per_second: float = 20.0, frame_budget: float = 150.0,
                 name: str | None = None, paused_timeout: float | None = None):
        """`ends`: how runs end (stored, then told). `name`: who trains (a worker's name),
        told in each run's `running` status. `paused_timeout`: seconds a run may stay
        paused before it is stopped (None: forever)."""
        self.paused_timeout = paused_timeout
        self.ends, self.bus = ends, ends.bus
        self.resolution, self.thumb, self.fps = resolution, thumb, frames_per_second
        self.frame_budget = frame_budget
        self.name = name
        self.training: dict[str, TrainingSession] = {}
        self._lock = threading.Lock()

    def publish(self, run_id: str, event: Event) -> None:
        # Of the frames (pictures), a reader needs only the newest; every other event counts.
        self.bus.publish_json(run_id, event.kind, event.model_dump_json(),
                              retain="latest" if event.kind == "frame" else "all")

    def _share_frames(self) -> None:
        """Give each training run its share of the frame budget (at most `fps` each)."""
        with self._lock:
            sessions = list(self.training.values())
        share = min(self.fps, self.frame_budget / max(len(sessions), 1))
        for session in sessions:
            session.max_frames_per_second = share

    def _emit(self, run_id: str, event: Event) -> None:
        if event.kind == "done":
            return  # published by `ends` once the end is recorded
        if event.kind == "status" and self.name:
            event = event.model_copy(update={"worker": self.name})
        self.publish(run_id, event)

    def train(self, run_id: str, spec: RunSpec, control: Control, *, start_paused: bool = False,
              is_cancelled: Callable[[], bool] = lambda: False,
              on_end: Callable[[], None] = lambda: None) -> None:
        """Train `spec` to its end; every outcome ends with `done` or `error` on the bus and
        an ended record, now or (if the store or the bus is down) once they work again.
        A run cut short by `is_cancelled` (its process shutting down) ends `interrupted`.
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
                # A control that can answer (a worker's, through Redis) takes predict commands.
                answer = getattr(control, "answer", lambda command, result: None)
                done = drive(session, control, lambda e: self._emit(run_id, e),
                             start_paused=start_paused, paused_timeout=self.paused_timeout,
                             is_cancelled=is_cancelled, answer=answer)
                if is_cancelled() and done.state == "stopped":
                    on_end()
                    self.ends.interrupted(run_id, INTERRUPTED.format(who=self.name and "worker" or "server"),
                                          history_of(session))
                    return
                trained = session  # the model is saved as the end is stored (and again if that is retried)
                self.ends.finished(run_id, done, history_of(session),
                                   lambda: trained.model_file() if trained.epoch > 0 else None,
                                   before_publish=on_end)
            except BaseException as exc:  # a bug, a resource error, a time limit: end the run visibly
                on_end()
                self.fail(run_id, session, exc)
                if not isinstance(exc, Exception):
                    raise
        finally:
            with self._lock:
                self.training.pop(run_id, None)
            self._share_frames()

    def fail(self, run_id: str, session: TrainingSession | None, exc: BaseException) -> None:
        """End a run as `failed` (what it trained is kept): the details go to the log under
        an error id; watchers get a plain message with that id. Never raises an Exception."""
        self.ends.failed(run_id, history_of(session), error=exc)
