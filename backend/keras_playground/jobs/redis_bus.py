"""`RedisBus`: the event bus on Redis streams, for web replicas and workers on many hosts.

Each run has a stream whose entry ids are the event sequence numbers (`0-<seq>`), so
"everything after seq N" is a plain range read and any replica can replay any run from
the start. As in `MemoryBus`, an event published with retain="all" is kept, and of those
published with retain="latest" (a run's frames, a room's views) only the newest of each
kind: such an event's stream entry is a small marker, and its body lives in the log's
`latest` hash, which each new one of its kind overwrites. Each deletes the previous
marker of its kind, so a log holds one marker of a kind at most and a reader at any
position finds the newest (a room's log, all views, stays one entry long). Publishing is
a Lua script (the sequence number, the entry and the body change together); a reader
waits on the stream itself.
An ended run's keys expire after `keep_ended_seconds` (its record stays in the store);
`expire` sets when other logs go (a closed room's).
"""

from __future__ import annotations

import json
import secrets


from ..store.redis_client import WEB_RETRY_SECONDS, AsyncClients, connect
from .bus import FINAL_KINDS, EventBus, Logged, Retain, retain_of

# KEYS: stream, seq counter, latest bodies (a hash: s:<kind> -> seq, j:<kind> -> JSON),
# closed flag, id of the last event. ARGV: kind, event JSON (no seq), TTL of an ended log,
# the event's id, retain ("all" or "latest"). A client that lost the reply (Redis
# restarting) sends it again: the same id is published once. A log ends once: a second
# `done` or `error` (an end told again after a retry, or by a replica's watchdog and the
# worker both) is dropped.
_PUBLISH = """
if redis.call('GET', KEYS[5]) == ARGV[4] then return tonumber(redis.call('GET', KEYS[2])) end
if (ARGV[1] == 'done' or ARGV[1] == 'error') and redis.call('EXISTS', KEYS[4]) == 1 then
  return tonumber(redis.call('GET', KEYS[4]))
end
redis.call('SET', KEYS[5], ARGV[4])
local seq = redis.call('INCR', KEYS[2])
local text = '{"seq":' .. seq .. ',' .. string.sub(ARGV[2], 2)
if ARGV[5] == 'latest' then
  -- One marker of the kind at most: the previous one goes, so a log of any number of them
  -- (a room's views) stays one entry long and a reader always finds the body it marks.
  local previous = redis.call('HGET', KEYS[3], 's:' .. ARGV[1])
  if previous then redis.call('XDEL', KEYS[1], '0-' .. previous) end
  redis.call('HSET', KEYS[3], 's:' .. ARGV[1], seq, 'j:' .. ARGV[1], text)
  redis.call('XADD', KEYS[1], '0-' .. seq, 'k', ARGV[1])
else
  redis.call('XADD', KEYS[1], '0-' .. seq, 'k', ARGV[1], 'j', text)
end
if ARGV[1] == 'done' or ARGV[1] == 'error' then
  redis.call('SET', KEYS[4], seq)
  for i = 1, 5 do redis.call('EXPIRE', KEYS[i], ARGV[3]) end
end
return seq
"""

BATCH = 10_000  # events per read at most (a long run's full replay comes in a few messages)


class RedisBus(EventBus):
    def __init__(self, url: str, namespace: str = "kp", keep_ended_seconds: int = 3600,
                 retry_seconds: float = WEB_RETRY_SECONDS):
        """`retry_seconds`: how long a command retries through a Redis outage (redis_client)."""
        self.url, self.ns, self.keep_ended = url, namespace, keep_ended_seconds
        self.retry_seconds = retry_seconds
        self.redis = connect(url, retry_seconds)
        self._publish = self.redis.register_script(_PUBLISH)
        self._aredis = AsyncClients(url, self.retry_seconds)

    def _keys(self, run_id: str) -> dict[str, str]:
        base = f"{self.ns}:log:{run_id}"
        return {"stream": base, "seq": f"{base}:seq", "latest": f"{base}:latest", "closed": f"{base}:closed",
                "last": f"{base}:last"}

    # ----- writing (any thread, any process) -----

    def open(self, run_id: str) -> None:
        self.redis.set(self._keys(run_id)["seq"], 0, nx=True)

    def publish_json(self, run_id: str, kind: str, text: str, retain: Retain | None = None) -> None:
        retain = retain_of(kind, retain)
        k = self._keys(run_id)
        self._publish(keys=[k["stream"], k["seq"], k["latest"], k["closed"], k["last"]],
                      args=[kind, text, self.keep_ended, secrets.token_hex(8), retain])

    # ----- reading -----

    def closed(self, run_id: str) -> bool:
        """Whether the run's `done` or `error` has been published (or its log expired)."""
        k = self._keys(run_id)
        return bool(self.redis.exists(k["closed"])) or not self.redis.exists(k["seq"])

    async def read(self, run_id: str, after: int, timeout: float) -> tuple[list[Logged], bool]:
        # One round trip when events are waiting or arrive within `timeout` (XREAD returns at
        # once if any entry is newer than `after`), a second only when a marker of an event
        # kept latest (a frame, a room's view) is among them.
        client = self._aredis()
        k = self._keys(run_id)
        reply = await client.xread({k["stream"]: f"0-{after}"}, count=BATCH,
                                   block=max(1, int(timeout * 1000)))
        if not reply:
            closed = await client.exists(k["closed"]) or not await client.exists(k["seq"])
            return [], bool(closed)
        found: list[Logged] = []
        marked: set[str] = set()  # kinds kept latest with a marker in this batch
        last_seq, closed = after, False
        for entry_id, fields in reply[0][1]:
            last_seq = int(entry_id.split(b"-")[1])
            kind = fields[b"k"].decode()
            if b"j" not in fields:
                marked.add(kind)
            else:
                found.append(Logged(last_seq, kind, fields[b"j"].decode()))
                closed = closed or kind in FINAL_KINDS
        if marked:
            # Only the newest of a kind is kept. One newer than this batch is left for the
            # next read, which will hold its marker (and the events before it).
            kinds = sorted(marked)
            values = await client.hmget(k["latest"], [f"{p}:{kind}" for kind in kinds for p in ("s", "j")])
            for kind, seq, text in zip(kinds, values[::2], values[1::2]):
                if seq is not None and after < int(seq) <= last_seq:
                    found.append(Logged(int(seq), kind, text.decode()))
            found.sort(key=lambda item: item.seq)
        return found, closed

    def replay(self, run_id: str) -> list[dict]:
        stream, start, events = self._keys(run_id)["stream"], "-", []
        while True:
            entries = self.redis.xrange(stream, min=start, count=BATCH)
            events += [json.loads(fields[b"j"]) for _, fields in entries if b"j" in fields]
            if len(entries) < BATCH:
                return events
            start = "(" + entries[-1][0].decode()

    def exists(self, run_id: str) -> bool:
        return bool(self.redis.exists(self._keys(run_id)["seq"]))

    def forget(self, run_id: str) -> None:
        self.redis.delete(*self._keys(run_id).values())

    def expire(self, run_id: str, seconds: float) -> None:
        with self.redis.pipeline() as pipe:
            for key in self._keys(run_id).values():
                pipe.expire(key, max(1, int(seconds)))
            pipe.execute()

    def close(self) -> None:
        self.redis.close()
