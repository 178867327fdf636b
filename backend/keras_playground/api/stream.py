"""WS /api/runs/{id}/stream: the whole history first, then live events, to the end.

Each message is a JSON array of events (each with its `seq`), oldest first. The sender
reads the run's shared log from its own position: when the client is slow, the next
message simply holds more epochs and only the newest frame. A client that does not take
a message within `SEND_TIMEOUT` seconds is closed with code 4008. Watching needs only
the run id; a watcher leaving never stops the run.
"""

from __future__ import annotations

import asyncio
import contextlib
import json

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

router = APIRouter()

SEND_TIMEOUT = 30.0  # seconds a client may take to accept one message
WAIT = 15.0  # seconds between checks while a run is quiet (e.g. paused)
CLOSE_UNKNOWN = 4404
CLOSE_TOO_SLOW = 4008


def _stored_events(record) -> list[dict]:
    """A run no longer in the bus (ended, or after a restart): its record as events."""
    events = [{"kind": "status", "state": record.state, "seq": 0}]
    events += record.history or []
    if record.done:
        events.append(record.done)
    elif record.state in ("interrupted", "failed"):
        events.append({"kind": "error", "message": f"The run was {record.state} before it finished."})
    return events


async def _send_live(ws: WebSocket, service, run_id: str, after: int) -> None:
    while True:
        found, closed = await service.bus.read(run_id, after, WAIT)
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


@router.websocket("/api/runs/{run_id}/stream")
async def stream(ws: WebSocket, run_id: str, after: int = 0):
    service = ws.app.state.service
    record = service.store.get(run_id)
    if record is None:
        await ws.close(code=CLOSE_UNKNOWN, reason="unknown run")
        return
    await ws.accept()
    if not service.bus.exists(run_id):
        await ws.send_text(json.dumps(_stored_events(record)))
        await ws.close(code=1000)
        return
    sender = asyncio.create_task(_send_live(ws, service, run_id, after))
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
                await ws.close(code=1000)
