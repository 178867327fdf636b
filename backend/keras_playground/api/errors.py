"""Every client mistake becomes a clear 4xx in one JSON shape; nothing leaks a traceback.

Shape: {"detail": [{"field": "layers[0].units", "msg": "500 is out of range [1, 64]"}]}
for invalid input (422), {"detail": "words"} otherwise.
"""

from __future__ import annotations

import logging
import secrets
import sqlite3

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..classroom import Forbidden, RoomClosed, RoomNotFound
from ..data import CsvError
from ..jobs.scoring import ScoringUnavailable
from ..jobs.service import Busy, NotAllowed, RunNotFound
from ..specs import SpecError, field_path
from ..store.redis_client import OUTAGE_ERRORS
from ..store.redis_client import retry_after as outage_retry_after

log = logging.getLogger(__name__)


def _problems(problems) -> JSONResponse:
    return JSONResponse(status_code=422, content={"detail": problems})


def _request_problem(error: dict) -> dict:
    if error["type"] == "json_invalid":
        reason = error.get("ctx", {}).get("error", "")
        return {"field": "body", "msg": f"The body is not valid JSON ({reason})."}
    # loc starts with where it was found (body, query, path); the rest is the field.
    return {"field": field_path(error["loc"][1:]) or error["loc"][0], "msg": error["msg"]}


def _unreadable_body(exc: StarletteHTTPException) -> str | None:
    """Why FastAPI could not parse a JSON body (its 400 names no reason), by the cause's type."""
    if exc.status_code != 400:
        return None
    cause = exc.__cause__
    if isinstance(cause, UnicodeDecodeError):
        return f"The body is not valid UTF-8 (byte {cause.start})."
    if isinstance(cause, RecursionError):
        return "The body's JSON is nested too deeply."
    return None


def install(app: FastAPI) -> None:
    @app.exception_handler(SpecError)
    async def spec_error(request: Request, exc: SpecError):
        return _problems([{"field": p.field, "msg": p.message} for p in exc.problems])

    @app.exception_handler(CsvError)
    async def csv_error(request: Request, exc: CsvError):
        return _problems([{"field": "file", "msg": str(exc)}])

    @app.exception_handler(RequestValidationError)
    async def request_error(request: Request, exc: RequestValidationError):
        return _problems([_request_problem(e) for e in exc.errors()])

    @app.exception_handler(RunNotFound)
    async def not_found(request: Request, exc: RunNotFound):
        return JSONResponse(status_code=404, content={"detail": f"No run {exc.args[0]!r}."})

    @app.exception_handler(NotAllowed)
    async def not_allowed(request: Request, exc: NotAllowed):
        if exc.missing:
            return JSONResponse(status_code=401, headers={"WWW-Authenticate": "Bearer"},
                                content={"detail": "Controlling a run needs its token: "
                                                   "Authorization: Bearer <token>."})
        return JSONResponse(status_code=403, content={"detail": "This token does not control this run."})

    @app.exception_handler(RoomNotFound)
    async def room_not_found(request: Request, exc: RoomNotFound):
        return JSONResponse(status_code=404, content={"detail": f"No room or participant {exc.args[0]!r}."})

    @app.exception_handler(RoomClosed)
    async def room_closed(request: Request, exc: RoomClosed):
        return JSONResponse(status_code=410, content={"detail": "The instructor has closed this room."})

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Forbidden):
        if exc.token and "authorization" not in request.headers:
            return JSONResponse(status_code=401, headers={"WWW-Authenticate": "Bearer"},
                                content={"detail": f"{exc} Send it as Authorization: Bearer <token>."})
        return JSONResponse(status_code=exc.status, content={"detail": str(exc)})

    @app.exception_handler(ScoringUnavailable)
    async def scoring_unavailable(request: Request, exc: ScoringUnavailable):
        return JSONResponse(status_code=503, headers={"Retry-After": str(exc.retry_after)},
                            content={"detail": exc.message})

    async def redis_outage(request: Request, exc: Exception):
        # Redis restarting or failing over (a lab server): the request may simply be sent again.
        log.warning("Redis unreachable on %s %s: %r", request.method, request.url.path, exc)
        return JSONResponse(status_code=503, headers={"Retry-After": str(outage_retry_after())},
                            content={"detail": "The server's store is briefly unavailable (restarting); "
                                               "try again in a few seconds."})

    for outage in OUTAGE_ERRORS:
        app.add_exception_handler(outage, redis_outage)

    @app.exception_handler(sqlite3.OperationalError)
    async def storage_failing(request: Request, exc: sqlite3.OperationalError):
        # The data directory's disk is full or the database is locked: nothing the client
        # did; it may send the request again once the admin has made room.
        error_id = secrets.token_hex(4)
        log.error("storage failed on %s %s (error %s): %r", request.method, request.url.path, error_id, exc)
        return JSONResponse(status_code=503, headers={"Retry-After": "30"},
                            content={"detail": f"The server cannot store data right now (error {error_id}); "
                                               "try again in a minute."})

    @app.exception_handler(Busy)
    async def busy(request: Request, exc: Busy):
        return JSONResponse(status_code=429, headers={"Retry-After": str(exc.retry_after)},
                            content={"detail": exc.message})

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        unreadable = _unreadable_body(exc)
        if unreadable is not None:
            return _problems([{"field": "body", "msg": unreadable}])
        return JSONResponse(status_code=exc.status_code, headers=getattr(exc, "headers", None),
                            content={"detail": exc.detail})

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception):
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return JSONResponse(status_code=500, content={"detail": "Internal error; it has been logged."})
