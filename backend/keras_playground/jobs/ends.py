"""The ends of runs that could not be stored or told yet, kept until they can.

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
