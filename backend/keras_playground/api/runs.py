"""Runs: create, read, list, control; the exported code, the trained model, the data."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Body, HTTPException, Query, Response
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict

from ..data import make_dataset, to_csv, to_npz
from ..engine.codegen import export_script
from ..engine.control import Command
from ..engine.notebook import MEDIA_TYPE, notebook_text
from ..specs import RunSpec, SpecError, check_range, format_bound
from .deps import AddressDep, ClientDep, ServiceDep, SettingsDep, TokenDep

router = APIRouter(prefix="/api/runs", tags=["runs"])


class Created(BaseModel):
    id: str
    token: str
    status: str


class ControlRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Literal["pause", "resume", "step", "stop", "learning_rate"]
    learning_rate: float | None = None


@router.post("", status_code=201, response_model=Created,
             responses={422: {"description": "Invalid spec: each field at fault, with its bound"},
                        429: {"description": "Too many active runs, or too many created from this "
                                              "address in a minute; see Retry-After"}})
def create_run(service: ServiceDep, client: ClientDep, address: AddressDep,
               spec: Annotated[RunSpec, Body(description="A run spec (docs/run-spec.md)")],
               paused: Annotated[bool, Query(description="Start paused: it waits for step or resume")] = False):
    created = service.create(spec.model_dump(), client, address, paused)
    return Created(id=created.id, token=created.token, status=created.status)


@router.get("")
def recent_runs(service: ServiceDep, client: ClientDep,
                limit: Annotated[int, Query(ge=1, le=100, description="How many, newest first")] = 20):
    """The caller's own recent runs (by X-Client-Id, else address). An old `mine=false`
    is ignored like any unknown parameter: nobody lists another's runs."""
    records = service.recent(client, limit)
    return [{"id": r.id, "state": r.state, "created": r.created, "ended": r.ended,
             "dataset": r.spec["dataset"]["name"], "final": r.done} for r in records]


@router.get("/{run_id}")
def get_run(run_id: str, service: ServiceDep):
    return service.view(run_id).as_json()


@router.post("/{run_id}/control",
             responses={401: {"description": "No token"}, 403: {"description": "Wrong token"},
                        409: {"description": "The run has ended"}})
def control_run(run_id: str, request: ControlRequest, service: ServiceDep, settings: SettingsDep,
                token: TokenDep):
    value = None
    if request.action == "learning_rate":
        high = settings.limits.max_learning_rate
        if request.learning_rate is None:
            raise SpecError.of("learning_rate", f"a new learning rate in (0, {format_bound(high)}] is needed")
        check_range("learning_rate", request.learning_rate, 0, high, low_open=True)
        value = request.learning_rate
    if not service.control(run_id, token, Command(request.action, value)):
        raise HTTPException(409, "The run has already ended.")
    return {"id": run_id, "action": request.action, "accepted": True}


@router.get("/{run_id}/code", response_class=PlainTextResponse)
def run_code(run_id: str, service: ServiceDep):
    """The run as a standalone Keras script (train.py)."""
    script = export_script(service.spec_of(run_id))
    return PlainTextResponse(script, headers={"Content-Disposition": f'inline; filename="train_{run_id}.py"'})


@router.get("/{run_id}/notebook")
def run_notebook(run_id: str, service: ServiceDep):
    """The run as a Jupyter notebook (.ipynb, nbformat 4)."""
    return Response(notebook_text(service.spec_of(run_id)), media_type=MEDIA_TYPE,
                    headers={"Content-Disposition": f'attachment; filename="run_{run_id}.ipynb"'})


@router.get("/{run_id}/model")
def run_model(run_id: str, service: ServiceDep):
    service.get(run_id)
    model = service.store.model(run_id)
    if model is None:
        raise HTTPException(404, "This run has no trained model yet: it is kept when the run ends.")
    return Response(model, media_type="application/octet-stream",
                    headers={"Content-Disposition": f'attachment; filename="model_{run_id}.keras"'})


@router.get("/{run_id}/data")
def run_data(run_id: str, service: ServiceDep):
    """The run's data: points as CSV (split,x1,x2,label); images as numpy's .npz."""
    ds = make_dataset(service.spec_of(run_id).dataset)
    if ds.input == "image":
        return Response(to_npz(ds), media_type="application/octet-stream",
                        headers={"Content-Disposition": f'attachment; filename="data_{run_id}.npz"'})
    csv = to_csv(ds)
    return Response(csv, media_type="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="data_{run_id}.csv"'})
