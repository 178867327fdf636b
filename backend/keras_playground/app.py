"""The app factory: routers, and the backends (`backends.web_backends`) wired in a lifespan.

It also serves the static front end (frontend/) and Plotly.js from the installed
`plotly` package, so the page works with no internet.
"""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path

import plotly
from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from . import __version__
from .api import catalog, errors, images, microscopy, preview, rooms, runs, stream
from .api.body_limit import BodyLimit
from .api.headers import SecurityHeaders
from .api.ws_guard import allowed_origins
from .backends import prune, web_backends
from .classroom import Classroom
from .classroom.lessons import load_lessons
from .config import Settings, get_settings
from .jobs.service import RunService


def _frontend() -> Path:
    """The page: keras_playground/frontend in an installed wheel (pyproject.toml maps the
    repo's frontend/ there at build time), else the repo's frontend/ (an editable install)."""
    packaged = Path(str(resources.files("keras_playground") / "frontend"))
    return packaged if packaged.is_dir() else Path(__file__).resolve().parents[2] / "frontend"


FRONTEND = _frontend()
PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.lessons = load_lessons(settings.limits, settings.lessons_dir)  # a bad file stops the start
        allowed_origins(settings.allowed_origins)  # so does a typo in PLAYGROUND_ALLOWED_ORIGINS
        built = web_backends(settings)
        store, rooms_store, bus, limiter = built.store, built.rooms, built.bus, built.limiter
        store.recover()  # embedded: whatever was active when the last server stopped
        prune(settings, store, rooms_store)
        service = RunService(settings, store, bus, built.runner, limiter)
        app.state.settings, app.state.service, app.state.mode = settings, service, built.mode
        app.state.primed = built.primed
        app.state.classroom = Classroom(settings, rooms_store, store, bus, limiter, scorer=built.scorer)
        chores = [asyncio.create_task(chore()) for chore in built.chores]
        try:
            yield
        finally:
            for chore in chores:
                chore.cancel()
            await asyncio.to_thread(service.shutdown)
            built.close()

    app = FastAPI(title="Keras Playground", version=__version__, lifespan=lifespan,
                  description="Train small, real Keras models and watch them learn. "
                              "The event protocol is in docs/api.md.")
    errors.install(app)

    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeaders)

    app.include_router(catalog.router)
    app.include_router(images.router)
    app.include_router(microscopy.router)
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
