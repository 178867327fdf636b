"""What a store keeps of a run, and what every store can do."""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Literal


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass
class RunRecord:
    id: str
    state: str
    spec: dict
    created: float
    ended: float | None
    history: list[dict] | None  # the epoch events, once the run has ended
    final: dict | None  # the run's final event, once it has ended: `done`, or an `error`
    client: str = ""
    token_hash: str = ""

    @property
    def done(self) -> dict | None:
        """The `done` event (the final figures), if the run ended with one."""
        return self.final if self.final and self.final.get("kind", "done") == "done" else None

    @property
    def error(self) -> str | None:
        """What the run's watchers were told, if it ended without `done`."""
        return self.final.get("message") if self.final and self.final.get("kind") == "error" else None


@dataclass(frozen=True)
class LimitReached:
    """Why `create_within` refused a run: which limit, and how many runs it already counts."""

    limit: Literal["client", "total"]  # the client's runs, or every client's
    count: int


class RunStore(ABC):
    def create(self, run_id: str, token: str, client: str, spec: dict) -> None:
        """Record a new `queued` run, whatever the limits."""
        self.create_within(run_id, token, client, spec, per_client=None, total=None)

    @abstractmethod
    def create_within(self, run_id: str, token: str, client: str, spec: dict, *,
                      per_client: int | None, total: int | None) -> LimitReached | None:
        """Record a new `queued` run unless `client` already has `per_client` runs not yet
        ended, or everyone `total` (None: no such limit). The check and the insert are one
        atomic step, so simultaneous creates cannot slip past a limit. None when recorded,
        or when `run_id` already was (a call retried after a lost reply changes nothing)."""

    @abstractmethod
    def finish(self, run_id: str, state: str, history: list[dict], final: dict | None,
               model_bytes: bytes | None = None) -> None:
        """Record a run's end: its final state, every epoch, its final event (`done`, or the
        `error` its watchers read), the model."""

    @abstractmethod
    def get(self, run_id: str) -> RunRecord | None: ...

    @abstractmethod
    def recent(self, limit: int = 20, client: str | None = None) -> list[RunRecord]:
        """The newest runs first, without their histories."""

    @abstractmethod
    def model(self, run_id: str) -> bytes | None:
        """The trained model as a .keras file, once the run has ended."""

    @abstractmethod
    def active_count(self, client: str | None = None) -> int:
        """Runs not yet ended (of one client, or of all)."""

    @abstractmethod
    def mark_interrupted(self, run_ids: list[str] | None = None) -> int:
        """Runs left unfinished become `interrupted` (None: every run not ended); how many."""

    @abstractmethod
    def recover(self) -> int:
        """At a web server's start: end the runs that can no longer be training; how many."""

    @abstractmethod
    def prune(self, keep: int) -> int:
        """Delete all but the `keep` newest ended runs, with their models; how many."""

    def close(self) -> None:
        pass
