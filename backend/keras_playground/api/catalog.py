"""Health and the catalog: what a page may choose, and within which bounds."""

from __future__ import annotations

from typing import get_args

from fastapi import APIRouter, HTTPException, Request

from .. import __version__
from ..data import catalog_entries
from ..data.exercises import DEFAULT_EXERCISE, exercise_entries
from ..data.validate import LOSSES_BY_KIND, MAX_CLASSES
from ..classroom.lessons import lesson_json, lesson_summaries
from ..specs import (ACTIVATIONS, FEATURES, LOSSES, OPTIMIZERS, AugmentSpec, DatasetSpec, LayerSpec, RunSpec,
                     TrainingSpec, layer_catalog)
from ..store.redis_client import OUTAGE_ERRORS
from .deps import ServiceDep, SettingsDep

router = APIRouter(prefix="/api", tags=["catalog"])


@router.get("/health")
def health(service: ServiceDep, request: Request):
    """Always an answer: `degraded` (and no counts) while Redis is out on a lab server."""
    health = {"status": "ok", "version": __version__, "mode": request.app.state.mode}
    if request.app.state.primed is not None:  # a server that trains, and was told to prime
        health["primed"] = request.app.state.primed
    try:
        health["active_runs"] = service.runner.active_count()
        workers = service.runner.workers()
        if workers is not None:
            health["workers"] = len(workers)
    except OUTAGE_ERRORS:
        health.update(status="degraded", reason="Redis is unreachable; retrying.")
    return health


@router.get("/catalog")
def catalog(settings: SettingsDep, request: Request):
    """What a page may choose and the rules it repeats, each taken from the server's own
    definition (the spec models, the data rules), so the page holds no copy of them."""
    return {
        "datasets": catalog_entries(),
        "features": list(FEATURES),
        "activations": list(ACTIVATIONS),
        "optimizers": list(OPTIMIZERS),
        "losses": list(LOSSES),
        "losses_by_kind": {kind: list(losses) for kind, losses in LOSSES_BY_KIND.items()},
        "regularizations": list(get_args(TrainingSpec.model_fields["regularization"].annotation)),
        "max_classes": MAX_CLASSES,
        "fields": {"spec": list(RunSpec.model_fields), "dataset": list(DatasetSpec.model_fields),
                   "layer": list(LayerSpec.model_fields), "training": list(TrainingSpec.model_fields),
                   "augment": list(AugmentSpec.model_fields)},
        "layer_types": layer_catalog(settings.limits),
        "limits": settings.limits.model_dump(),
        "lessons": lesson_summaries(request.app.state.lessons),
        "exercises": exercise_entries(),
        "default_exercise": DEFAULT_EXERCISE,
    }


@router.get("/lessons/{lesson_id}")
def lesson(lesson_id: str, request: Request):
    """A lesson, whole: each step's text, settings (a run spec), what to try and watch."""
    for found in request.app.state.lessons:
        if found.id == lesson_id:
            return lesson_json(found)
    raise HTTPException(404, f"No lesson {lesson_id!r}.")
