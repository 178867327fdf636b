"""The app factory: routers, the runner, the bus and the store, wired in a lifespan.

It also serves the static front end (frontend/) and Plotly.js from the installed
`plotly` package, so the page works with no internet.
"""

from __future__ import annotations

import asyncio
import logging
import time
from contextlib import asynccontextmanager
from pathlib import Path

import plotly
from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from . import __version__
from .api import catalog, errors, preview, rooms, runs, stream
from .classroom import Classroom
from .api.body_limit import BodyLimit
from .api.headers import SecurityHeaders
from .api.ws_guard import allowed_origins
from .config import Settings, get_settings
from .engine.runtime import configure_threads
from .jobs.bus import EventBus, MemoryBus
from .jobs.distributed import DramatiqRunner, make_broker
from .jobs.redis_bus import RedisBus
from .jobs.runner import LocalRunner, Runner
from .jobs.service import RunService
from .jobs.training import Trainer, store_finisher
from .lessons import load_lessons
from .store import (MemoryRateLimiter, RateLimiter, RedisRateLimiter, RedisRoomStore, RedisRunStore, RoomStore,
                    RunStore, SqliteRoomStore, SqliteRunStore)
from .store.redis_client import connect

FRONTEND = Path(__file__).resolve().parents[2] / "frontend"
PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def embedded_backends(settings: Settings) -> tuple[RunStore, RoomStore, EventBus, Runner]:
    """One process: SQLite files, the in-memory bus, training threads."""
    store = SqliteRunStore(settings.data_dir)
    bus = MemoryBus()
    bus.bind_loop(asyncio.get_running_loop())
    trainer = Trainer(bus, store_finisher(store), resolution=settings.grid_resolution,
                      thumb=settings.thumb_resolution, frames_per_second=settings.frames_per_second,
                      frame_budget=settings.frame_budget, paused_timeout=settings.paused_run_timeout)
    return (store, SqliteRoomStore(settings.data_dir), bus,
            LocalRunner(trainer, threads=settings.training_threads))


def redis_backends(settings: Settings) -> tuple[RunStore, RoomStore, EventBus, Runner]:
    """A lab server: records, rooms, events and the queue in Redis; `keras-playground worker`s train."""
    url = settings.redis_url
    store, bus = RedisRunStore(url), RedisBus(url)
    return store, RedisRoomStore(url), bus, DramatiqRunner(bus, store, make_broker(url), url=url,
                                                              worker_timeout=settings.worker_timeout)


def rate_limiter(settings: Settings) -> RateLimiter:
    """Counted in Redis on a lab server, so the limits hold over all web replicas."""
    if settings.redis_url:
        return RedisRateLimiter(connect(settings.redis_url))
    return MemoryRateLimiter()


def prune(settings: Settings, store: RunStore, rooms: RoomStore) -> None:
    """Old finished runs (with their models) and rooms closed long ago."""
    store.prune(settings.keep_runs)
    rooms.prune_closed(time.time() - settings.keep_closed_rooms_hours * 3600)


async def _prune_forever(settings: Settings, store: RunStore, rooms: RoomStore) -> None:
    while True:
        await asyncio.sleep(settings.prune_every_seconds)
        try:
            await asyncio.to_thread(prune, settings, store, rooms)
        except Exception as exc:  # a full disk or Redis restarting: try again next time
            logging.getLogger(__name__).warning("pruning failed: %s", exc)


async def _reap_forever(runner: DramatiqRunner, every: float) -> None:
    """Any replica ends the runs of a worker that died (the first to notice wins)."""
    while True:
        await asyncio.sleep(every)
        try:
            await asyncio.to_thread(runner.reap)
        except Exception as exc:  # Redis restarting: try again next time
            logging.getLogger(__name__).warning("reaping dead workers' runs failed: %s", exc)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        configure_threads(settings.tf_threads)
        app.state.lessons = load_lessons(settings.limits, settings.lessons_dir)  # a bad file stops the start
        allowed_origins(settings.allowed_origins)  # so does a typo in PLAYGROUND_ALLOWED_ORIGINS
        build = redis_backends if settings.redis_url else embedded_backends
        store, rooms_store, bus, runner = build(settings)
        store.recover()  # embedded: whatever was active when the last server stopped
        prune(settings, store, rooms_store)
        limiter = rate_limiter(settings)
        service = RunService(settings, store, bus, runner, limiter)
        app.state.settings, app.state.service = settings, service
        app.state.classroom = Classroom(settings, rooms_store, store, bus, limiter)
        chores = [asyncio.create_task(_prune_forever(settings, store, rooms_store))]
        if isinstance(runner, DramatiqRunner):
            chores.append(asyncio.create_task(_reap_forever(runner, settings.heartbeat_seconds)))
        try:
            yield
        finally:
            for chore in chores:
                chore.cancel()
            await asyncio.to_thread(service.shutdown)
            app.state.classroom.shutdown()
            bus.close()
            rooms_store.close()
            limiter.close()
            store.close()

    app = FastAPI(title="Keras Playground", version=__version__, lifespan=lifespan,
                  description="Train small, real Keras models and watch them learn. "
                              "The event protocol is in docs/api.md.")
    errors.install(app)

    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeaders)

    app.include_router(catalog.router)
    app.include_router(runs.router)
    app.include_router(stream.router)
    app.include_router(preview.router)
    app.include_router(rooms.router)

    @app.get("/static/plotly.min.js", include_in_schema=False)
    def plotly_js():
        return FileResponse(PLOTLY_JS, media_type="text/javascript")

    if FRONTEND.is_dir():
        app.mount("/", StaticFiles(directory=FRONTEND, html=True), name="frontend")
    return app
