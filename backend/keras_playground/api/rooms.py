"""Rooms: open, join, share (follow mode), challenge, submit; the room's live stream.

WS /api/rooms/{code}/stream sends JSON arrays of events (classroom.events), like a run's
stream:
- `room`: the room's public view (participants, what the instructor shares, the
  challenge and its leaderboard), whenever it changes; only the newest matters;
- `wall`: a participant's current run as the class wall shows it (epoch, accuracy, state,
  a small boundary picture), at most WALL_INTERVAL apart per participant
  (classroom.wall makes the tiles; this reads the bus and sends them).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from fastapi import APIRouter, Request, Response, WebSocket
from pydantic import BaseModel, ConfigDict, Field

from ..classroom import Classroom, RoomNotFound, RoomView, room_log
from ..classroom.wall import WALL_INTERVAL, WallRun
from ..jobs.service import Busy, RunNotFound
from ..specs import SpecError, check_range
from .deps import AddressDep, TokenDep, address_of, bearer_token
from .ws import WAIT, Sender, pump, read_through_outages
from .ws_guard import CLOSE_TRY_AGAIN, CLOSE_UNKNOWN, HANDSHAKE_TIMEOUT, origin_refused, refuse

router = APIRouter(prefix="/api/rooms", tags=["rooms"])



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
    return {"challenge": view.challenge, "leaderboard": view.leaderboard}


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

def _failed(task: asyncio.Task) -> bool:
    return task.done() and not task.cancelled() and task.exception() is not None


class WallFollower:
    """Follows the current run of every participant and sends their tiles (WallRun)."""

    def __init__(self, ws: WebSocket, out: Sender):
        self.ws, self.out, self.service = ws, out, ws.app.state.service
        self.followed: dict[str, tuple[str, asyncio.Task]] = {}  # participant -> (run id, reader)

    def sync(self, view: RoomView) -> None:
        """Follow the runs the room's view names now; drop the rest."""
        wanted = {p.id: p.run_id for p in view.participants if p.run_id}
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
        try:
            run = await asyncio.to_thread(self.service.view, run_id, replay=False)
        except RunNotFound:
            return
        wall = WallRun(pid, run_id, run.record.spec)
        if not run.live:  # ended before this server started
            await self.out.send(wall.ended(run.state, run.done).as_json())
            return
        after = 0
        while True:
            read = await read_through_outages(self.ws, self.service.bus, run_id, after, min(WALL_INTERVAL, WAIT))
            if read is None:
                return
            found, closed = read
            for item in found:
                after = item.seq
                wall.fold(item.kind, item.json)
            now = time.monotonic()
            if wall.due(now, closed):
                await self.out.send(wall.take(now, time.time()).as_json())
            if closed:
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
    log = room_log(view.code)
    await asyncio.to_thread(classroom.bus.open, log)

    async def follow_room(out: Sender) -> None:
        wall = WallFollower(ws, out)
        try:
            await out.send(view.model_dump_json())
            wall.sync(view)
            after = 0
            while True:
                read = await read_through_outages(ws, classroom.bus, log, after)  # Redis restarting: wait
                if read is None:
                    return
                found, _ = read
                if found:  # views are kept newest-only: the last is the room as it is now
                    after = found[-1].seq
                    await out.send(found[-1].json)
                    wall.sync(RoomView.model_validate_json(found[-1].json))
        finally:
            wall.stop()

    await pump(ws, follow_room)
