"""How runs end: `RunEnds` stores each end, then tells it; what fails is kept and retried.

Ending a run takes a few steps: store its record, publish `done` or `error`, release what
the worker holds. Any of them may fail for a while: a full disk, SQLite locked, Redis
restarting. `Ends.settle` tries each step a few times with backoff; what still fails is
kept in memory, in order, and a background thread tries it again every few seconds, so
a run's record ends (and its client's cap is released) as soon as the store works again.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections import OrderedDict
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

    def settle(self, run_id: str, what: str, step: Step, *, after_earlier: bool = True,
               attempts: int = ATTEMPTS) -> bool:
        """Do `step` of `run_id`'s end now (up to `attempts` tries), or keep it for later;
        True if done now. `after_earlier`: wait behind the run's steps still kept (e.g.
        release a run only once its end is stored); else try now whatever waits."""
        with self._lock:
            queued = after_earlier and bool(self._waiting.get(run_id))
        if not queued and attempt(step, f"run {run_id}: {what}", attempts) is None:
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


def failure_message(error_id: str) -> str:
    """What every watcher of a failed run reads: plain words and an id; never the exception
    (it can carry paths and internals), which the server's log has under that id."""
    return (f"Training failed (error {error_id}). The server's log has the details; "
            "press Train to start again.")


KEEP_ENDED = 10_000  # runs this process remembers having ended (a second end is refused)


class RunEnds:
    """The one owner of a run's end, one method per way a run ends. Each stores the
    record first, then publishes the one final event (`done` only once the record is
    stored: a client that reads the run on `done` finds it final; an `error` at once,
    whatever the store does). The record keeps that final event, so a watcher who comes
    later reads the same words. A run ends once: a second end (a retry, a shutdown racing
    the run's own end) changes nothing. A step that fails is kept and retried (`pending`)."""

    def __init__(self, store: RunStore, bus: EventBus, retry_every: float = 5.0):
        self.store, self.bus = store, bus
        self.pending = Ends(retry_every)
        self._ended: OrderedDict[str, str] = OrderedDict()  # run id -> how it ended
        self._lock = threading.Lock()

    def _first(self, run_id: str, how: str) -> bool:
        """Claim the run's end for `how`; False (and logged) if it has ended already."""
        with self._lock:
            earlier = self._ended.get(run_id)
            if earlier is None:
                self._ended[run_id] = how
                while len(self._ended) > KEEP_ENDED:
                    self._ended.popitem(last=False)
        if earlier is not None:
            log.info("run %s has ended (%s): its end as %s is dropped", run_id, earlier, how)
        return earlier is None

    def _publish(self, run_id: str, event: DoneEvent | ErrorEvent) -> None:
        self.bus.publish_json(run_id, event.kind, event.model_dump_json())

    def finished(self, run_id: str, done: DoneEvent, history: list[dict],
                 model: Callable[[], bytes | None] = lambda: None, *,
                 before_publish: Callable[[], None] = lambda: None) -> bool:
        """A run that trained to its end (finished, stopped, early-stopped, diverged), with
        `model()` its saved model. Stored now (a few tries), then `done` goes out; if the
        record cannot be stored, the run fails instead (and that is kept to store). True
        once `done` is on its way. `before_publish` runs once the outcome is known, before
        the final event goes out."""
        if not self._first(run_id, done.state):
            before_publish()
            return False
        unstored = attempt(lambda: self.store.finish(run_id, done.state, history, done.model_dump(mode="json"),
                                                     model()), f"run {run_id}: storing its end")
        before_publish()
        if unstored is not None:  # trained, but its end cannot be stored: a failure, told at once
            self._without_done(run_id, "failed", self._logged(run_id, unstored), history)
            return False
        self.pending.settle(run_id, "publishing done", lambda: self._publish(run_id, done))
        return True

    def stopped_before_start(self, run_id: str, message: str = "Stopped before it started.") -> None:
        if not self._first(run_id, "stopped"):
            return
        done = unstarted_done(message)
        self.pending.settle(run_id, "storing its end", lambda: self.store.finish(
            run_id, "stopped", [], done.model_dump(mode="json")))
        self.pending.settle(run_id, "publishing done", lambda: self._publish(run_id, done))

    def failed(self, run_id: str, history: list[dict] | None = None, *, error: BaseException | None = None,
               message: str | None = None) -> None:
        """A run that cannot go on, for `error` (a bug, a resource error, a time limit: logged
        under an error id that watchers read) or for a reason given in `message` (its worker
        gone). What it trained is kept."""
        if self._first(run_id, "failed"):
            words = message if message is not None else self._logged(run_id, error)
            self._without_done(run_id, "failed", words, history or [])

    def interrupted(self, run_id: str, message: str, history: list[dict] | None = None) -> None:
        """A run cut short by its process shutting down (a restart, a scale-down)."""
        if self._first(run_id, "interrupted"):
            self._without_done(run_id, "interrupted", message, history or [])

    def rejected(self, run_id: str, message: str) -> None:
        """A run recorded but never queued (the queue was out): its record ends, so it does
        not hold its client's place, without delaying the answer (one try now, the rest in
        the background). Nobody watches it: nothing is published."""
        if self._first(run_id, "failed"):
            error = ErrorEvent(message=message).model_dump(mode="json")
            self.pending.settle(run_id, "storing its failed end",
                                lambda: self.store.finish(run_id, "failed", [], error), attempts=1)

    @staticmethod
    def _logged(run_id: str, error: BaseException | None) -> str:
        error_id = secrets.token_hex(4)
        exc_info = (type(error), error, error.__traceback__) if error is not None else None
        log.error("run %s failed (error %s)", run_id, error_id, exc_info=exc_info)
        return failure_message(error_id)

    def _without_done(self, run_id: str, state: str, message: str, history: list[dict]) -> None:
        event = ErrorEvent(message=message)
        self.pending.settle(run_id, f"storing its {state} end",
                            lambda: self.store.finish(run_id, state, history, event.model_dump(mode="json")))
        # Told at once even if the store is down (the record follows when it can).
        self.pending.settle(run_id, "publishing its error", lambda: self._publish(run_id, event),
                            after_earlier=False)
