"""A run as it is now, wherever it lives: on the bus while it is live, else in the store.

The run's page (`GET /api/runs/{id}`), its stream (a run no longer on the bus is sent
from its record) and the class wall all read a run through `RunView`, so "the state of
a run" is assembled in one place.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..store import RunRecord

# A run that ended without `done` keeps the `error` its watchers read (jobs/ends.py); one
# ended by an older version kept no words, and its late watchers read these.
ENDED_WITHOUT_WORDS = {
    "failed": "The run failed before it finished. Press Train to start again.",
    "interrupted": "The run was interrupted (the server or its worker stopped) before it finished. "
                   "Press Train to start again.",
}


@dataclass
class RunView:
    record: RunRecord
    state: str
    history: list[dict]  # every epoch event so far
    done: dict | None  # the `done` event, once there is one
    live: bool  # its events are on the bus: a stream follows them there

    @classmethod
    def of(cls, record: RunRecord, events: list[dict] | None) -> "RunView":
        """From the record, and the bus's events while the run is live (None: not on the bus)."""
        if events is None or record.ended is not None and not events:
            return cls(record, record.state, list(record.history or []), record.done, live=events is not None)
        state, done = record.state, record.done
        for event in events:
            if event["kind"] in ("status", "done"):
                state = event["state"]
            if event["kind"] == "done":
                done = event
        history = [e for e in events if e["kind"] == "epoch"] or list(record.history or [])
        return cls(record, state, history, done, live=True)

    def events(self) -> list[dict]:
        """The run as a stream of events (for a run no longer on the bus): its state, every
        epoch, then `done`, or an `error` if it ended without one."""
        events = [{"kind": "status", "state": self.state, "seq": 0}, *self.history]
        if self.done:
            events.append(self.done)
        elif self.error:
            events.append({"kind": "error", "message": self.error})
        return events

    @property
    def error(self) -> str | None:
        """What a run that ended without `done` told its watchers."""
        if self.done or self.state not in ENDED_WITHOUT_WORDS:
            return None
        return self.record.error or ENDED_WITHOUT_WORDS[self.state]

    def as_json(self) -> dict:
        r = self.record
        return {"id": r.id, "state": self.state, "spec": r.spec, "created": r.created, "ended": r.ended,
                "history": self.history, "final": self.done, "error": self.error}
