"""Training on worker processes through Redis (a lab server), web side and shared parts.

dramatiq carries each run to a worker (`train_run(run_id, paused)` on its Redis broker);
the worker reads the spec from the shared store, publishes events on the `RedisBus` and
takes commands from a Redis list per run, checked between epochs. Liveness:
- each worker process refreshes a heartbeat key (`<ns>:worker:<name>`) that expires
  after `worker_timeout` seconds, and lists the runs it trains in `<ns>:training`;
- the web replicas' watchdog (`DramatiqRunner.reap`) ends a run whose worker's heartbeat
  has expired as `failed`, with a message every client sees within seconds (but not in
  the first `worker_timeout` after Redis restarted: the heartbeats lost in the restart
  come back within a beat);
- a run is claimed once (`<ns>:claim:<id>`), and listed in `<ns>:training` in the same
  step: when dramatiq redelivers the message of a worker that died, the new worker skips
  it instead of training it twice, and a worker that died right after claiming a run is
  reaped like any other.
"""

from __future__ import annotations

import json
import logging
import time
import secrets
from dataclasses import asdict, replace

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker

from ..engine.control import Command
from ..specs import RunSpec, StatusEvent, TryLater
from ..store import RunStore
from ..store.redis_client import OUTAGE_ERRORS, WEB_RETRY_SECONDS, connect
from .ends import RunEnds
from .redis_bus import RedisBus
from .runner import Runner

log = logging.getLogger(__name__)

QUEUE = "training"
ACTOR = "train_run"
DAY = 24 * 3600
CLAIM_SECONDS = DAY  # a claim outlives any run, so a redelivered message finds it


class Keys:
    """Names of the Redis keys runners and workers share."""

    def __init__(self, namespace: str = "kp"):
        self.ns = namespace
        self.training = f"{namespace}:training"  # hash: run id -> worker name

    def control(self, run_id: str) -> str:
        return f"{self.ns}:control:{run_id}"

    def claim(self, run_id: str) -> str:
        return f"{self.ns}:claim:{run_id}"

    def worker(self, name: str) -> str:
        return f"{self.ns}:worker:{name}"

    def reply(self, request_id: str) -> str:
        """Where a worker answers one request (a prediction, an applied image) to the replica that waits."""
        return f"{self.ns}:reply:{request_id}"

    @property
    def workers(self) -> str:
        """A set of the names of workers that have heartbeated (health reads it, never a scan)."""
        return f"{self.ns}:workers"


class RedisControl:
    """A run's commands from a Redis list (the worker's side of `DramatiqRunner.control`)."""

    def __init__(self, client: redis.Redis, key: str):
        self.redis, self.key = client, key

    def answer(self, command: Command, result: dict) -> None:
        """A predict or apply command's answer, on the key its asker waits on (kept a minute at most)."""
        if command.reply:
            with self.redis.pipeline() as pipe:
                pipe.rpush(command.reply, json.dumps(result))
                pipe.expire(command.reply, 60)
                pipe.execute()

    def next(self, timeout: float | None) -> Command | None:
        if timeout == 0:
            raw = self.redis.lpop(self.key)
        else:
            popped = self.redis.blpop([self.key], timeout=timeout or 0)
            raw = popped[1] if popped else None
        return Command(**json.loads(raw)) if raw else None


def make_broker(url: str, namespace: str = "kp", retry_seconds: float = WEB_RETRY_SECONDS) -> RedisBroker:
    """`retry_seconds`: how long its commands retry through a Redis outage (a worker's
    consumer then reconnects by itself, every few seconds)."""
    return RedisBroker(client=connect(url, retry_seconds), namespace=f"{namespace}:dramatiq")


def declare_actor(broker: dramatiq.Broker, fn) -> dramatiq.Actor:
    """The one actor, on `broker`: the web sends it, a worker runs `fn(run_id, paused)`.
    No retries (a run half-trained twice would confuse everyone) and no time limit
    beyond a day (a paused run may wait through a lecture)."""
    return dramatiq.actor(fn, broker=broker, actor_name=ACTOR, queue_name=QUEUE,
                          max_retries=0, time_limit=DAY * 1000)


SCORE_ACTOR = "score_submission"


def declare_scoring_actor(broker: dramatiq.Broker, fn) -> dramatiq.Actor:
    """Scoring a challenge submission, `fn(request_id, run_id, features, dataset, hidden_seed)`:
    on the training queue (every worker reads it), first among the messages a worker holds;
    no retries (the web replica waits for one answer); dropped if no worker took it within
    a minute (the web replica has given up by then), and a minute at most to run."""
    return dramatiq.actor(fn, broker=broker, actor_name=SCORE_ACTOR, queue_name=QUEUE,
                          max_retries=0, max_age=60_000, time_limit=60_000, priority=-10)


def _runs_on_workers(run_id: str, paused: bool) -> None:
    raise RuntimeError("train_run runs on `keras-playground worker`, not on the web server")


class DramatiqRunner(Runner):
    """The web side: sends runs to the workers, passes on commands, reaps dead workers' runs."""

    def __init__(self, bus: RedisBus, store: RunStore, broker: dramatiq.Broker, *,
                 url: str, namespace: str = "kp", worker_timeout: float = 5.0):
        """`worker_timeout`: seconds a heartbeat lives (the workers' setting)."""
        self.bus, self.store = bus, store
        self.redis = connect(url)
        self.worker_timeout = worker_timeout
        self._lost_redis, self._quiet_until = False, 0.0
        self.keys = Keys(namespace)
        self.actor = declare_actor(broker, _runs_on_workers)
        # The ends this replica takes on (a stop before start, a dead worker's run): stored,
        # then told, retried in the background while Redis is out, so each run does end.
        super().__init__(RunEnds(store, bus))

    def submit(self, run_id: str, spec: RunSpec, paused: bool = False) -> None:
        # The status first: the worker's `running` must never come before it.
        self.bus.publish_json(run_id, "status", StatusEvent(state="queued").model_dump_json())
        self.actor.send(run_id, paused)

    def control(self, run_id: str, command: Command) -> bool:
        if self.bus.closed(run_id):
            return False
        if command.action == "stop" and self.redis.set(self.keys.claim(run_id), "web", nx=True,
                                                       ex=CLAIM_SECONDS):
            # No worker has started it: end it here; the worker that gets it will skip it.
            self.ends.stopped_before_start(run_id)
            return True
        key = self.keys.control(run_id)
        with self.redis.pipeline() as pipe:
            pipe.rpush(key, json.dumps(asdict(command)))
            pipe.expire(key, DAY)
            pipe.execute()
        return True

    def predict(self, run_id: str, command: Command, timeout: float) -> dict | None:
        """Through the run's command list; its worker answers on a reply key of its own."""
        if not self.redis.hexists(self.keys.training, run_id):
            return None
        reply = self.keys.reply(secrets.token_urlsafe(12))
        command = replace(command, reply=reply, deadline=time.time() + timeout)
        with self.redis.pipeline() as pipe:
            pipe.rpush(self.keys.control(run_id), json.dumps(asdict(command)))
            pipe.expire(self.keys.control(run_id), DAY)
            pipe.execute()
        answer = self.redis.blpop([reply], timeout=timeout)
        self.redis.delete(reply)
        if answer is None:
            raise TryLater("The worker training this run did not answer in time; try again.", 2)
        return json.loads(answer[1])

    def active_count(self) -> int:
        return self.store.active_count()

    def shutdown(self) -> None:
        pass  # the workers train the runs: a web replica stopping ends none of them

    def workers(self) -> list[dict]:
        """The live workers, from their heartbeats."""
        names = sorted(n.decode() for n in self.redis.smembers(self.keys.workers))
        values = self.redis.mget([self.keys.worker(n) for n in names]) if names else []
        gone = [name for name, value in zip(names, values) if not value]
        if gone:  # their heartbeats expired: forget them, so the set stays as small as the fleet
            self.redis.srem(self.keys.workers, *gone)
        return [json.loads(v) for v in values if v]

    def _heartbeats_trusted(self) -> bool:
        """Whether a missing heartbeat means a dead worker. Not for one `worker_timeout`
        after Redis restarted (the keys' deadlines passed while it was down, and the AOF
        keeps deadlines, not the time left) or came back to this replica after an outage:
        the workers need that long to beat again."""
        now = time.monotonic()
        try:
            uptime = self.redis.info("server")["uptime_in_seconds"]
        except OUTAGE_ERRORS:
            self._lost_redis = True
            raise
        if self._lost_redis:
            self._lost_redis, self._quiet_until = False, now + self.worker_timeout
        return uptime + 1 > self.worker_timeout and now >= self._quiet_until  # uptime: whole seconds

    def reap(self) -> list[str]:
        """End the runs whose worker stopped heartbeating (killed, crashed, lost its host)."""
        if not self._heartbeats_trusted():
            return []
        reaped = []
        for run_id, worker in self.redis.hgetall(self.keys.training).items():
            run_id, worker = run_id.decode(), worker.decode()
            if self.redis.exists(self.keys.worker(worker)):
                continue
            if not self.redis.hdel(self.keys.training, run_id):
                continue  # another replica got there first
            log.warning("worker %s stopped while training run %s", worker, run_id)
            try:
                history = [e for e in self.bus.replay(run_id) if e["kind"] == "epoch"]
            except Exception:  # the end matters more than the curve: it is failed either way
                log.exception("run %s: its epochs could not be read; ended without them", run_id)
                history = []
            self.ends.failed(run_id, history, message=f"The worker training this run ({worker}) stopped "
                                                      "unexpectedly. Press Train to start again.")
            reaped.append(run_id)
        return reaped

    def close(self) -> None:
        self.redis.close()
