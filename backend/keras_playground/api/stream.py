"""WS /api/runs/{id}/stream: the whole history first, then live events, to the end.

Each message is a JSON array of events (each with its `seq`), oldest first. The sender
reads the run's shared log from its own position: when the client is slow, the next
message simply holds more epochs and only the newest frame. A client that does not take
a message within `SEND_TIMEOUT` seconds is closed with code 4008 (the pump, ws.py).
Watching needs only the run id; a watcher leaving never stops the run.

The handshake (ws_guard): a refused `Origin` is closed with 4403, an `after` outside
[0, MAX_AFTER] with 4400, an unknown run with 4404, each after `accept()` so that a
browser sees the code.
"""

from __future__ import annotations

import asyncio
import json
import re

from fastapi import APIRouter, WebSocket

from ..jobs.service import RunNotFound
from .ws import Sender, pump, read_through_outages
from .ws_guard import (CLOSE_BAD_REQUEST, CLOSE_NORMAL, CLOSE_TRY_AGAIN, CLOSE_UNKNOWN, HANDSHAKE_TIMEOUT,
                       origin_refused, refuse)

router = APIRouter()

MAX_AFTER = 1_000_000_000  # `after` bound: far above any run's seq, inside every bus's range
# Run ids are secrets.token_urlsafe; anything else is unknown without asking the store.
RUN_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
AFTER = re.compile(r"[0-9]{1,10}")


def _live(ws: WebSocket, service, run_id: str, after: int):
    """What the pump runs: the run's events after `after`, to its end."""

    async def send_live(out: Sender) -> None:
        position = after
        while True:
            read = await read_through_outages(ws, service.bus, run_id, position)
            if read is None:
                return
            found, closed = read
            if found:
                await out.send(*(item.json for item in found))
                position = found[-1].seq
            if closed:
                return  # `done` or `error` was in what was just sent, or before

    return send_live


def _after(text: str) -> int | None:
    """The `after` query parameter as a seq, or None when it is not one in [0, MAX_AFTER]."""
    if not AFTER.fullmatch(text):  # plain digits: int() would also take "+1", " 1", "1_0"
        return None
    after = int(text)
    return after if after <= MAX_AFTER else None


async def _view(ws: WebSocket, service, run_id: str):
    """The run as it is now; None after closing the stream (unknown run, or no answer)."""
    if not RUN_ID.fullmatch(run_id):
        await refuse(ws, CLOSE_UNKNOWN, "unknown run")
        return None
    try:
        return await asyncio.wait_for(asyncio.to_thread(service.view, run_id, replay=False), HANDSHAKE_TIMEOUT)
    except RunNotFound:
        await refuse(ws, CLOSE_UNKNOWN, "unknown run")
    except Exception:  # the store is down or slow: the page may reconnect later
        await refuse(ws, CLOSE_TRY_AGAIN, "the run store did not answer; try again later")
    return None


@router.websocket("/api/runs/{run_id}/stream")
async def stream(ws: WebSocket, run_id: str, after: str = "0"):
    if await origin_refused(ws):
        return
    first = _after(after)
    if first is None:
        await refuse(ws, CLOSE_BAD_REQUEST, f"after: {after[:40]!r} is not an integer in [0, {MAX_AFTER}]")
        return
    service = ws.app.state.service
    view = await _view(ws, service, run_id)
    if view is None:
        return
    await ws.accept()
    if not view.live:
        await ws.send_text(json.dumps(view.events()))
        await ws.close(code=CLOSE_NORMAL)
        return
    await pump(ws, _live(ws, service, run_id, first))
