"""Health and the catalog: what a page may choose, and within which bounds."""

from __future__ import annotations

from fastapi import APIRouter

from .. import __version__
from ..data import catalog_entries
from ..jobs.distributed import DramatiqRunner
from ..specs import ACTIVATIONS, FEATURES, LOSSES, OPTIMIZERS
from .deps import ServiceDep, SettingsDep

router = APIRouter(prefix="/api", tags=["catalog"])


@router.get("/health")
def health(service: ServiceDep):
    health = {"status": "ok", "version": __version__, "active_runs": service.runner.active_count(),
              "mode": "embedded"}
    if isinstance(service.runner, DramatiqRunner):
        health["mode"] = "redis"
        health["workers"] = len(service.runner.workers())
    return health


@router.get("/catalog")
def catalog(settings: SettingsDep):
    return {
        "datasets": catalog_entries(),
        "features": list(FEATURES),
        "activations": list(ACTIVATIONS),
        "optimizers": list(OPTIMIZERS),
        "losses": list(LOSSES),
        "limits": settings.limits.model_dump(),
        "lessons": [],
    }
