"""Which store, bus and runner this process uses: chosen here, from the settings, once.

- Embedded (no `PLAYGROUND_REDIS_URL`, the default): SQLite files in the data directory,
  the in-memory bus, training threads in the server's own process.
- A lab server: run records, rooms, events and rate limits in Redis; dramatiq carries
  each run, and each challenge submission to score, to a `keras-playground worker`
  process (`worker_setup`).
  A web replica then imports no TensorFlow: it only stores, relays and serves.

Nothing else asks which mode it runs in: the app and the worker take what is built here.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Awaitable, Callable

from .classroom.scoring import LocalScorer, RedisScorer, Scorer
from .config import Settings, get_settings
from .jobs.bus import EventBus, MemoryBus
from .jobs.runner import Runner
from .store import (MemoryRateLimiter, RateLimiter, RedisRateLimiter, RedisRoomStore, RedisRunStore, RoomStore,
                    RunStore, SqliteRoomStore, SqliteRunStore)
from .store.redis_client import connect

log = logging.getLogger(__name__)

Chore = Callable[[], Awaitable[None]]


@dataclass
class WebBackends:
    """What a web server (the embedded one, or a lab server's replica) works with."""

    mode: str  # "embedded" or "redis"
    store: RunStore
    rooms: RoomStore
    bus: EventBus
    runner: Runner
    limiter: RateLimiter
    scorer: Scorer  # challenge submissions: on a thread here, or on a worker
    chores: list[Chore] = field(default_factory=list)  # background tasks while it serves
    warmer: object | None = None  # the lesson programs being traced (engine.warm.Warmer)
    primed: bool | None = None  # its one-time costs paid at start (None: no training here, or not asked)

    def close(self) -> None:
        if self.warmer is not None:
            self.warmer.stop()
        self.scorer.close()
        self.runner.close()
        self.bus.close()
        self.rooms.close()
        self.limiter.close()
        self.store.close()


def web_backends(settings: Settings) -> WebBackends:
    """Built inside the server's event loop (the in-memory bus wakes its readers there)."""
    built = _redis(settings) if settings.redis_url else _embedded(settings)
    built.chores.append(lambda: _every(settings.prune_every_seconds, "pruning",
                                       lambda: prune(settings, built.store, built.rooms)))
    return built


def _embedded(settings: Settings) -> WebBackends:
    # Training happens here: TensorFlow is imported only in this mode.
    from .engine.runtime import configure_threads, freeze_long_lived
    from .jobs.ends import RunEnds
    from .jobs.local import LocalRunner
    from .jobs.training import trainer_for

    configure_threads(settings.tf_threads)
    use_xla_tier(settings.xla_tier, settings.xla_programs)
    store, bus = SqliteRunStore(settings.data_dir), MemoryBus()
    bus.bind_loop(asyncio.get_running_loop())
    runner = LocalRunner(trainer_for(settings, RunEnds(store, bus)), threads=settings.training_threads)
    built = WebBackends("embedded", store, SqliteRoomStore(settings.data_dir), bus, runner, MemoryRateLimiter(),
                        LocalScorer(store))
    built.primed = prime(settings)
    freeze_long_lived()  # TensorFlow, Keras and this server, loaded: before the warming starts
    built.warmer = warm_lessons(settings, idle=lambda: runner.active_count() == 0)
    return built


def use_xla_tier(on: bool, programs: int | None = None) -> None:
    """Whether this process's programs (solo and cohorts) get an XLA tier (`engine.tiers`),
    and how many it may compile in all (None: no bound)."""
    from .engine.cohort import COHORTS
    from .engine.pool import PROGRAMS
    from .engine.tiers import COMPILER

    PROGRAMS.tiered = COHORTS.compile_in_background = on
    COMPILER.max_programs = programs


def prime(settings: Settings) -> bool | None:
    """Pay this training process's one-time costs now, before it serves (`engine.prime`):
    True when done, None when turned off, False when it failed (logged, never fatal: the
    first class then pays them, as without priming)."""
    if not settings.prime:
        return None
    from .engine.prime import prime_process

    try:
        report = prime_process(xla=settings.xla_tier, resolution=settings.grid_resolution,
                               thumb=settings.thumb_resolution)
    except Exception:
        log.warning("priming the training process failed; its first runs pay its one-time costs", exc_info=True)
        return False
    log.info("primed the training process in %.1f s (cohort program: %s)", report["seconds"], report["cohort_tier"])
    return True


def warm_lessons(settings: Settings, idle: Callable[[], bool] = lambda: True):
    """The lesson steps' programs, traced in the background (`engine.warm`), or None."""
    if not settings.warm_lessons:
        return None
    from .classroom.lessons import load_lessons
    from .engine.warm import Warmer
    from .specs import parse_spec

    specs = [parse_spec(step.settings) for lesson in load_lessons(settings.limits, settings.lessons_dir)
             for step in lesson.steps]
    return Warmer(specs, idle=idle, resolution=settings.grid_resolution, thumb=settings.thumb_resolution).start()


def _redis(settings: Settings) -> WebBackends:
    from .jobs.distributed import DramatiqRunner, make_broker
    from .jobs.redis_bus import RedisBus

    url = settings.redis_url
    store, bus = RedisRunStore(url), RedisBus(url)
    broker = make_broker(url)
    runner = DramatiqRunner(bus, store, broker, url=url, worker_timeout=settings.worker_timeout)
    # Limits counted in Redis hold over all web replicas; a worker scores, as it trains.
    built = WebBackends("redis", store, RedisRoomStore(url), bus, runner, RedisRateLimiter(connect(url)),
                        RedisScorer(url, broker))
    # Any replica ends the runs of a worker that died (the first to notice wins).
    built.chores.append(lambda: _every(settings.heartbeat_seconds, "reaping dead workers' runs", runner.reap))
    return built


def prune(settings: Settings, store: RunStore, rooms: RoomStore) -> None:
    """Old finished runs (with their models) and rooms closed long ago."""
    store.prune(settings.keep_runs)
    rooms.prune_closed(time.time() - settings.keep_closed_rooms_hours * 3600)


async def _every(seconds: float, what: str, job: Callable[[], object]) -> None:
    while True:
        await asyncio.sleep(seconds)
        try:
            await asyncio.to_thread(job)
        except Exception as exc:  # a full disk or Redis restarting: try again next time
            log.warning("%s failed: %s", what, exc)


# ----- a lab server's training worker -----

def worker_context(settings: Settings, *, namespace: str = "kp", name: str | None = None):
    """What one worker process trains with: the shared store and bus, its trainer."""
    from .jobs.ends import RunEnds
    from .jobs.redis_bus import RedisBus
    from .jobs.training import trainer_for
    from .jobs.worker import WorkerContext, worker_name

    # Every command retries through a Redis outage of up to `redis_outage_seconds`
    # (training waits meanwhile); past that, the run fails and its end is kept to store.
    url, outage = settings.redis_url, settings.redis_outage_seconds
    name = name or worker_name()
    store = RedisRunStore(url, namespace, retry_seconds=outage)
    bus = RedisBus(url, namespace, retry_seconds=outage)
    trainer = trainer_for(settings, RunEnds(store, bus), name=name)
    return WorkerContext(settings, store=store, bus=bus, trainer=trainer, redis=connect(url, outage),
                         namespace=namespace, name=name)


def worker_setup() -> None:
    """dramatiq's entry point in each worker process (`keras-playground worker` forks them)."""
    import dramatiq

    from .engine.runtime import configure_threads, freeze_long_lived
    from .jobs.distributed import make_broker
    from .jobs.worker import attach

    settings = get_settings()
    if not settings.redis_url:
        raise SystemExit("keras-playground worker needs PLAYGROUND_REDIS_URL (e.g. redis://localhost:6379/0)")
    configure_threads(settings.tf_threads)
    use_xla_tier(settings.xla_tier, settings.xla_programs)
    broker = make_broker(settings.redis_url, retry_seconds=settings.redis_outage_seconds)
    context = worker_context(settings)
    attach(broker, context)
    dramatiq.set_broker(broker)
    prime(settings)
    freeze_long_lived()
    warm_lessons(settings, idle=lambda: not context.trainer.training)
