"""WS /api/runs/{id}/stream: the whole history first, then live events, to the end.

Each message is a JSON array of events (each with its `seq`), oldest first. The sender
reads the run's shared log from its own position: when the client is slow, the next
message simply holds more epochs and only the newest frame. A client that does not take
a message within `SEND_TIMEOUT` seconds is closed with code 4008. Watching needs only
the run id; a watcher leaving never stops the run.

The handshake (ws_guard): a refused `Origin` is closed with 4403, an `after` outside
[0, MAX_AFTER] with 4400, an unknown run with 4404, each after `accept()` so that a
browser sees the code.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from ..jobs.service import RunNotFound
from ..store.redis_client import OUTAGE_ERRORS
from .ws_guard import (CLOSE_BAD_REQUEST, CLOSE_NORMAL, CLOSE_TOO_SLOW, CLOSE_TRY_AGAIN, CLOSE_UNKNOWN,
                       HANDSHAKE_TIMEOUT, origin_refused, refuse)

router = APIRouter()
log = logging.getLogger(__name__)

SEND_TIMEOUT = 30.0  # seconds a client may take to accept one message
OUTAGE_PAUSE, OUTAGE_PAUSE_MAX = 0.1, 1.0  # seconds between reads while Redis is out
OUTAGE_MARGIN = 30.0  # seconds a stream waits beyond redis_outage_seconds (the run's end comes then)
WAIT = 15.0  # seconds between checks while a run is quiet (e.g. paused)
MAX_AFTER = 1_000_000_000  # `after` bound: far above any run's seq, inside every bus's range
# Run ids are secrets.token_urlsafe; anything else is unknown without asking the store.
RUN_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
AFTER = re.compile(r"[0-9]{1,10}")


async def read_through_outages(ws: WebSocket, bus, log_id: str, after: int, wait: float = WAIT):
    """The bus's next events of a log (a run's or a room's) after `after`; while Redis is out
    (a restart, a failover), wait and read again from the same place, the client's WebSocket
    kept open. None when the outage outlasts what the workers ride out (then the stream is
    closed: try again)."""
    give_up = ws.app.state.settings.redis_outage_seconds + OUTAGE_MARGIN
    started, pause = None, OUTAGE_PAUSE
    while True:
        try:
            return await bus.read(log_id, after, wait)
        except OUTAGE_ERRORS as exc:
            loop = asyncio.get_running_loop()
            started = started if started is not None else loop.time()
            if loop.time() - started > give_up:
                log.warning("%s: Redis out for %.0f s; closing its stream", log_id, give_up)
                with contextlib.suppress(Exception):
                    await ws.close(code=CLOSE_TRY_AGAIN, reason="the event store is out; try again later")
                return None
            log.info("%s: reading its events failed (%r); again from seq %d", log_id, exc, after)
            await asyncio.sleep(pause)
            pause = min(pause * 2, OUTAGE_PAUSE_MAX)


async def _send_live(ws: WebSocket, service, run_id: str, after: int) -> None:
    while True:
        read = await read_through_outages(ws, service.bus, run_id, after)
        if read is None:
            return
        found, closed = read
        if found:
            message = "[" + ",".join(item.json for item in found) + "]"
            await asyncio.wait_for(ws.send_text(message), SEND_TIMEOUT)
            after = found[-1].seq
        if closed:
            return  # `done` or `error` was in what was just sent, or before


async def _drain(ws: WebSocket) -> None:
    """Notice when the client goes away (the client sends nothing we need)."""
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                return


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
    sender = asyncio.create_task(_send_live(ws, service, run_id, first))
    receiver = asyncio.create_task(_drain(ws))
    finished, _ = await asyncio.wait({sender, receiver}, return_when=asyncio.FIRST_COMPLETED)
    for task in (sender, receiver):
        task.cancel()
    if sender in finished and not sender.cancelled():
        error = sender.exception()
        with contextlib.suppress(Exception):
            if isinstance(error, asyncio.TimeoutError):
                await ws.close(code=CLOSE_TOO_SLOW, reason="client too slow")
            elif error is None:
                await ws.close(code=CLOSE_NORMAL)
