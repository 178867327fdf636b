"""Rooms of the classroom, kept as JSON documents: SQLite (embedded) or Redis (lab server).

A room is small (its participants, what the instructor shares, the challenge and its
submissions), so each is one document, changed with `update(code, change)`: read,
change, write, atomically, so two participants joining at once on two web replicas
both count. The store knows documents only: the classroom reads and writes them as its
typed `Room` (classroom/models.py), in the same JSON shape as rooms kept before, so they
survive an upgrade.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, Callable

import redis

from .redis_client import connect

Document = dict[str, Any]  # a room as JSON
Change = Callable[[Document], None]  # changes a room document in place (it may raise to refuse)


def _closed_at(room: dict) -> float:
    """When a closed room closed (older versions kept no time: then when it opened)."""
    return room.get("closed_at") or room.get("created") or time.time()


class RoomStore(ABC):
    @abstractmethod
    def create(self, room: dict) -> bool:
        """Keep a new room; False if its code is taken."""

    @abstractmethod
    def get(self, code: str) -> dict | None: ...

    @abstractmethod
    def update(self, code: str, change: Change) -> dict | None:
        """Apply `change` to the room atomically and keep it; the changed room, or None."""

    @abstractmethod
    def open_count(self) -> int: ...

    @abstractmethod
    def prune_closed(self, closed_before: float) -> int:
        """Delete the rooms closed before `closed_before` (epoch seconds, the room's
        `closed_at`; a room closed by an older version counts from its creation); how many."""

    def close(self) -> None:
        pass


class SqliteRoomStore(RoomStore):
    def __init__(self, data_dir: Path):
        Path(data_dir).mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(Path(data_dir) / "rooms.sqlite3", check_same_thread=False,
                                   isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS rooms (code TEXT PRIMARY KEY, doc TEXT NOT NULL, "
                         "created REAL NOT NULL, closed INTEGER NOT NULL DEFAULT 0, closed_at REAL)")
        columns = [row[1] for row in self._db.execute("PRAGMA table_info(rooms)")]
        if "closed_at" not in columns:  # a data directory of an older version
            self._db.execute("ALTER TABLE rooms ADD COLUMN closed_at REAL")
        self._lock = threading.Lock()

    def create(self, room: dict) -> bool:
        with self._lock:
            try:
                self._db.execute("INSERT INTO rooms (code, doc, created) VALUES (?, ?, ?)",
                                 (room["code"], json.dumps(room), time.time()))
            except sqlite3.IntegrityError:
                return False
        return True

    def get(self, code: str) -> dict | None:
        with self._lock:
            row = self._db.execute("SELECT doc FROM rooms WHERE code = ?", (code,)).fetchone()
        return json.loads(row[0]) if row else None

    def update(self, code: str, change: Change) -> dict | None:
        with self._lock:  # one process: the lock makes read-change-write atomic
            row = self._db.execute("SELECT doc FROM rooms WHERE code = ?", (code,)).fetchone()
            if row is None:
                return None
            room = json.loads(row[0])
            change(room)
            self._db.execute("UPDATE rooms SET doc = ?, closed = ?, closed_at = ? WHERE code = ?",
                             (json.dumps(room), int(room.get("closed", False)),
                              _closed_at(room) if room.get("closed") else None, code))
        return room

    def open_count(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM rooms WHERE closed = 0").fetchone()[0]

    def prune_closed(self, closed_before: float) -> int:
        with self._lock:
            return self._db.execute("DELETE FROM rooms WHERE closed = 1 AND COALESCE(closed_at, created) < ?",
                                    (closed_before,)).rowcount

    def close(self) -> None:
        with self._lock:
            self._db.close()


class RedisRoomStore(RoomStore):
    def __init__(self, url: str, namespace: str = "kp"):
        self.redis = connect(url)  # retries briefly through a Redis restart, then 503
        self.ns = namespace
        self._closed = f"{namespace}:rooms:closed"  # sorted set: code -> when it closed
        self._indexed_old = False

    def _key(self, code: str) -> str:
        return f"{self.ns}:room:{code}"

    def create(self, room: dict) -> bool:
        if not self.redis.set(self._key(room["code"]), json.dumps(room), nx=True):
            return False
        self.redis.sadd(f"{self.ns}:rooms:open", room["code"])
        return True

    def get(self, code: str) -> dict | None:
        raw = self.redis.get(self._key(code))
        return json.loads(raw) if raw else None

    def update(self, code: str, change: Change) -> dict | None:
        key = self._key(code)
        with self.redis.pipeline() as pipe:
            while True:  # optimistic: redo the change if another replica changed the room meanwhile
                try:
                    pipe.watch(key)
                    raw = pipe.get(key)
                    if raw is None:
                        return None
                    room = json.loads(raw)
                    change(room)
                    pipe.multi()
                    pipe.set(key, json.dumps(room))
                    if room.get("closed"):
                        pipe.srem(f"{self.ns}:rooms:open", code)
                        pipe.zadd(self._closed, {code: _closed_at(room)})
                    pipe.execute()
                    return room
                except redis.WatchError:
                    continue

    def open_count(self) -> int:
        return self.redis.scard(f"{self.ns}:rooms:open")

    def prune_closed(self, closed_before: float) -> int:
        if not self._indexed_old:  # once: rooms closed by an older version, which kept no index
            for key in self.redis.scan_iter(match=self._key("*"), count=500):
                room = json.loads(self.redis.get(key) or "{}")
                if room.get("closed"):
                    self.redis.zadd(self._closed, {room["code"]: _closed_at(room)}, nx=True)
            self._indexed_old = True
        codes = [c.decode() for c in self.redis.zrangebyscore(self._closed, "-inf", f"({closed_before}")]
        if not codes:
            return 0
        with self.redis.pipeline() as pipe:
            pipe.delete(*[self._key(code) for code in codes])
            pipe.zrem(self._closed, *codes)
            deleted, _ = pipe.execute()
        return deleted

    def close(self) -> None:
        self.redis.close()
