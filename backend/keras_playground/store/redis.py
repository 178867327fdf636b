"""`RedisRunStore`: run records in Redis, shared by every web replica and worker.

A run is a hash `<ns>:rec:<id>`; its trained model a separate key (bytes); sorted sets
by creation time list all runs and each client's runs; a hash of active runs (id ->
client) and a set of each client's active runs answer the fair-use limits for every
replica at once, in O(1); a Lua script checks them and records a new run in one atomic
step. Redis persistence (AOF in docker-compose.yml) keeps finished runs across restarts.
"""

from __future__ import annotations

import json
import time

from ..specs import FINAL_STATES
from .record import LimitReached, RunRecord, RunStore, hash_token
from .redis_client import WEB_RETRY_SECONDS, connect

_FIELDS = ("state", "spec", "created", "ended", "history", "done", "client", "token_hash")

# KEYS: active hash, the client's active set, the record, all runs, the client's runs.
# ARGV: run id, client, per-client limit, total limit (-1: none), created, spec, token hash.
# Idempotent: a call retried after a lost reply finds its run recorded, not over a limit.
_CREATE_WITHIN = """
if redis.call('EXISTS', KEYS[3]) == 1 then return false end
local per_client, total = tonumber(ARGV[3]), tonumber(ARGV[4])
if per_client >= 0 then
  local mine = redis.call('SCARD', KEYS[2])
  if mine >= per_client then return {'client', mine} end
end
if total >= 0 then
  local everyone = redis.call('HLEN', KEYS[1])
  if everyone >= total then return {'total', everyone} end
end
redis.call('HSET', KEYS[3], 'state', 'queued', 'spec', ARGV[6], 'created', ARGV[5],
           'client', ARGV[2], 'token_hash', ARGV[7])
redis.call('ZADD', KEYS[4], ARGV[5], ARGV[1])
redis.call('ZADD', KEYS[5], ARGV[5], ARGV[1])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('SADD', KEYS[2], ARGV[1])
return false
"""


class RedisRunStore(RunStore):
    def __init__(self, url: str, namespace: str = "kp", retry_seconds: float = WEB_RETRY_SECONDS):
        """`retry_seconds`: how long a command retries through a Redis outage (redis_client)."""
        self.redis = connect(url, retry_seconds)
        self.ns = namespace
        self._create_within = self.redis.register_script(_CREATE_WITHIN)

    def _rec(self, run_id: str) -> str:
        return f"{self.ns}:rec:{run_id}"

    def _model(self, run_id: str) -> str:
        return f"{self.ns}:model:{run_id}"

    def _client_runs(self, client: str) -> str:
        return f"{self.ns}:runs:client:{client}"

    def _client_active(self, client: str) -> str:
        return f"{self.ns}:active:client:{client}"

    def close(self) -> None:
        self.redis.close()

    def create_within(self, run_id: str, token: str, client: str, spec: dict, *,
                      per_client: int | None, total: int | None) -> LimitReached | None:
        refused = self._create_within(
            keys=[f"{self.ns}:active", self._client_active(client), self._rec(run_id), f"{self.ns}:runs",
                  self._client_runs(client)],
            args=[run_id, client, -1 if per_client is None else per_client, -1 if total is None else total,
                  repr(time.time()), json.dumps(spec), hash_token(token)])
        if refused is None:
            return None
        limit, count = refused
        return LimitReached(limit.decode(), int(count))

    def finish(self, run_id: str, state: str, history: list[dict], final: dict | None,
               model_bytes: bytes | None = None) -> None:
        client = self.redis.hget(self._rec(run_id), "client")  # never changes once created
        with self.redis.pipeline() as pipe:
            if model_bytes is not None:
                pipe.set(self._model(run_id), model_bytes)
            pipe.hset(self._rec(run_id), mapping={
                "state": state, "ended": repr(time.time()), "history": json.dumps(history),
                "done": json.dumps(final) if final else ""})
            pipe.hdel(f"{self.ns}:active", run_id)
            if client is not None:
                pipe.srem(self._client_active(client.decode()), run_id)
            pipe.execute()

    def get(self, run_id: str) -> RunRecord | None:
        values = self.redis.hmget(self._rec(run_id), _FIELDS)
        return self._record(run_id, values, with_history=True)

    def recent(self, limit: int = 20, client: str | None = None) -> list[RunRecord]:
        index = self._client_runs(client) if client is not None else f"{self.ns}:runs"
        ids = [i.decode() for i in self.redis.zrevrange(index, 0, limit - 1)]
        with self.redis.pipeline() as pipe:
            for run_id in ids:
                pipe.hmget(self._rec(run_id), _FIELDS)
            rows = pipe.execute()
        records = (self._record(run_id, values, with_history=False) for run_id, values in zip(ids, rows))
        return [r for r in records if r is not None]

    def model(self, run_id: str) -> bytes | None:
        return self.redis.get(self._model(run_id))

    def active_count(self, client: str | None = None) -> int:
        if client is None:
            return self.redis.hlen(f"{self.ns}:active")
        return self.redis.scard(self._client_active(client))

    def mark_interrupted(self, run_ids: list[str] | None = None) -> int:
        if run_ids is None:
            run_ids = [i.decode() for i in self.redis.hkeys(f"{self.ns}:active")]
        count = 0
        for run_id in run_ids:
            record = self.get(run_id)
            if record is not None and record.state not in FINAL_STATES:
                self.finish(run_id, "interrupted", record.history or [], None)
                count += 1
        return count

    def recover(self) -> int:
        # Workers on other processes or machines may still be training the active runs;
        # those whose worker died are ended by the runner's watchdog, not here.
        return 0

    def prune(self, keep: int) -> int:
        old = [i.decode() for i in self.redis.zrevrange(f"{self.ns}:runs", keep, -1)]
        pruned = 0
        for run_id in old:
            ended, client = self.redis.hmget(self._rec(run_id), ("ended", "client"))
            if not ended:
                continue  # still active: never pruned
            with self.redis.pipeline() as pipe:
                pipe.delete(self._rec(run_id), self._model(run_id))
                pipe.zrem(f"{self.ns}:runs", run_id)
                pipe.zrem(self._client_runs((client or b"").decode()), run_id)
                pipe.execute()
            pruned += 1
        return pruned

    @staticmethod
    def _record(run_id: str, values: list, with_history: bool) -> RunRecord | None:
        state, spec, created, ended, history, done, client, token_hash = (
            v.decode() if v is not None else None for v in values)
        if state is None:
            return None
        return RunRecord(id=run_id, state=state, spec=json.loads(spec), created=float(created),
                         ended=float(ended) if ended else None,
                         history=json.loads(history) if with_history and history else None,
                         final=json.loads(done) if done else None, client=client or "",
                         token_hash=token_hash or "")
