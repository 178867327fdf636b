"""The one WebSocket pump of both streams (a run's, a room's), once the handshake is done.

`pump(ws, produce)` runs `produce(out)` (it reads the bus and sends through `out`, a
`Sender`) beside a drain that notices the client leaving. It ends when the first of
these ends, then closes the socket:
- 4008 (`client too slow`) when a client did not take one message within SEND_TIMEOUT;
- 1000 when `produce` has sent everything (a run's end, a room's stream ended);
- 1013 (`try again later`) when `produce` failed (logged): the page reconnects;
- nothing more when the client has gone.
`read_through_outages` reads a log through a Redis restart, the client kept waiting.
Handshakes, origins and close codes are in ws_guard.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Awaitable, Callable

from fastapi import WebSocket, WebSocketDisconnect

from ..store.redis_client import OUTAGE_ERRORS
from .ws_guard import CLOSE_NORMAL, CLOSE_TOO_SLOW, CLOSE_TRY_AGAIN

log = logging.getLogger(__name__)

SEND_TIMEOUT = 30.0  # seconds a client may take to accept one message
WAIT = 15.0  # seconds between checks while a log is quiet (e.g. a paused run)
OUTAGE_PAUSE, OUTAGE_PAUSE_MAX = 0.1, 1.0  # seconds between reads while Redis is out
OUTAGE_MARGIN = 30.0  # seconds a stream waits beyond redis_outage_seconds (the run's end comes then)


class Sender:
    """Sends one message at a time on a socket (several tasks may share it), each within
    SEND_TIMEOUT; a send that times out raises asyncio.TimeoutError and marks the client
    too slow, which ends the pump."""

    def __init__(self, ws: WebSocket):
        self.ws = ws
        self.too_slow = asyncio.Event()
        self._lock = asyncio.Lock()

    async def send(self, *events: str) -> None:
        """One message: the events (each a JSON object's text), as a JSON array."""
        async with self._lock:
            try:
                async with asyncio.timeout(SEND_TIMEOUT):  # no task of its own, unlike wait_for
                    await self.ws.send_text("[" + ",".join(events) + "]")
            except TimeoutError:
                self.too_slow.set()
                raise


Produce = Callable[[Sender], Awaitable[None]]


async def drain(ws: WebSocket) -> None:
    """Notice when the client goes away (the client sends nothing we need)."""
    with contextlib.suppress(WebSocketDisconnect):
        while (await ws.receive())["type"] != "websocket.disconnect":
            pass


async def pump(ws: WebSocket, produce: Produce) -> None:
    """Run `produce` until it ends, the client leaves or is too slow; then close (above)."""
    out = Sender(ws)
    producer = asyncio.create_task(produce(out))
    tasks = {producer, asyncio.create_task(drain(ws)), asyncio.create_task(out.too_slow.wait())}
    try:
        finished, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        # Let `produce` stop what it started. (Not gather: a cancellation of this handler
        # meanwhile must reach the server as its own, not as one of these tasks'.)
        await asyncio.wait(tasks)
    error = producer.exception() if producer in finished and not producer.cancelled() else None
    with contextlib.suppress(Exception):  # the client may be gone already
        if out.too_slow.is_set():
            await ws.close(code=CLOSE_TOO_SLOW, reason="client too slow")
        elif error is not None:
            log.error("%s: its stream failed", ws.url.path, exc_info=error)
            await ws.close(code=CLOSE_TRY_AGAIN, reason="the stream failed; try again later")
        elif producer in finished:
            await ws.close(code=CLOSE_NORMAL)


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
