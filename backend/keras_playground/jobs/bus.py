"""The event bus: training threads publish a run's events, stream readers read them.

Each run has one log, shared by all its readers. What a log keeps of an event is the
publisher's choice, its `retain`: "all" (every `status`, `epoch`, `done` and `error`)
or "latest" (only the newest event of its kind: a run's frames, a room's views). A
reader that falls behind gets every epoch and the latest picture, never a backlog of
stale frames, and a slow reader costs no memory of its own. Events carry a sequence
number; a reader asks for everything after the last number it saw, so a late joiner or
a reconnecting client replays the whole curve first.

Backends: `MemoryBus` (one process) here; `redis_bus.RedisBus` for several processes.
"""

from __future__ import annotations

import asyncio
import heapq
import json
import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True)
class Logged:
    seq: int
    kind: str
    json: str


FINAL_KINDS = ("done", "error")

Retain = Literal["all", "latest"]
def retain_of(kind: str, retain: Retain | None) -> Retain:
    """What a log keeps of an event of `kind` published with `retain` (None: "all")."""
    retain = retain or "all"
    if retain not in ("all", "latest"):
        raise ValueError(f"retain: {retain!r} is not 'all' or 'latest'")
    if retain == "latest" and kind in FINAL_KINDS:
        raise ValueError(f"a log's end ({kind}) is always kept: it cannot be retain='latest'")
    return retain


@dataclass
class RunLog:
    events: list[Logged] = field(default_factory=list)  # those kept all
    latest: dict[str, Logged] = field(default_factory=dict)  # kind -> the newest of those kept latest
    seq: int = 0
    closed: bool = False

    def append(self, kind: str, text: str, retain: Retain = "all") -> Logged:
        """`text`: the event as a JSON object; its sequence number is spliced in."""
        self.seq += 1
        item = Logged(self.seq, kind, f'{{"seq":{self.seq},{text[1:]}')
        if retain == "latest":
            self.latest[kind] = item
        else:
            self.events.append(item)
            self.closed = self.closed or kind in FINAL_KINDS
        return item

    def after(self, seq: int) -> list[Logged]:
        """Everything newer than `seq`, in order; of a kind kept latest only the newest."""
        # events is ordered by seq: find the first newer one from the end (readers are usually close).
        i = len(self.events)
        while i > 0 and self.events[i - 1].seq > seq:
            i -= 1
        found = self.events[i:]
        newer = [item for item in self.latest.values() if item.seq > seq]
        if newer:
            found = sorted([*found, *newer], key=lambda e: e.seq)
        return found


class EventBus(ABC):
    """Publish from any thread; read from the event loop."""

    def publish(self, run_id: str, event: dict, retain: Retain | None = None) -> None:
        """Append one event (a JSON-able dict with a `kind`) to the run's log."""
        self.publish_json(run_id, event["kind"], json.dumps(event, separators=(",", ":"), allow_nan=False),
                          retain)

    @abstractmethod
    def publish_json(self, run_id: str, kind: str, text: str, retain: Retain | None = None) -> None:
        """Append one event already serialized as a JSON object (serialized once, sent as is).
        `retain`: "all" keeps it; "latest" keeps it until the next event of its `kind`
        published with "latest" replaces it (a reader gets only the newest, wherever it
        is: a run's frames, a room's views). None: "all"."""

    @abstractmethod
    async def read(self, run_id: str, after: int, timeout: float) -> tuple[list[Logged], bool]:
        """Events after sequence number `after` (waiting up to `timeout` seconds for some),
        and whether the log is closed: its `done` or `error` is among the events returned
        (or was before `after`, or the run is unknown), so nothing more will come."""

    @abstractmethod
    def exists(self, run_id: str) -> bool: ...

    @abstractmethod
    def open(self, run_id: str) -> None:
        """Start a run's log (before its first event, so readers can wait on it)."""

    @abstractmethod
    def replay(self, run_id: str) -> list[dict]:
        """Every event of the run so far kept "all" (no frames), as dicts."""

    @abstractmethod
    def forget(self, run_id: str) -> None:
        """Drop a finished run's log (its record lives on in the store)."""

    @abstractmethod
    def expire(self, run_id: str, seconds: float) -> None:
        """Drop the log `seconds` from now (a closed room's: nothing more will be published)."""

    def close(self) -> None:
        pass


class MemoryBus(EventBus):
    """All runs' logs in this process. Readers wait on asyncio events set from any thread."""

    def __init__(self, keep_ended: int = 200, clock=time.monotonic) -> None:
        self._logs: dict[str, RunLog] = {}
        # Ended runs' logs stay a while for late readers (then the store has them), bounded.
        self._ended: deque[str] = deque()
        self._keep_ended = keep_ended
        self._expiring: list[tuple[float, str]] = []  # a heap of (when, log id), see `expire`
        self._clock = clock
        self._lock = threading.Lock()
        self._waiters: dict[str, asyncio.Event] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    def bind_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        """The loop readers wait on (the server's); publishers wake it thread-safely."""
        self._loop = loop

    def open(self, run_id: str) -> None:
        with self._lock:
            self._drop_expired()
            self._logs.setdefault(run_id, RunLog())

    def publish_json(self, run_id: str, kind: str, text: str, retain: Retain | None = None) -> None:
        retain = retain_of(kind, retain)
        with self._lock:
            self._drop_expired()
            log = self._logs.setdefault(run_id, RunLog())
            was_closed = log.closed
            if was_closed and kind in FINAL_KINDS:
                return  # a log ends once: an end told again (a retry) is dropped
            log.append(kind, text, retain)
            if log.closed and not was_closed:
                self._ended.append(run_id)
                while len(self._ended) > self._keep_ended:
                    self._logs.pop(self._ended.popleft(), None)
        # Wake the loop only for a reader waiting on this log: thirty runs publish thousands
        # of events a second, and each wake-up costs the loop's thread. No wake-up is lost:
        # the event is in the log before this check, and a reader registers its waiter
        # before it looks at the log (`read`).
        if run_id in self._waiters and self._loop is not None and not self._loop.is_closed():
            try:
                self._loop.call_soon_threadsafe(self._wake, run_id)
            except RuntimeError:  # the loop closed between the check and the call
                pass

    def _wake(self, run_id: str) -> None:
        waiter = self._waiters.pop(run_id, None)
        if waiter is not None:
            waiter.set()

    def _snapshot(self, run_id: str, after: int) -> tuple[list[Logged], bool, bool]:
        """What a reader gets now, whether the log is closed, and whether it is known."""
        with self._lock:
            log = self._logs.get(run_id)
            if log is None:
                return [], True, False
            return log.after(after), log.closed, True

    async def read(self, run_id: str, after: int, timeout: float) -> tuple[list[Logged], bool]:
        # An unknown log (never opened, evicted, expired) is closed, but said so only after
        # `timeout`, as on Redis: a reader that reads on (a room's stream) never spins.
        found, closed, known = self._snapshot(run_id, after)
        if found or (closed and known):
            return found, closed
        waiter = self._waiters.setdefault(run_id, asyncio.Event())
        # Re-check: an event may have landed between the snapshot and the waiter.
        found, closed, known = self._snapshot(run_id, after)
        if found or (closed and known):
            return found, closed
        try:
            async with asyncio.timeout(timeout):  # no task of its own, unlike wait_for
                await waiter.wait()
        except TimeoutError:
            pass
        return self._snapshot(run_id, after)[:2]

    def replay(self, run_id: str) -> list[dict]:
        with self._lock:
            log = self._logs.get(run_id)
            texts = [e.json for e in log.events] if log else []
        return [json.loads(text) for text in texts]

    def exists(self, run_id: str) -> bool:
        with self._lock:
            self._drop_expired()
            return run_id in self._logs

    def forget(self, run_id: str) -> None:
        with self._lock:
            self._logs.pop(run_id, None)

    def expire(self, run_id: str, seconds: float) -> None:
        with self._lock:
            heapq.heappush(self._expiring, (self._clock() + seconds, run_id))

    def _drop_expired(self) -> None:
        """(Under the lock.) Logs whose time has come go when the bus is next used."""
        now = self._clock()
        while self._expiring and self._expiring[0][0] <= now:
            self._logs.pop(heapq.heappop(self._expiring)[1], None)
