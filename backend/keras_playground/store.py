"""Run records: who may control a run, its spec, state, history and final figures.

`SqliteRunStore` keeps them in one SQLite file in the data directory, and each finished
run's model as `models/<id>.keras` beside it, so finished runs survive a restart. Runs
that were still active when the server stopped are marked `interrupted` at the next start.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from .specs import FINAL_STATES

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL,
    client TEXT NOT NULL,
    state TEXT NOT NULL,
    spec TEXT NOT NULL,
    created REAL NOT NULL,
    ended REAL,
    history TEXT,
    done TEXT
);
CREATE INDEX IF NOT EXISTS runs_created ON runs (created);
"""


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
    done: dict | None
    client: str = ""
    token_hash: str = ""


class SqliteRunStore:
    def __init__(self, data_dir: Path):
        self.data_dir = Path(data_dir)
        self.models_dir = self.data_dir / "models"
        self.models_dir.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.data_dir / "runs.sqlite3", check_same_thread=False,
                                   isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def create(self, run_id: str, token: str, client: str, spec: dict) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO runs (id, token_hash, client, state, spec, created) VALUES (?, ?, ?, ?, ?, ?)",
                (run_id, hash_token(token), client, "queued", json.dumps(spec), time.time()))

    def set_state(self, run_id: str, state: str) -> None:
        with self._lock:
            self._db.execute("UPDATE runs SET state = ? WHERE id = ?", (state, run_id))

    def finish(self, run_id: str, state: str, history: list[dict], done: dict | None,
               model_bytes: bytes | None = None) -> None:
        if model_bytes is not None:
            (self.models_dir / f"{run_id}.keras").write_bytes(model_bytes)
        with self._lock:
            self._db.execute("UPDATE runs SET state = ?, ended = ?, history = ?, done = ? WHERE id = ?",
                             (state, time.time(), json.dumps(history), json.dumps(done) if done else None,
                              run_id))

    def get(self, run_id: str) -> RunRecord | None:
        with self._lock:
            row = self._db.execute(
                "SELECT id, state, spec, created, ended, history, done, client, token_hash "
                "FROM runs WHERE id = ?", (run_id,)).fetchone()
        return self._record(row) if row else None

    def recent(self, limit: int = 20, client: str | None = None) -> list[RunRecord]:
        query = "SELECT id, state, spec, created, ended, NULL, done, client, token_hash FROM runs"
        args: tuple = ()
        if client is not None:
            query, args = query + " WHERE client = ?", (client,)
        with self._lock:
            rows = self._db.execute(query + " ORDER BY created DESC LIMIT ?", (*args, limit)).fetchall()
        return [self._record(row) for row in rows]

    def model_path(self, run_id: str) -> Path | None:
        path = self.models_dir / f"{run_id}.keras"
        return path if path.exists() else None

    def mark_interrupted(self, run_ids: list[str] | None = None) -> int:
        """Runs left unfinished (by a stop or a crash) become `interrupted`; returns how many."""
        placeholders = ",".join("?" * len(FINAL_STATES))
        query = f"UPDATE runs SET state = 'interrupted', ended = ? WHERE state NOT IN ({placeholders})"
        args: list = [time.time(), *FINAL_STATES]
        if run_ids is not None:
            if not run_ids:
                return 0
            query += f" AND id IN ({','.join('?' * len(run_ids))})"
            args += run_ids
        with self._lock:
            return self._db.execute(query, args).rowcount

    def prune(self, keep: int) -> int:
        """Delete all but the `keep` newest ended runs, with their models; returns how many."""
        with self._lock:
            old = [row[0] for row in self._db.execute(
                "SELECT id FROM runs WHERE ended IS NOT NULL ORDER BY created DESC LIMIT -1 OFFSET ?",
                (keep,))]
            for run_id in old:
                self._db.execute("DELETE FROM runs WHERE id = ?", (run_id,))
        for run_id in old:
            (self.models_dir / f"{run_id}.keras").unlink(missing_ok=True)
        return len(old)

    @staticmethod
    def _record(row) -> RunRecord:
        run_id, state, spec, created, ended, history, done, client, token_hash = row
        return RunRecord(id=run_id, state=state, spec=json.loads(spec), created=created, ended=ended,
                         history=json.loads(history) if history else None,
                         done=json.loads(done) if done else None, client=client, token_hash=token_hash)
