"""`SqliteRunStore`: run records in one SQLite file in the data directory, and each
finished run's model as `models/<id>.keras` beside it, so finished runs survive a
restart. Runs that were still active when the server stopped are marked `interrupted`
at the next start (one process trains them all, so none can still be training).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path

from ..specs import FINAL_STATES
from .record import LimitReached, RunRecord, RunStore, hash_token

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
CREATE INDEX IF NOT EXISTS runs_client ON runs (client, created);
"""


class SqliteRunStore(RunStore):
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

    def create_within(self, run_id: str, token: str, client: str, spec: dict, *,
                      per_client: int | None, total: int | None) -> LimitReached | None:
        # The lock keeps this process's threads apart; BEGIN IMMEDIATE, any other process
        # on the same file (it takes the write lock before counting).
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                known = self._db.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,)).fetchone()
                refused = None if known else self._over_limit(client, per_client, total)
                if refused is None and not known:
                    self._db.execute(
                        "INSERT INTO runs (id, token_hash, client, state, spec, created) "
                        "VALUES (?, ?, ?, ?, ?, ?)",
                        (run_id, hash_token(token), client, "queued", json.dumps(spec), time.time()))
                self._db.execute("COMMIT")
            except BaseException:
                # Never leave the shared connection inside a transaction (a COMMIT that failed
                # on a full disk would make every later write fail until a restart).
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
        return refused

    def _over_limit(self, client: str, per_client: int | None, total: int | None) -> LimitReached | None:
        """Called under the lock, in the transaction."""
        if per_client is not None:
            mine = self._db.execute("SELECT COUNT(*) FROM runs WHERE ended IS NULL AND client = ?",
                                    (client,)).fetchone()[0]
            if mine >= per_client:
                return LimitReached("client", mine)
        if total is not None:
            everyone = self._db.execute("SELECT COUNT(*) FROM runs WHERE ended IS NULL").fetchone()[0]
            if everyone >= total:
                return LimitReached("total", everyone)
        return None

    def finish(self, run_id: str, state: str, history: list[dict], final: dict | None,
               model_bytes: bytes | None = None) -> None:
        if model_bytes is not None:
            self._write_model(run_id, model_bytes)
        with self._lock:
            self._db.execute("UPDATE runs SET state = ?, ended = ?, history = ?, done = ? WHERE id = ?",
                             (state, time.time(), json.dumps(history), json.dumps(final) if final else None,
                              run_id))

    def _write_model(self, run_id: str, model_bytes: bytes) -> None:
        """Whole or not at all: a full disk must not leave a truncated model to download."""
        final = self.models_dir / f"{run_id}.keras"
        partial = final.with_suffix(".partial")
        try:
            partial.write_bytes(model_bytes)
            partial.replace(final)
        finally:
            partial.unlink(missing_ok=True)

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

    def model(self, run_id: str) -> bytes | None:
        path = self.models_dir / f"{run_id}.keras"
        return path.read_bytes() if path.exists() else None

    def active_count(self, client: str | None = None) -> int:
        query, args = "SELECT COUNT(*) FROM runs WHERE ended IS NULL", ()
        if client is not None:
            query, args = query + " AND client = ?", (client,)
        with self._lock:
            return self._db.execute(query, args).fetchone()[0]

    def recover(self) -> int:
        return self.mark_interrupted()

    def mark_interrupted(self, run_ids: list[str] | None = None) -> int:
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
                         final=json.loads(done) if done else None, client=client, token_hash=token_hash)
