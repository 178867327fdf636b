"""The WebSocket handshake of both streams: which pages may open them, and refusing so
that a browser learns why.

A browser sends `Origin` with every WebSocket handshake and enforces no same-origin rule
on it, so any page a participant visits could open a stream: the server checks. Allowed:
the server's own origin (the scheme and the `Host` header the browser used), the origins
in `PLAYGROUND_ALLOWED_ORIGINS`, and clients that send no `Origin` (scripts, the CLI).

A refusal accepts first, then closes with a code and a reason: closing before `accept()`
is an HTTP 403 on the handshake under uvicorn, which a page sees as a network error (no
code), so it would reconnect forever.
"""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import urlsplit

from fastapi import WebSocket

# Close codes of both streams (docs/api.md). 4xxx mirror the HTTP statuses.
CLOSE_NORMAL = 1000  # the stream has ended
CLOSE_TRY_AGAIN = 1013  # the store did not answer; reconnecting later may work
CLOSE_TOO_SLOW = 4008  # the client did not take a message in time; it may reconnect
CLOSE_BAD_REQUEST = 4400  # a query parameter out of bounds; the reason names it
CLOSE_FORBIDDEN_ORIGIN = 4403  # the page's origin may not open streams
CLOSE_UNKNOWN = 4404  # no such run or room

HANDSHAKE_TIMEOUT = 10.0  # seconds a handshake waits for the run's or room's record
MAX_REASON_BYTES = 123  # the WebSocket protocol's limit on a close reason
_DEFAULT_PORTS = {"http": 80, "https": 443}


def normalise_origin(text: str) -> str | None:
    """`scheme://host[:port]` in lower case without a default port, e.g.
    'HTTPS://Lab.Example.org:443/' -> 'https://lab.example.org'; None when `text` is not
    an http(s) origin (an opaque 'null', a bare host name, a path)."""
    try:
        parts = urlsplit(text.strip())
        port = parts.port
    except ValueError:  # a port out of range or not a number
        return None
    scheme = parts.scheme.lower()
    if (scheme not in _DEFAULT_PORTS or not parts.hostname or parts.path not in ("", "/")
            or parts.query or parts.fragment or parts.username is not None):
        return None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname  # IPv6
    if port is None or port == _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


@lru_cache(maxsize=8)
def allowed_origins(setting: str) -> frozenset[str]:
    """`PLAYGROUND_ALLOWED_ORIGINS` (comma-separated) as normalised origins. Raises
    ValueError naming the first entry that is not `scheme://host[:port]`."""
    origins = set()
    for entry in filter(None, (e.strip() for e in setting.split(","))):
        origin = normalise_origin(entry)
        if origin is None:
            raise ValueError(f"PLAYGROUND_ALLOWED_ORIGINS: {entry!r} is not an origin (scheme://host[:port])")
        origins.add(origin)
    return frozenset(origins)


def own_origins(ws: WebSocket) -> set[str]:
    """The origins of the server's own pages, from the `Host` header the browser used.
    Over plain `ws` the https one counts too: a proxy in front may have ended TLS."""
    host = ws.headers.get("host", "")
    schemes = ("https",) if ws.url.scheme == "wss" else ("http", "https")
    return {origin for origin in (normalise_origin(f"{s}://{host}") for s in schemes) if origin}


def _forbidden(ws: WebSocket) -> str | None:
    """Why the handshake's `Origin` may not open a stream, or None when it may."""
    origin = ws.headers.get("origin")
    if origin is None:
        return None  # not a browser: scripts and the CLI
    normal = normalise_origin(origin)
    if normal is not None and normal in own_origins(ws):
        return None
    # A typo in the setting cannot get this far: the app refuses to start on it.
    if normal is not None and normal in allowed_origins(ws.app.state.settings.allowed_origins):
        return None
    return f"origin not allowed: {origin}"


async def refuse(ws: WebSocket, code: int, reason: str) -> None:
    """Accept the handshake, then close with `code` and `reason` (cut to the protocol's
    123 bytes), so a browser sees both."""
    await ws.accept()
    await ws.close(code=code, reason=reason.encode()[:MAX_REASON_BYTES].decode(errors="ignore"))


async def origin_refused(ws: WebSocket) -> bool:
    """Refuse the stream (4403) when the page's origin may not open it; whether it was."""
    reason = _forbidden(ws)
    if reason is None:
        return False
    await refuse(ws, CLOSE_FORBIDDEN_ORIGIN, reason)
    return True
