"""`RedisBus`: the event bus on Redis streams, for web replicas and workers on many hosts.

Each run has a stream whose entry ids are the event sequence numbers (`0-<seq>`), so
"everything after seq N" is a plain range read and any replica can replay any run from
the start. As in `MemoryBus`, every `status`, `epoch`, `done` and `error` is kept but
only the newest `frame`: a frame's stream entry is a small marker, and its body lives in
one key that each new frame overwrites. Publishing and reading are Lua scripts, so a
reader always sees a consistent snapshot of the log and the newest frame together.
An ended run's keys expire after `keep_ended_seconds` (its record stays in the store).
"""

from __future__ import annotations

import asyncio
import json

import redis
import redis.asyncio as aioredis

from .bus import EventBus, Logged

# KEYS: stream, seq counter, frame, closed flag. ARGV: kind, event JSON (no seq), TTL of an ended log.
_PUBLISH = """
local seq = redis.call('INCR', KEYS[2])
local text = '{"seq":' .. seq .. ',' .. string.sub(ARGV[2], 2)
if ARGV[1] == 'frame' then
  redis.call('HSET', KEYS[3], 's', seq, 'j', text)
  redis.call('XADD', KEYS[1], '0-' .. seq, 'k', 'frame')
else
  redis.call('XADD', KEYS[1], '0-' .. seq, 'k', ARGV[1], 'j', text)
end
if ARGV[1] == 'done' or ARGV[1] == 'error' then
  redis.call('SET', KEYS[4], seq)
  for i = 1, 4 do redis.call('EXPIRE', KEYS[i], ARGV[3]) end
end
return seq
"""

# KEYS: stream, frame, closed flag, seq counter. ARGV: after, count.
# Returns false for an unknown run, else {entries, {frame seq, frame json}, closed}.
_READ = """
if redis.call('EXISTS', KEYS[4]) == 0 then return false end
local entries = redis.call('XRANGE', KEYS[1], '(0-' .. ARGV[1], '+', 'COUNT', ARGV[2])
return {entries, redis.call('HMGET', KEYS[2], 's', 'j'), redis.call('EXISTS', KEYS[3])}
"""

BATCH = 10_000  # events per read at most (a long run's full replay comes in a few messages)


class RedisBus(EventBus):
    def __init__(self, url: str, namespace: str = "kp", keep_ended_seconds: int = 3600):
        self.url, self.ns, self.keep_ended = url, namespace, keep_ended_seconds
        self.redis = redis.Redis.from_url(url)
        self._publish = self.redis.register_script(_PUBLISH)
        self._async: dict[asyncio.AbstractEventLoop, aioredis.Redis] = {}

    def _keys(self, run_id: str) -> dict[str, str]:
        base = f"{self.ns}:log:{run_id}"
        return {"stream": base, "seq": f"{base}:seq", "frame": f"{base}:frame", "closed": f"{base}:closed"}

    def _aredis(self) -> aioredis.Redis:
        """A client of the running loop (connections belong to one loop)."""
        loop = asyncio.get_running_loop()
        client = self._async.get(loop)
        if client is None:
            for old in [l for l in self._async if l.is_closed()]:
                del self._async[old]
            client = self._async[loop] = aioredis.Redis.from_url(self.url)
        return client

    # ----- writing (any thread, any process) -----

    def open(self, run_id: str) -> None:
        self.redis.set(self._keys(run_id)["seq"], 0, nx=True)

    def publish_json(self, run_id: str, kind: str, text: str) -> None:
        k = self._keys(run_id)
        self._publish(keys=[k["stream"], k["seq"], k["frame"], k["closed"]],
                      args=[kind, text, self.keep_ended])

    # ----- reading -----

    def _parse(self, result, after: int) -> tuple[list[Logged], bool]:
        if result is None:
            return [], True  # an unknown run reads as closed and empty
        entries, (frame_seq, frame_json), closed = result
        found: list[Logged] = []
        newest_frame = None
        last_seq = after
        for entry_id, fields in entries:
            seq = int(entry_id.split(b"-")[1])
            last_seq = seq
            values = dict(zip(fields[::2], fields[1::2]))
            kind = values[b"k"].decode()
            if kind == "frame":
                newest_frame = seq
            else:
                found.append(Logged(seq, kind, values[b"j"].decode()))
        # Of the frames in this batch only the newest is kept; a newer one than the batch
        # will come with its own marker in the next read.
        if newest_frame is not None and frame_seq is not None and int(frame_seq) <= last_seq:
            found.append(Logged(int(frame_seq), "frame", frame_json.decode()))
            found.sort(key=lambda item: item.seq)
        return found, bool(closed) and len(entries) < BATCH

    def closed(self, run_id: str) -> bool:
        """Whether the run's `done` or `error` has been published (or its log expired)."""
        k = self._keys(run_id)
        return bool(self.redis.exists(k["closed"])) or not self.redis.exists(k["seq"])

    async def _snapshot(self, client: aioredis.Redis, run_id: str, after: int) -> tuple[list[Logged], bool]:
        k = self._keys(run_id)
        result = await client.eval(_READ, 4, k["stream"], k["frame"], k["closed"], k["seq"], after, BATCH)
        return self._parse(result, after)

    async def read(self, run_id: str, after: int, timeout: float) -> tuple[list[Logged], bool]:
        client = self._aredis()
        found, closed = await self._snapshot(client, run_id, after)
        if found or closed:
            return found, closed
        # Wait for any entry after `after` (XREAD returns at once if one already exists,
        # so nothing published between the snapshot and here is missed).
        await client.xread({self._keys(run_id)["stream"]: f"0-{after}"}, count=1,
                           block=max(1, int(timeout * 1000)))
        return await self._snapshot(client, run_id, after)

    def replay(self, run_id: str) -> list[dict]:
        stream, start, events = self._keys(run_id)["stream"], "-", []
        while True:
            entries = self.redis.xrange(stream, min=start, count=BATCH)
            events += [json.loads(fields[b"j"]) for _, fields in entries if fields[b"k"] != b"frame"]
            if len(entries) < BATCH:
                return events
            start = "(" + entries[-1][0].decode()

    def exists(self, run_id: str) -> bool:
        return bool(self.redis.exists(self._keys(run_id)["seq"]))

    def forget(self, run_id: str) -> None:
        self.redis.delete(*self._keys(run_id).values())

    def close(self) -> None:
        self.redis.close()
