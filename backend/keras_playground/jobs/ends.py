"""How runs end: `RunEnds` stores each end, then tells it; what fails is kept and retried.

Ending a run takes a few steps: store its record, publish `done` or `error`, release what
the worker holds. Any of them may fail for a while: a full disk, SQLite locked, Redis
restarting. `Ends.settle` tries each step a few times with backoff; what still fails is
kept in memory, in order, and a background thread tries it again every few seconds, so
a run's record ends (and its client's cap is released) as soon as the store works again.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable

from ..specs import DoneEvent, ErrorEvent
from ..store import RunStore
from .bus import EventBus

log = logging.getLogger(__name__)

Step = Callable[[], None]
ATTEMPTS = 3  # tries of a step before it waits for the background retry
BACKOFF = 0.2  # seconds before the second try; doubles after each


def attempt(step: Step, what: str, attempts: int = ATTEMPTS) -> Exception | None:
    """Run `step`, retrying with backoff; None once done, else the last error (logged)."""
    for i in range(attempts):
        try:
            step()
            return None
        except Exception as exc:
            log.warning("%s failed (try %d of %d): %r", what, i + 1, attempts, exc)
            if i + 1 == attempts:
                return exc
            time.sleep(BACKOFF * 2 ** i)
    return None


class Ends:
    """Steps of runs' ends waiting to be done again, retried every `retry_every` seconds."""

    def __init__(self, retry_every: float = 5.0):
        self.retry_every = retry_every
        self._waiting: dict[str, list[tuple[str, Step]]] = {}  # run id -> steps, in order
        self._lock = threading.Lock()
        self._retrier: threading.Thread | None = None

    def settle(self, run_id: str, what: str, step: Step, *, after_earlier: bool = True) -> bool:
        """Do `step` of `run_id`'s end now, or keep it for later; True if done now.
        `after_earlier`: wait behind the run's steps still kept (e.g. release a run only
        once its end is stored); else try now whatever waits."""
        with self._lock:
            queued = after_earlier and bool(self._waiting.get(run_id))
        if not queued and attempt(step, f"run {run_id}: {what}") is None:
            return True
        with self._lock:
            self._waiting.setdefault(run_id, []).append((what, step))
            if self._retrier is None:
                self._retrier = threading.Thread(target=self._retry, name="run-ends", daemon=True)
                self._retrier.start()
        log.error("run %s: %s kept in memory; retried every %.0f s", run_id, what, self.retry_every)
        return False

    def waiting(self) -> list[str]:
        """Runs whose end is not wholly stored and told yet."""
        with self._lock:
            return list(self._waiting)

    def retry_now(self) -> None:
        """Try every kept step once more, each run's in order (stopping at its first failure)."""
        with self._lock:
            runs = {run_id: list(steps) for run_id, steps in self._waiting.items()}
        for run_id, steps in runs.items():
            for item in steps:
                what, step = item
                if attempt(step, f"run {run_id}: {what} (kept)", attempts=1) is not None:
                    break
                with self._lock:
                    left = self._waiting.get(run_id, [])
                    if item in left:
                        left.remove(item)
                    if not left:
                        self._waiting.pop(run_id, None)
                log.info("run %s: %s done at last", run_id, what)

    def _retry(self) -> None:
        while True:
            time.sleep(self.retry_every)
            try:
                self.retry_now()
            except BaseException:  # never lose the thread that holds the ends
                log.exception("retrying kept run ends failed")
            with self._lock:
                if not self._waiting:
                    self._retrier = None
                    return


def unstarted_done(message: str) -> DoneEvent:
    """The end of a run stopped before it trained an epoch."""
    return DoneEvent(state="stopped", epochs=0, loss=None, metric=None, val_loss=None,
                     val_metric=None, test_loss=None, test_metric=None, metric_name="accuracy",
                     confusion_matrix=None, parameters=0, message=message)


class RunEnds:
    """The one owner of a run's end, one method per way a run ends. Each stores the
    record first, then publishes the one final event (`done` only once the record is
    stored: a client that reads the run on `done` finds it final; an `error` at once,
    whatever the store does). A step that fails is kept and retried (`pending`)."""

    def __init__(self, store: RunStore, bus: EventBus, retry_every: float = 5.0):
        self.store, self.bus = store, bus
        self.pending = Ends(retry_every)

    def _publish(self, run_id: str, event: DoneEvent | ErrorEvent) -> None:
        self.bus.publish_json(run_id, event.kind, event.model_dump_json())

    def finished(self, run_id: str, done: DoneEvent, history: list[dict], model: bytes | None, *,
                 before_publish: Callable[[], None] = lambda: None) -> Exception | None:
        """A run that trained to its end (finished, stopped, early-stopped, diverged). Its
        record is stored now (a few tries); None once `done` is on its way, else the error
        that kept it from the store (the run has to fail then: `failed`). `before_publish`
        runs once the outcome is known, before `done` goes out."""
        unstored = attempt(lambda: self.store.finish(run_id, done.state, history, done.model_dump(mode="json"),
                                                     model), f"run {run_id}: storing its end")
        before_publish()
        if unstored is None:
            self.pending.settle(run_id, "publishing done", lambda: self._publish(run_id, done))
        return unstored

    def stopped_before_start(self, run_id: str, message: str = "Stopped before it started.") -> None:
        done = unstarted_done(message)
        self.pending.settle(run_id, "storing its end", lambda: self.store.finish(
            run_id, "stopped", [], done.model_dump(mode="json")))
        self.pending.settle(run_id, "publishing done", lambda: self._publish(run_id, done))

    def failed(self, run_id: str, message: str, history: list[dict] | None = None) -> None:
        """A run that cannot go on (a bug, a resource error, its worker gone): what it
        trained is kept; every watcher reads `message`."""
        self._without_done(run_id, "failed", message, history or [])

    def interrupted(self, run_id: str, message: str, history: list[dict] | None = None) -> None:
        """A run cut short by its process shutting down (a restart, a scale-down)."""
        self._without_done(run_id, "interrupted", message, history or [])

    def _without_done(self, run_id: str, state: str, message: str, history: list[dict]) -> None:
        event = ErrorEvent(message=message)
        self.pending.settle(run_id, f"storing its {state} end",
                            lambda: self.store.finish(run_id, state, history, None))
        # Told at once even if the store is down (the record follows when it can).
        self.pending.settle(run_id, "publishing its error", lambda: self._publish(run_id, event),
                            after_earlier=False)
