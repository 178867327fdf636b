"""Health and the catalog: what a page may choose, and within which bounds."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request

from .. import __version__
from ..data import catalog_entries
from ..jobs.distributed import DramatiqRunner
from ..lessons import lesson_json, lesson_summaries
from ..specs import ACTIVATIONS, FEATURES, LOSSES, OPTIMIZERS
from ..store.redis_client import OUTAGE_ERRORS
from .deps import ServiceDep, SettingsDep

router = APIRouter(prefix="/api", tags=["catalog"])


@router.get("/health")
def health(service: ServiceDep):
    """Always an answer: `degraded` (and no counts) while Redis is out on a lab server."""
    lab = isinstance(service.runner, DramatiqRunner)
    health = {"status": "ok", "version": __version__, "mode": "redis" if lab else "embedded"}
    try:
        health["active_runs"] = service.runner.active_count()
        if lab:
            health["workers"] = len(service.runner.workers())
    except OUTAGE_ERRORS:
        health.update(status="degraded", reason="Redis is unreachable; retrying.")
    return health


@router.get("/catalog")
def catalog(settings: SettingsDep, request: Request):
    return {
        "datasets": catalog_entries(),
        "features": list(FEATURES),
        "activations": list(ACTIVATIONS),
        "optimizers": list(OPTIMIZERS),
        "losses": list(LOSSES),
        "limits": settings.limits.model_dump(),
        "lessons": lesson_summaries(request.app.state.lessons),
    }


@router.get("/lessons/{lesson_id}")
def lesson(lesson_id: str, request: Request):
    """A lesson, whole: each step's text, settings (a run spec), what to try and watch."""
    for found in request.app.state.lessons:
        if found.id == lesson_id:
            return lesson_json(found)
    raise HTTPException(404, f"No lesson {lesson_id!r}.")
