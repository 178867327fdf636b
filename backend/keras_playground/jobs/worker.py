"""A training worker process of a lab server (`keras-playground worker` runs dramatiq on it).

dramatiq forks the worker processes and, in each, calls `backends.worker_setup()`: it
builds the Redis broker and this process's `WorkerContext` (TensorFlow is imported once
per process) and declares the `train_run` actor. Each actor thread trains one run at a time.

A Redis outage shorter than `redis_outage_seconds` only pauses the training (every Redis
command retries with backoff); after a longer one the run fails, and its end is stored
and told once Redis is back (`ends.RunEnds`).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading

import dramatiq
import redis
from dramatiq.middleware import Middleware

from ..config import Settings
from ..specs import RunSpec
from ..store import RunStore
from .bus import EventBus
from .distributed import CLAIM_SECONDS, Keys, RedisControl, declare_actor, declare_scoring_actor
from .scoring import answer_scoring
from .training import Trainer

log = logging.getLogger(__name__)

# KEYS: the run's claim, the hash of runs in training. ARGV: worker name, claim TTL, run id.
# Ours already: a reply lost in a Redis restart, sent again.
_CLAIM = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) or redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('HSET', KEYS[2], ARGV[3], ARGV[1])
  return 1
end
return 0
"""


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class WorkerContext:
    """What one worker process trains with: the shared store and bus, a trainer, a heartbeat
    (built by `backends.worker_context`)."""

    def __init__(self, settings: Settings, *, store: RunStore, bus: EventBus, trainer: Trainer,
                 redis: redis.Redis, namespace: str = "kp", name: str | None = None):
        self.settings = settings
        self.name = name or worker_name()
        self.store, self.bus, self.trainer, self.redis = store, bus, trainer, redis
        self.keys = Keys(namespace)
        self._claim = self.redis.register_script(_CLAIM)
        self.closing = threading.Event()
        self._beating = threading.Event()
        self._heart: threading.Thread | None = None

    # ----- the actor -----

    def train_run(self, run_id: str, paused: bool = False) -> None:
        # Claimed and listed as ours in one step: if this process dies at any point after,
        # the watchdog finds the run under a worker without heartbeat and fails it.
        try:
            claimed = self._claim(keys=[self.keys.claim(run_id), self.keys.training],
                                  args=[self.name, CLAIM_SECONDS, run_id])
        except BaseException as exc:  # Redis out for longer than we wait: no one will train it
            self.trainer.fail(run_id, None, exc)
            raise
        if not claimed:
            log.info("run %s is already claimed (stopped, or a redelivery): skipped", run_id)
            return
        try:
            try:
                record = self.store.get(run_id)
            except BaseException as exc:  # Redis gone for good, or the time limit: fail it visibly
                self.trainer.fail(run_id, None, exc)
                raise
            if record is None:
                log.warning("run %s has no record (pruned?): skipped", run_id)
                return
            # Ends the run itself, whatever happens; dramatiq's time limit fails it, then comes up.
            self.trainer.train(run_id, RunSpec.model_validate(record.spec),
                               RedisControl(self.redis, self.keys.control(run_id)),
                               start_paused=paused, is_cancelled=self.closing.is_set)
        finally:
            # Only once the end is stored: a run released before would never be reaped.
            self.trainer.ends.pending.settle(run_id, "releasing it", lambda: self._release(run_id))

    def _release(self, run_id: str) -> None:
        with self.redis.pipeline() as pipe:
            pipe.hdel(self.keys.training, run_id)
            pipe.delete(self.keys.control(run_id))
            pipe.execute()

    def score_submission(self, request_id: str, run_id: str, features: list[str], dataset: dict,
                         hidden_seed: int) -> None:
        """A challenge submission's score, answered to the web replica that waits for it."""
        answer_scoring(self.redis, self.store, self.keys.ns, request_id, run_id, features, dataset, hidden_seed)

    # ----- liveness -----

    def _beat(self) -> None:
        info = json.dumps({"name": self.name, "host": socket.gethostname(), "pid": os.getpid(),
                           "runs": len(self.trainer.training)})
        with self.redis.pipeline() as pipe:
            pipe.set(self.keys.worker(self.name), info, px=int(self.settings.worker_timeout * 1000))
            pipe.sadd(self.keys.workers, self.name)
            pipe.execute()

    def start_heartbeat(self) -> None:
        self._beat()

        def beat_forever():
            while not self._beating.wait(self.settings.heartbeat_seconds):
                try:
                    self._beat()
                except redis.RedisError as exc:  # Redis restarting: keep trying
                    log.warning("heartbeat failed: %s", exc)

        self._heart = threading.Thread(target=beat_forever, name="heartbeat", daemon=True)
        self._heart.start()

    def stop_heartbeat(self) -> None:
        self._beating.set()
        if self._heart is not None:
            self._heart.join()
        self.redis.delete(self.keys.worker(self.name))
        self.redis.srem(self.keys.workers, self.name)


class Lifecycle(Middleware):
    """Heartbeat while the dramatiq worker runs; interrupt the runs when it shuts down."""

    def __init__(self, context: WorkerContext):
        self.context = context

    def after_worker_boot(self, broker, worker) -> None:
        self.context.start_heartbeat()
        log.info("worker %s ready", self.context.name)

    def before_worker_shutdown(self, broker, worker) -> None:
        self.context.closing.set()

    def after_worker_shutdown(self, broker, worker) -> None:
        self.context.stop_heartbeat()


def attach(broker: dramatiq.Broker, context: WorkerContext) -> dramatiq.Actor:
    """Make `broker` run `context`'s training (by `backends.worker_setup`, and in-process tests)."""
    broker.add_middleware(Lifecycle(context))
    declare_scoring_actor(broker, context.score_submission)
    return declare_actor(broker, context.train_run)
