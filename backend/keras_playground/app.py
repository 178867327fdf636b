"""The app factory: routers, the runner, the bus and the store, wired in a lifespan.

It also serves the static front end (frontend/) and Plotly.js from the installed
`plotly` package, so the page works with no internet.
"""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from pathlib import Path

import plotly
from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from . import __version__
from .api import catalog, errors, preview, runs, stream
from .api.body_limit import BodyLimit
from .config import Settings, get_settings
from .engine.runtime import configure_threads
from .jobs.bus import MemoryBus
from .jobs.runner import LocalRunner
from .jobs.service import RunService
from .store import SqliteRunStore

FRONTEND = Path(__file__).resolve().parents[2] / "frontend"
PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        configure_threads(settings.tf_threads)
        store = SqliteRunStore(settings.data_dir)
        store.mark_interrupted()  # whatever was active when the last server stopped
        store.prune(settings.keep_runs)
        bus = MemoryBus()
        bus.bind_loop(asyncio.get_running_loop())
        service = RunService(settings, store, bus)
        service.runner = LocalRunner(bus, service.finish, threads=settings.training_threads,
                                     resolution=settings.grid_resolution, thumb=settings.thumb_resolution,
                                     frames_per_second=settings.frames_per_second,
                                     frame_budget=settings.frame_budget)
        app.state.settings, app.state.service = settings, service
        try:
            yield
        finally:
            await asyncio.to_thread(service.shutdown)
            store.close()

    app = FastAPI(title="Keras Playground", version=__version__, lifespan=lifespan,
                  description="Train small, real Keras models and watch them learn. "
                              "The event protocol is in docs/api.md.")
    errors.install(app)

    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)

    app.include_router(catalog.router)
    app.include_router(runs.router)
    app.include_router(stream.router)
    app.include_router(preview.router)

    @app.get("/static/plotly.min.js", include_in_schema=False)
    def plotly_js():
        return FileResponse(PLOTLY_JS, media_type="text/javascript")

    if FRONTEND.is_dir():
        app.mount("/", StaticFiles(directory=FRONTEND, html=True), name="frontend")
    return app
