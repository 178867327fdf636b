"""Short aliases for what routes need from the app."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request
from starlette.requests import HTTPConnection

from ..config import Settings
from ..jobs.service import RunService


def _service(request: Request) -> RunService:
    return request.app.state.service


def _settings(request: Request) -> Settings:
    return request.app.state.settings


def address_of(connection: HTTPConnection) -> str:
    """The caller's network address, which (unlike X-Client-Id) it cannot choose.

    Behind a reverse proxy this is the proxy's address unless uvicorn trusts the proxy's
    X-Forwarded-For: run it with --proxy-headers --forwarded-allow-ips=<the proxy's address>
    (or FORWARDED_ALLOW_IPS); else every participant shares the proxy's per-address limits."""
    return connection.client.host if connection.client else "unknown"


def _client(request: Request, x_client_id: Annotated[str | None, Header()] = None) -> str:
    """Who is asking: the page's own id (one per browser), else the address. Kept apart by
    a prefix, so no one can name an address as their id and list the runs made from it."""
    if x_client_id:
        return "id:" + x_client_id[:64]
    return "addr:" + address_of(request)


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None."""
    if authorization and authorization.lower().startswith("bearer "):
        return authorization[7:].strip()
    return None


def _token(authorization: Annotated[str | None, Header()] = None) -> str | None:
    return bearer_token(authorization)


ServiceDep = Annotated[RunService, Depends(_service)]
SettingsDep = Annotated[Settings, Depends(_settings)]
ClientDep = Annotated[str, Depends(_client)]
AddressDep = Annotated[str, Depends(address_of)]
TokenDep = Annotated[str | None, Depends(_token)]
