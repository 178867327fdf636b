"""The classroom: rooms an instructor opens and participants join with a short code.

A room holds its participants (display names, no accounts), what the instructor shares
with everyone (settings, a live run, a lesson step: "follow mode"), and a challenge with
its submissions. Roles are tokens: the instructor's (given when the room opens) may share,
set challenges, remove a participant and close the room; a participant's (given on
joining) may only register and submit its own runs, proven with the run's own token.

Every change publishes the room's public view (events.RoomView) on the event bus under
the room's log (`room:<code>`), kept newest only (retain="latest"), so every page and
the demo screen on any web replica follows it live. Rooms are kept in a `RoomStore`
(as JSON: models.Room) and survive a restart; a closed room and its log go after
`keep_closed_rooms_hours`. A challenge's rules are in challenges.py.

Limits: changes (join, register a run, share) per caller and submissions per participant
a minute; a run counts once per challenge; the instructor may lock a room to new joins.
Scoring runs on the `Scorer` (its own threads, or a worker), never on a request's thread.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
import time
from dataclasses import dataclass
from typing import Any, Callable

from ..config import Settings
from ..data import validate_spec
from ..jobs.bus import EventBus
from ..jobs.service import Busy
from ..store import MemoryRateLimiter, RateLimiter, RoomStore, RunStore, hash_token, retry_after
from .challenges import Submitted, add_submission, check_submission, new_challenge, result
from .errors import Forbidden, Refused, RoomClosed, RoomLocked, RoomNotFound
from .events import RoomView, public_view
from .models import MAX_TITLE, Challenge, Follow, Participant, Room, Submission
from .scoring import Scorer, ScoringUnavailable

log = logging.getLogger(__name__)

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read off a projector
CODE_LENGTH = 6
MAX_NAME = 40
MAX_PARTICIPANTS = 200


@dataclass
class Opened:
    code: str
    instructor_token: str


@dataclass
class Joined:
    participant: str
    token: str
    name: str


def room_log(code: str) -> str:
    return f"room:{code}"


def clean_name(raw: str) -> str:
    """A display name: trimmed, inner white space folded, 1 to MAX_NAME characters.
    Pages render it as text, never as HTML."""
    name = " ".join(str(raw).split())
    if not name:
        raise Refused("name", "a display name is needed")
    if len(name) > MAX_NAME:
        raise Refused("name", f"{len(name)} characters is too long (at most {MAX_NAME})")
    return name


def _matches(token: str | None, token_hash: str) -> bool:
    return bool(token) and hmac.compare_digest(hash_token(token), token_hash)


def needs_password(settings: Settings) -> bool:
    """Whether opening a room needs the instructor password: as set, else on a lab server
    or when a password is set."""
    if settings.rooms_need_password is not None:
        return settings.rooms_need_password
    return bool(settings.redis_url) or bool(settings.instructor_password)


class Classroom:
    """The rooms of a server. `scorer`: where submissions are scored (chosen with the
    other backends, from the settings)."""

    def __init__(self, settings: Settings, rooms: RoomStore, runs: RunStore, bus: EventBus,
                 limiter: RateLimiter | None = None, *, scorer: Scorer):
        self.settings, self.rooms, self.runs, self.bus = settings, rooms, runs, bus
        self.limiter = limiter or MemoryRateLimiter()
        self.scorer = scorer

    # ----- reading -----

    def _get(self, code: str) -> Room | None:
        document = self.rooms.get(code.upper())
        return None if document is None else Room.model_validate(document)

    def room(self, code: str) -> Room:
        room = self._get(code)
        if room is None:
            raise RoomNotFound(code)
        return room

    def view(self, code: str) -> RoomView:
        return public_view(self.room(code))

    def _publish(self, room: Room) -> RoomView:
        """Publish the room's view on its log; the bus keeps only the newest."""
        view = public_view(room)
        self.bus.publish_json(room_log(room.code), "room", view.model_dump_json(), retain="latest")
        return view

    def _change(self, code: str, change: Callable[[Room], None]) -> Room:
        """Apply `change` to the room atomically (the store may apply it again, to the room
        another replica changed meanwhile), keep it and publish its view; the changed room."""
        changed: list[Room] = []

        def apply(document: dict[str, Any]) -> None:
            room = Room.model_validate(document)
            if room.closed:
                raise RoomClosed(code)
            change(room)
            document.clear()
            document.update(room.document())
            changed[:] = [room]

        if self.rooms.update(code.upper(), apply) is None:
            raise RoomNotFound(code)
        self._publish(changed[-1])
        return changed[-1]

    def _changed_view(self, code: str, change: Callable[[Room], None]) -> RoomView:
        return public_view(self._change(code, change))

    def _count(self, scope: str, key: str, limit: int, what: str, setting: str) -> None:
        """Count one action against its per-minute limit; Busy (429) beyond it."""
        wait = self.limiter.hit(scope, key, limit)
        if wait:
            raise Busy(f"{what} at most {limit} times a minute ({setting}); try again in "
                       f"{retry_after(wait)} s.", retry_after(wait))

    def guard_lookup(self, code: str, address: str, token: str | None = None) -> None:
        """Before a room route: refuse (Busy, 429) a caller at `address` that is trying room
        codes one by one. Codes are short enough to read off a projector, so every unknown
        code counts against the address, in one atomic step: past the limit, an unknown code
        is refused, and so is a known one (else the answer would still tell it exists), unless
        the caller holds one of the room's tokens. Raises RoomNotFound for an unknown code."""
        limit = self.settings.room_misses_per_address_per_minute
        room = self._get(code) if len(code) == CODE_LENGTH else None
        if room is None:
            wait = self.limiter.hit("room-misses", address, limit)
            if wait:
                raise self._guessing(wait)
            raise RoomNotFound(code)
        wait = self.limiter.hit("room-misses", address, limit, count=False)
        if wait and not self._holds_token(room, token):
            raise self._guessing(wait)

    def _guessing(self, wait: float) -> Busy:
        limit = self.settings.room_misses_per_address_per_minute
        return Busy(f"Too many unknown room codes from this network address (at most {limit} a minute, "
                    f"PLAYGROUND_ROOM_MISSES_PER_ADDRESS_PER_MINUTE); try again in {retry_after(wait)} s.",
                    retry_after(wait))

    @staticmethod
    def _holds_token(room: Room, token: str | None) -> bool:
        hashes = [room.instructor_hash, *(p.token_hash for p in room.present().values())]
        return any(_matches(token, h) for h in hashes)

    def _count_change(self, code: str, who: str) -> None:
        self._count("room-changes", f"{code.upper()}:{who}", self.settings.room_changes_per_minute,
                    "You may change this room", "PLAYGROUND_ROOM_CHANGES_PER_MINUTE")

    # ----- roles -----

    def instructor(self, code: str, token: str | None) -> Room:
        room = self.room(code)
        if not _matches(token, room.instructor_hash):
            raise Forbidden("This needs the room's instructor token.")
        return room

    def participant(self, code: str, token: str | None) -> str:
        """The id of the participant whose token this is, in this room."""
        for pid, person in self.room(code).present().items():
            if _matches(token, person.token_hash):
                return pid
        raise Forbidden("This needs your participant token for this room (join it first).")

    # ----- the instructor -----

    def open(self, title: str = "", password: str | None = None) -> Opened:
        if needs_password(self.settings):
            required = self.settings.instructor_password
            if not required:
                raise Forbidden("Opening a room on this server needs the instructor password, and "
                                "none is set: the server's admin sets PLAYGROUND_INSTRUCTOR_PASSWORD "
                                "(or PLAYGROUND_ROOMS_NEED_PASSWORD=false to let anyone open rooms).",
                                token=False)
            if not (password and hmac.compare_digest(password.encode(), required.encode())):
                raise Forbidden("Opening a room needs the instructor password of this server.", token=False)
        if self.rooms.open_count() >= self.settings.max_rooms:
            raise Busy(f"The server has {self.settings.max_rooms} open rooms, its maximum; "
                       "close one first (DELETE /api/rooms/{code}).", 60)
        title = " ".join(str(title).split())[:MAX_TITLE] or "Deep learning workshop"
        token = secrets.token_urlsafe(24)
        while True:
            code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
            room = Room(code=code, title=title, created=time.time(), instructor_hash=hash_token(token))
            if self.rooms.create(room.document()):
                break
        self.bus.open(room_log(code))
        self._publish(room)
        return Opened(code, token)

    def follow(self, code: str, token: str | None, *, spec: dict | None, run_id: str | None,
               lesson: dict | None) -> RoomView:
        """Share settings, a live run and/or a lesson step with every participant."""
        self.instructor(code, token)
        self._count_change(code, "instructor")
        if spec is not None:
            spec = validate_spec(spec, self.settings.limits).model_dump(mode="json")
        if run_id is not None and self.runs.get(run_id) is None:
            raise Refused("run_id", f"no run {run_id!r}")
        follow = Follow(spec=spec, run_id=run_id, lesson=lesson, at=time.time())

        def share(room: Room) -> None:
            room.follow = follow

        return self._changed_view(code, share)

    def open_challenge(self, code: str, token: str | None, *, title: str, dataset: dict,
                       max_parameters: int, max_epochs: int) -> RoomView:
        self.instructor(code, token)
        challenge = new_challenge(title, dataset, max_parameters, max_epochs, self.settings.limits)
        # The board shows the open challenge only: the submissions to an earlier one go.
        return self._changed_view(code, lambda room: self._set_challenge(room, challenge))

    def end_challenge(self, code: str, token: str | None) -> RoomView:
        self.instructor(code, token)
        return self._changed_view(code, lambda room: self._set_challenge(room, None))

    @staticmethod
    def _set_challenge(room: Room, challenge: Challenge | None) -> None:
        room.challenge, room.submissions = challenge, []

    def remove(self, code: str, token: str | None, participant: str) -> RoomView:
        """The participant's token stops working, and their entries leave the leaderboard."""
        self.instructor(code, token)

        def drop(room: Room) -> None:
            person = room.participants.get(participant)
            if person is None or person.removed:
                raise RoomNotFound(participant)
            person.removed = True
            room.submissions = [e for e in room.submissions if e.participant != participant]

        return self._changed_view(code, drop)

    def lock(self, code: str, token: str | None, locked: bool) -> RoomView:
        """Lock the room to new participants (those in it stay), or unlock it."""
        self.instructor(code, token)

        def set_lock(room: Room) -> None:
            room.locked = bool(locked)

        return self._changed_view(code, set_lock)

    def close(self, code: str, token: str | None) -> RoomView:
        """Close the room: it refuses every change, and goes (with its log) after
        `keep_closed_rooms_hours`."""
        self.instructor(code, token)

        def shut(room: Room) -> None:
            room.closed, room.closed_at = True, time.time()

        view = self._changed_view(code, shut)
        # The log outlives the room by one pruning round, so a stream that finds the room
        # never opens a new log for it.
        self.bus.expire(room_log(view.code), self.settings.keep_closed_rooms_hours * 3600
                        + self.settings.prune_every_seconds + 60)
        return view

    # ----- participants -----

    def join(self, code: str, name: str, address: str = "unknown") -> Joined:
        """Join as `name`; `address` (the caller's network address) counts against
        `joins_per_address_per_minute`, since there is no participant yet."""
        name = clean_name(name)
        self._count("joins", address, self.settings.joins_per_address_per_minute,
                    "This network address may join rooms", "PLAYGROUND_JOINS_PER_ADDRESS_PER_MINUTE")
        token, pid = secrets.token_urlsafe(24), secrets.token_hex(4)

        def add(room: Room) -> None:
            if room.locked:
                raise RoomLocked()
            if len(room.present()) >= MAX_PARTICIPANTS:
                raise Refused("name", f"the room is full ({MAX_PARTICIPANTS} participants)")
            room.participants[pid] = Participant(name=name, token_hash=hash_token(token), joined=time.time())

        self._change(code, add)
        return Joined(pid, token, name)

    def _own_run(self, run_id: str, run_token: str | None):
        record = self.runs.get(run_id)
        if record is None:
            raise Refused("run_id", f"no run {run_id!r}")
        if not _matches(run_token, record.token_hash):
            raise Forbidden("That run is not yours: its token does not match.")
        return record

    def set_run(self, code: str, token: str | None, run_id: str, run_token: str | None) -> None:
        """The participant's current run: the class wall shows it."""
        pid = self.participant(code, token)
        self._count_change(code, pid)
        self._own_run(run_id, run_token)

        def point(room: Room) -> None:
            room.participants[pid].run_id = run_id

        self._change(code, point)

    async def submit(self, code: str, token: str | None, run_id: str, run_token: str | None) -> Submitted:
        """Score a finished run on the challenge's hidden test set and put it on the board.
        A run counts once per challenge: submitted again, it gets its first result, unscored."""
        checked = await asyncio.to_thread(self._check_submission, code, token, run_id, run_token)
        if isinstance(checked, Submitted):
            return checked
        challenge, features, entry = checked
        try:
            accuracy = await self.scorer.score(run_id, features, challenge)
        except ScoringUnavailable:
            raise
        except Exception:  # e.g. a model that cannot be read: say so plainly, log the details
            error_id = secrets.token_hex(4)
            log.exception("scoring run %s failed (error %s)", run_id, error_id)
            raise Refused("run_id", f"the run's trained model could not be scored (error {error_id}); "
                                    "train it again and submit the new run") from None
        if accuracy is None:
            raise Refused("run_id", "the run's trained model is not kept any more")
        entry = Submission(**entry, accuracy=round(accuracy, 4), at=time.time())
        return await asyncio.to_thread(self._record_submission, code, challenge.id, entry)

    def _check_submission(self, code: str, token: str | None, run_id: str, run_token: str | None):
        """Everything but the scoring: a Submitted if the run was submitted before, else
        (the challenge, the run's features, the entry without its accuracy and time)."""
        pid = self.participant(code, token)
        room = self.room(code)
        challenge = room.challenge
        if challenge is None:
            raise Refused("challenge", "no challenge is open in this room")
        record = self._own_run(run_id, run_token)
        earlier = room.submitted(challenge.id, run_id)
        if earlier is not None:
            return Submitted(result(room, earlier), new=False)
        entry = check_submission(room, pid, record, challenge)
        self._count("submissions", f"{room.code}:{pid}", self.settings.submissions_per_minute,
                    "You may submit", "PLAYGROUND_SUBMISSIONS_PER_MINUTE")
        return challenge, record.spec["features"], entry

    def _record_submission(self, code: str, challenge_id: str, entry: Submission) -> Submitted:
        first: list[Submission] = []
        room = self._change(code, lambda room: add_submission(room, challenge_id, entry, first))
        return Submitted(result(room, first[0] if first else entry), new=not first)
