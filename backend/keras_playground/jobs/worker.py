"""A training worker process of a lab server (`keras-playground worker` runs dramatiq on it).

dramatiq forks the worker processes and, in each, calls `setup()`: it builds the Redis
broker and this process's `WorkerContext` (TensorFlow is imported once per process) and
declares the `train_run` actor. Each actor thread trains one run at a time.

A Redis outage shorter than `redis_outage_seconds` only pauses the training (every Redis
command retries with backoff); after a longer one the run fails, and its end is stored
and told once Redis is back (`ends.Ends`).
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

from ..config import Settings, get_settings
from ..engine.runtime import configure_threads
from ..specs import ErrorEvent, RunSpec
from ..store import RedisRunStore
from ..store.redis_client import connect
from .distributed import CLAIM_SECONDS, Keys, RedisControl, declare_actor, declare_scoring_actor, make_broker
from .redis_bus import RedisBus
from .scoring import answer_scoring
from .training import Trainer, store_finisher

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


class WorkerContext:
    """What one worker process trains with: the shared store and bus, a trainer, a heartbeat."""

    def __init__(self, settings: Settings, *, namespace: str = "kp", name: str | None = None):
        url = settings.redis_url
        self.settings = settings
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        # Every command retries through a Redis outage of up to `redis_outage_seconds`
        # (training waits meanwhile); past that, the run fails and its end is kept to store.
        outage = settings.redis_outage_seconds
        self.redis = connect(url, outage)
        self.keys = Keys(namespace)
        self.store = RedisRunStore(url, namespace, retry_seconds=outage)
        self.bus = RedisBus(url, namespace, retry_seconds=outage)
        self._claim = self.redis.register_script(_CLAIM)
        self.trainer = Trainer(self.bus, store_finisher(self.store),
                               resolution=settings.grid_resolution, thumb=settings.thumb_resolution,
                               frames_per_second=settings.frames_per_second,
                               frame_budget=settings.frame_budget,
                               on_interrupt=self._interrupted, name=self.name,
                               paused_timeout=settings.paused_run_timeout)
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
            self.trainer.ends.settle(run_id, "releasing it", lambda: self._release(run_id))

    def _release(self, run_id: str) -> None:
        with self.redis.pipeline() as pipe:
            pipe.hdel(self.keys.training, run_id)
            pipe.delete(self.keys.control(run_id))
            pipe.execute()

    def score_submission(self, request_id: str, run_id: str, features: list[str], dataset: dict,
                         hidden_seed: int) -> None:
        """A challenge submission's score, answered to the web replica that waits for it."""
        answer_scoring(self.redis, self.store, self.keys.ns, request_id, run_id, features, dataset, hidden_seed)

    def _interrupted(self, run_id: str, session) -> None:
        """The worker is shutting down (a restart, a scale-down) before the run's end."""
        history = [e.model_dump(mode="json") for e in session.history]
        event = ErrorEvent(message="The worker training this run was shut down before the run finished. "
                                   "Press Train to start again.")
        ends = self.trainer.ends  # retried like every other end (the process is stopping: briefly)
        ends.settle(run_id, "storing its interruption", lambda: self.store.finish(run_id, "interrupted", history, None))
        ends.settle(run_id, "publishing its error", lambda: self.trainer.publish(run_id, event), after_earlier=False)

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
    """Make `broker` run `context`'s training (used by `setup` and by in-process tests)."""
    broker.add_middleware(Lifecycle(context))
    declare_scoring_actor(broker, context.score_submission)
    return declare_actor(broker, context.train_run)


def setup() -> None:
    """dramatiq's entry point in each worker process (see `cli.worker`)."""
    settings = get_settings()
    if not settings.redis_url:
        raise SystemExit("keras-playground worker needs PLAYGROUND_REDIS_URL (e.g. redis://localhost:6379/0)")
    configure_threads(settings.tf_threads)
    broker = make_broker(settings.redis_url, retry_seconds=settings.redis_outage_seconds)
    attach(broker, WorkerContext(settings))
    dramatiq.set_broker(broker)
