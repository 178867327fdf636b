"""Every client mistake becomes a clear 4xx in one JSON shape; nothing leaks a traceback.

Shape: {"detail": [{"field": "layers[0].units", "msg": "500 is out of range [1, 64]"}]}
for invalid input (422), {"detail": "words"} otherwise. Each refusal (`specs.Refusal`)
carries its own status and headers; faults of the server's stores become a 503.
"""

from __future__ import annotations

import logging
import secrets
import sqlite3

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..specs import Refusal, field_path
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
    @app.exception_handler(Refusal)
    async def refused(request: Request, exc: Refusal):
        # A refusal for want of a token is a 401 to a request that sent none.
        if getattr(exc, "needs_token", False) and "authorization" not in request.headers:
            return JSONResponse(status_code=401, headers={"WWW-Authenticate": "Bearer"},
                                content={"detail": f"{exc.detail} Send it as Authorization: Bearer <token>."})
        return JSONResponse(status_code=exc.status, headers=exc.headers, content={"detail": exc.detail})

    @app.exception_handler(RequestValidationError)
    async def request_error(request: Request, exc: RequestValidationError):
        return _problems([_request_problem(e) for e in exc.errors()])

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
