"""Rooms: open, join, share (follow mode), challenge, submit; the room's live stream.

WS /api/rooms/{code}/stream sends JSON arrays of events, like a run's stream:
- `room`: the room's public view (participants, what the instructor shares, the
  challenge and its leaderboard), whenever it changes; only the newest matters;
- `wall`: a participant's current run as the class wall shows it (epoch, accuracy, state,
  a small boundary picture), at most WALL_INTERVAL apart per participant.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time
from typing import Any

import numpy as np
from fastapi import APIRouter, Request, Response, WebSocket, WebSocketDisconnect
from pydantic import BaseModel, ConfigDict, Field

from ..classroom import Classroom, RoomNotFound, room_log
from ..data import problem_of
from ..specs import DatasetSpec, SpecError, check_range
from ..jobs.service import Busy
from .deps import AddressDep, TokenDep, address_of, bearer_token
from .stream import read_through_outages
from .ws_guard import (CLOSE_NORMAL, CLOSE_TOO_SLOW, CLOSE_TRY_AGAIN, CLOSE_UNKNOWN, HANDSHAKE_TIMEOUT,
                       origin_refused, refuse)

router = APIRouter(prefix="/api/rooms", tags=["rooms"])

WALL_INTERVAL = 0.25  # seconds between two wall updates of one participant
WAIT = 15.0
SEND_TIMEOUT = 30.0


def _classroom(request: Request, code: str | None = None) -> Classroom:
    """The classroom; for a route of room `code`, once the caller is not guessing room codes
    (every such route asks, with the caller's token if it sent one)."""
    classroom: Classroom = request.app.state.classroom
    if code is not None:
        classroom.guard_lookup(code, address_of(request), bearer_token(request.headers.get("authorization")))
    return classroom


class OpenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(default="", max_length=200)
    password: str | None = Field(default=None, max_length=200)


class JoinRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=200)


class RunRef(BaseModel):
    model_config = ConfigDict(extra="forbid")
    run_id: str = Field(max_length=64)
    run_token: str = Field(max_length=128)


class LockRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    locked: bool


class LessonRef(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(max_length=64)
    step: int = Field(ge=0, le=100)


class FollowRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    spec: dict[str, Any] | None = None
    run_id: str | None = Field(default=None, max_length=64)
    lesson: LessonRef | None = None


class ChallengeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(default="", max_length=200)
    dataset: dict[str, Any]
    max_parameters: int
    max_epochs: int


@router.post("", status_code=201)
def open_room(request: Request, body: OpenRequest):
    opened = _classroom(request).open(body.title, body.password)
    return {"code": opened.code, "instructor_token": opened.instructor_token}


@router.get("/{code}")
def get_room(request: Request, code: str):
    return _classroom(request, code).view(code)


@router.get("/{code}/leaderboard")
def get_leaderboard(request: Request, code: str):
    view = _classroom(request, code).view(code)
    return {"challenge": view["challenge"], "leaderboard": view["leaderboard"]}


@router.post("/{code}/join", status_code=201)
def join_room(request: Request, code: str, body: JoinRequest, address: AddressDep):
    joined = _classroom(request, code).join(code, body.name, address)
    return {"participant": joined.participant, "token": joined.token, "name": joined.name, "code": code.upper()}


@router.post("/{code}/runs")
def register_run(request: Request, code: str, body: RunRef, token: TokenDep):
    _classroom(request, code).set_run(code, token, body.run_id, body.run_token)
    return {"run_id": body.run_id}


@router.post("/{code}/submissions", status_code=201)
async def submit_run(request: Request, response: Response, code: str, body: RunRef, token: TokenDep):
    """201 when scored now; 200 with the run's first result when it was submitted before."""
    classroom = await asyncio.to_thread(_classroom, request, code)  # its guard asks Redis: off the loop
    submitted = await classroom.submit(code, token, body.run_id, body.run_token)
    if not submitted.new:
        response.status_code = 200
    return submitted.result


@router.post("/{code}/follow")
def share(request: Request, code: str, body: FollowRequest, token: TokenDep):
    lesson = None
    if body.lesson is not None:
        found = next((l for l in request.app.state.lessons if l.id == body.lesson.id), None)
        if found is None:
            raise SpecError.of("lesson.id", f"no lesson {body.lesson.id!r}")
        check_range("lesson.step", body.lesson.step, 0, len(found.steps) - 1)
        lesson = body.lesson.model_dump()
    return _classroom(request, code).follow(code, token, spec=body.spec, run_id=body.run_id, lesson=lesson)


@router.post("/{code}/challenge")
def open_challenge(request: Request, code: str, body: ChallengeRequest, token: TokenDep):
    return _classroom(request, code).open_challenge(code, token, title=body.title, dataset=body.dataset,
                                              max_parameters=body.max_parameters, max_epochs=body.max_epochs)


@router.delete("/{code}/challenge")
def end_challenge(request: Request, code: str, token: TokenDep):
    return _classroom(request, code).end_challenge(code, token)


@router.post("/{code}/lock")
def lock_room(request: Request, code: str, body: LockRequest, token: TokenDep):
    return _classroom(request, code).lock(code, token, body.locked)


@router.delete("/{code}/participants/{participant}")
def remove_participant(request: Request, code: str, participant: str, token: TokenDep):
    return _classroom(request, code).remove(code, token, participant)


@router.delete("/{code}")
def close_room(request: Request, code: str, token: TokenDep):
    return _classroom(request, code).close(code, token)


# ----- the live stream: the room's view, and the class wall -----

def _thumbnail(frame: dict) -> dict:
    """The frame's boundary at half its side (every other cell): enough for a wall tile."""
    side = frame["resolution"]
    cells = np.frombuffer(base64.b64decode(frame["boundary"]), dtype=np.uint8).reshape(side, side)
    small = np.ascontiguousarray(cells[::2, ::2])
    return {"resolution": small.shape[0], "boundary": base64.b64encode(small.tobytes()).decode("ascii")}


def _failed(task: asyncio.Task) -> bool:
    return task.done() and not task.cancelled() and task.exception() is not None


class Wall:
    """Follows the current run of every participant and sends their tiles, throttled."""

    def __init__(self, service, send, ws: WebSocket):
        self.service, self.send, self.ws = service, send, ws
        self.followed: dict[str, tuple[str, asyncio.Task]] = {}  # participant -> (run id, reader)

    def sync(self, view: dict) -> None:
        """Follow the runs the room's view names now; drop the rest."""
        wanted = {p["id"]: p["run_id"] for p in view["participants"] if p["run_id"]}
        for pid, (run_id, task) in list(self.followed.items()):
            if wanted.get(pid) != run_id:
                task.cancel()
                del self.followed[pid]
        for pid, run_id in wanted.items():
            if pid in self.followed and _failed(self.followed[pid][1]):
                del self.followed[pid]  # its reader died (e.g. a long Redis outage): start again
            if pid not in self.followed:
                self.followed[pid] = (run_id, asyncio.create_task(self._follow(pid, run_id)))

    def stop(self) -> None:
        for _, task in self.followed.values():
            task.cancel()

    async def _follow(self, pid: str, run_id: str) -> None:
        tile = {"kind": "wall", "participant": pid, "run_id": run_id, "epoch": 0, "epochs": None,
                "metric": None, "val_metric": None, "state": "queued", "at": None}
        record = await asyncio.to_thread(self.service.store.get, run_id)
        if record is None:
            return
        tile["epochs"] = record.spec["training"]["epochs"]
        tile["problem"], _ = problem_of(DatasetSpec.model_validate(record.spec["dataset"]))  # the colours
        if not await asyncio.to_thread(self.service.bus.exists, run_id):  # ended before this server started
            done = record.done or {}
            tile.update(state=record.state, epoch=done.get("epochs", 0), metric=done.get("metric"),
                        val_metric=done.get("val_metric"))
            await self.send([tile])
            return
        after, sent_at, dirty, frame = 0, 0.0, False, None
        while True:
            read = await read_through_outages(self.ws, self.service.bus, run_id, after, min(WALL_INTERVAL, WAIT))
            if read is None:
                return
            found, closed = read
            for item in found:
                after, dirty = item.seq, True
                if item.kind == "frame":
                    frame = item.json  # parsed only if it is still the newest when a tile goes out
                    continue
                event = json.loads(item.json)
                kind = event["kind"]
                if kind == "epoch":
                    tile.update(epoch=event["epoch"], metric=event["metric"], val_metric=event["val_metric"])
                elif kind == "status":
                    tile["state"] = event["state"]
                elif kind in ("done", "error"):
                    tile["state"] = event.get("state", "failed")
            now = time.monotonic()
            if dirty and (closed or now - sent_at >= WALL_INTERVAL):
                if frame is not None:
                    tile.update(_thumbnail(json.loads(frame)))
                    frame = None
                tile["at"] = time.time()
                await self.send([dict(tile)])
                sent_at, dirty = now, False
            if closed and not dirty:
                return


@router.websocket("/{code}/stream")
async def room_stream(ws: WebSocket, code: str):
    if await origin_refused(ws):
        return
    classroom: Classroom = ws.app.state.classroom
    try:
        await asyncio.to_thread(classroom.guard_lookup, code, address_of(ws))
        view = await asyncio.wait_for(asyncio.to_thread(classroom.view, code), HANDSHAKE_TIMEOUT)
    except Busy as busy:
        await refuse(ws, CLOSE_TRY_AGAIN, busy.message)
        return
    except RoomNotFound:
        await refuse(ws, CLOSE_UNKNOWN, "unknown room")
        return
    except Exception:  # the store is down or slow: the page may reconnect later
        await refuse(ws, CLOSE_TRY_AGAIN, "the room store did not answer; try again later")
        return
    await ws.accept()
    lock = asyncio.Lock()
    too_slow = asyncio.Event()  # a send (the view's or a wall tile's) timed out

    async def send(events: list[dict]) -> None:
        async with lock:
            try:
                await asyncio.wait_for(ws.send_text(json.dumps(events, separators=(",", ":"))), SEND_TIMEOUT)
            except asyncio.TimeoutError:
                too_slow.set()
                raise

    wall = Wall(ws.app.state.service, send, ws)
    log = room_log(view["code"])
    await asyncio.to_thread(classroom.bus.open, log)

    async def follow_room() -> None:
        await send([view])
        wall.sync(view)
        after = 0
        while True:
            read = await read_through_outages(ws, classroom.bus, log, after)  # Redis restarting: wait
            if read is None:
                return
            found, _ = read
            if found:  # views are kept newest-only: the last is the room as it is now
                after = found[-1].seq
                latest = json.loads(found[-1].json)
                await send([latest])
                wall.sync(latest)

    async def drain() -> None:
        with contextlib.suppress(WebSocketDisconnect):
            while (await ws.receive())["type"] != "websocket.disconnect":
                pass

    tasks = {asyncio.create_task(follow_room()), asyncio.create_task(drain()),
             asyncio.create_task(too_slow.wait())}
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        wall.stop()
        with contextlib.suppress(Exception):
            if too_slow.is_set():
                await ws.close(code=CLOSE_TOO_SLOW, reason="client too slow")
            else:
                await ws.close(code=CLOSE_NORMAL)
