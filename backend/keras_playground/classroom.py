"""The classroom: rooms an instructor opens and participants join with a short code.

A room holds its participants (display names, no accounts), what the instructor shares
with everyone (settings, a live run, a lesson step: "follow mode"), and a challenge with
its submissions. Roles are tokens: the instructor's (given when the room opens) may share,
set challenges, remove a participant and close the room; a participant's (given on
joining) may only register and submit its own runs, proven with the run's own token.

Every change publishes the room's public view on the event bus under the room's log
(`room:<code>`), newest only, so every page and the demo screen on any web replica
follows it live. Rooms are kept in a `RoomStore` and survive a restart; a closed room
and its log go after `keep_closed_rooms_hours`.

Limits: changes (join, register a run, share) per caller and submissions per participant
a minute; a run counts once per challenge; the instructor may lock a room to new joins.
Scoring runs on the `Scorer` (its own threads, or a worker), never on a request's thread.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import secrets
import time
from dataclasses import dataclass

from .config import Settings
from .data import merged_params, problem_of, validate_spec
from .jobs.bus import EventBus
from .jobs.distributed import make_broker
from .jobs.scoring import LocalScorer, RedisScorer, Scorer, ScoringUnavailable
from .jobs.service import Busy
from .specs import Refusal, DatasetSpec, Problem, SpecError, check_range
from .store import MemoryRateLimiter, RateLimiter, RoomStore, RunStore, hash_token, retry_after

log = logging.getLogger(__name__)

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read off a projector
CODE_LENGTH = 6
MAX_NAME = 40
MAX_TITLE = 80
MAX_PARTICIPANTS = 200
MAX_CHALLENGE_PARAMETERS = 1_000_000
MAX_SUBMISSIONS = 30  # runs one participant may submit to one challenge (the room stays small)
ENDED_WITH_MODEL = ("finished", "stopped", "early_stopped")
# Published under the bus's "frame" kind: the bus keeps only the newest, which is all a
# page needs of a room, and a slow reader skips straight to it.
NEWEST_ONLY = "frame"


class RoomNotFound(Refusal, LookupError):
    status = 404

    @property
    def detail(self) -> str:
        return f"No room or participant {self.args[0]!r}."


class RoomClosed(Refusal):
    status = 410

    @property
    def detail(self) -> str:
        return "The instructor has closed this room."


class Forbidden(Refusal, PermissionError):
    """Refused for who is asking (403). `token`: what is missing is a bearer token, so a
    request that sent none hears 401 instead (`needs_token`)."""

    status = 403

    def __init__(self, message: str, *, token: bool = True):
        super().__init__(message)
        self.needs_token = token


class RoomLocked(Forbidden):
    """The instructor has locked the room to new participants (423)."""

    status = 423

    def __init__(self) -> None:
        super().__init__("The instructor has locked this room: it takes no new participants. "
                         "Ask the instructor to unlock it.", token=False)


class Refused(SpecError):
    """A request the room cannot take: a 422 that names the field and the reason."""

    def __init__(self, field: str, message: str):
        super().__init__([Problem(field=field, message=message)])


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


def leaderboard(room: dict) -> list[dict]:
    """Each present participant's best submission to the open challenge: the highest
    hidden-test accuracy first; ties go to fewer parameters, then to the earlier submission."""
    challenge = room.get("challenge")
    if not challenge:
        return []
    people = room.get("participants", {})
    best: dict[str, dict] = {}
    for entry in room["submissions"]:
        if entry["challenge"] != challenge["id"] or people.get(entry["participant"], {}).get("removed"):
            continue
        key = (-entry["accuracy"], entry["parameters"], entry["at"])
        held = best.get(entry["participant"])
        if held is None or key < (-held["accuracy"], held["parameters"], held["at"]):
            best[entry["participant"]] = entry
    ranked = sorted(best.values(), key=lambda e: (-e["accuracy"], e["parameters"], e["at"]))
    return [{"rank": i + 1, **{k: e[k] for k in ("participant", "name", "run_id", "accuracy",
                                                   "parameters", "epochs", "at")}}
            for i, e in enumerate(ranked)]


def public_view(room: dict) -> dict:
    """What everyone may see of a room: no token hashes, no hidden seed."""
    challenge = room.get("challenge")
    return {
        "kind": "room", "code": room["code"], "title": room["title"], "closed": room["closed"],
        "locked": room.get("locked", False), "created": room["created"],
        "participants": [{"id": pid, "name": p["name"], "run_id": p["run_id"], "joined": p["joined"]}
                         for pid, p in room["participants"].items() if not p["removed"]],
        "follow": room["follow"],
        "challenge": {k: v for k, v in challenge.items() if k != "hidden_seed"} if challenge else None,
        "leaderboard": leaderboard(room),
    }


@dataclass
class Submitted:
    """A submission's result; `new`: scored now (False: the run's first result, again)."""

    result: dict
    new: bool


def _result(room: dict, entry: dict) -> dict:
    board = leaderboard(room)
    rank = next((e["rank"] for e in board if e["participant"] == entry["participant"]), None)
    return {**{k: entry[k] for k in ("run_id", "accuracy", "parameters", "epochs")}, "best_rank": rank}


def _submitted(room: dict, challenge_id: str, run_id: str) -> dict | None:
    return next((e for e in room["submissions"] if e["challenge"] == challenge_id and e["run_id"] == run_id), None)


def needs_password(settings: Settings) -> bool:
    """Whether opening a room needs the instructor password: as set, else on a lab server
    or when a password is set."""
    if settings.rooms_need_password is not None:
        return settings.rooms_need_password
    return bool(settings.redis_url) or bool(settings.instructor_password)


def default_scorer(settings: Settings, runs: RunStore) -> Scorer:
    if settings.redis_url:
        return RedisScorer(settings.redis_url, make_broker(settings.redis_url))
    return LocalScorer(runs)


class Classroom:
    def __init__(self, settings: Settings, rooms: RoomStore, runs: RunStore, bus: EventBus,
                 limiter: RateLimiter | None = None, scorer: Scorer | None = None):
        self.settings, self.rooms, self.runs, self.bus = settings, rooms, runs, bus
        self.limiter = limiter or MemoryRateLimiter()
        self.scorer = scorer or default_scorer(settings, runs)

    def shutdown(self) -> None:
        """Stop the scorer's threads (the app's shutdown)."""
        self.scorer.close()

    # ----- reading -----

    def room(self, code: str) -> dict:
        room = self.rooms.get(code.upper())
        if room is None:
            raise RoomNotFound(code)
        return room

    def view(self, code: str) -> dict:
        return public_view(self.room(code))

    def _publish(self, room: dict) -> dict:
        view = public_view(room)
        self.bus.publish_json(room_log(room["code"]), NEWEST_ONLY, json.dumps(view, separators=(",", ":")))
        return view

    def _set(self, code: str, key: str, value) -> dict:
        """Set one field of the room (the caller has checked the role); its new view."""
        return public_view(self._change(code, lambda room: room.__setitem__(key, value)))

    def _change(self, code: str, change) -> dict:
        def guarded(room: dict) -> None:
            if room["closed"]:
                raise RoomClosed(code)
            change(room)

        room = self.rooms.update(code.upper(), guarded)
        if room is None:
            raise RoomNotFound(code)
        self._publish(room)
        return room

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
        room = self.rooms.get(code.upper()) if len(code) == CODE_LENGTH else None
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
    def _holds_token(room: dict, token: str | None) -> bool:
        hashes = [room["instructor_hash"], *(p["token_hash"] for p in room["participants"].values()
                                               if not p["removed"])]
        return any(_matches(token, h) for h in hashes)

    def _count_change(self, code: str, who: str) -> None:
        self._count("room-changes", f"{code.upper()}:{who}", self.settings.room_changes_per_minute,
                    "You may change this room", "PLAYGROUND_ROOM_CHANGES_PER_MINUTE")

    # ----- roles -----

    def instructor(self, code: str, token: str | None) -> dict:
        room = self.room(code)
        if not _matches(token, room["instructor_hash"]):
            raise Forbidden("This needs the room's instructor token.")
        return room

    def participant(self, code: str, token: str | None) -> str:
        """The id of the participant whose token this is, in this room."""
        room = self.room(code)
        for pid, person in room["participants"].items():
            if not person["removed"] and _matches(token, person["token_hash"]):
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
            room = {"code": code, "title": title, "created": time.time(), "closed": False, "locked": False,
                    "instructor_hash": hash_token(token), "participants": {},
                    "follow": {"spec": None, "run_id": None, "lesson": None, "at": None},
                    "challenge": None, "submissions": []}
            if self.rooms.create(room):
                break
        self.bus.open(room_log(code))
        self._publish(room)
        return Opened(code, token)

    def follow(self, code: str, token: str | None, *, spec: dict | None, run_id: str | None,
               lesson: dict | None) -> dict:
        """Share settings, a live run and/or a lesson step with every participant."""
        self.instructor(code, token)
        self._count_change(code, "instructor")
        if spec is not None:
            spec = validate_spec(spec, self.settings.limits).model_dump(mode="json")
        if run_id is not None and self.runs.get(run_id) is None:
            raise Refused("run_id", f"no run {run_id!r}")

        follow = {"spec": spec, "run_id": run_id, "lesson": lesson, "at": time.time()}
        return self._set(code, "follow", follow)

    def open_challenge(self, code: str, token: str | None, *, title: str, dataset: dict,
                       max_parameters: int, max_epochs: int) -> dict:
        self.instructor(code, token)
        if dataset.get("name") == "custom":
            raise Refused("dataset.name", "a challenge needs a generated data set (its hidden test set "
                                          "is drawn from the same generator)")
        # Only the data set is checked here: participants choose the training.
        spec = validate_spec({"dataset": dataset, "training": {"batch_size": 1}}, self.settings.limits)
        kind, _ = problem_of(spec.dataset)
        if kind == "regression":
            raise Refused("dataset.name", f"{spec.dataset.name} is a regression set; a challenge ranks "
                                          "by accuracy, so choose a classification set")
        check_range("max_parameters", max_parameters, 1, MAX_CHALLENGE_PARAMETERS)
        check_range("max_epochs", max_epochs, 1, self.settings.limits.max_epochs)
        challenge = {"id": secrets.token_hex(4), "title": " ".join(title.split())[:MAX_TITLE] or "Challenge",
                     "dataset": spec.dataset.model_dump(mode="json"), "max_parameters": max_parameters,
                     "max_epochs": max_epochs, "opened": time.time(),
                     "hidden_seed": secrets.randbelow(2**31 - 1)}
        # The board shows the open challenge only: the submissions to an earlier one go.
        return public_view(self._change(code, lambda room: room.update(challenge=challenge, submissions=[])))

    def end_challenge(self, code: str, token: str | None) -> dict:
        self.instructor(code, token)
        return public_view(self._change(code, lambda room: room.update(challenge=None, submissions=[])))

    def remove(self, code: str, token: str | None, participant: str) -> dict:
        """The participant's token stops working, and their entries leave the leaderboard."""
        self.instructor(code, token)

        def drop(room):
            person = room["participants"].get(participant)
            if person is None or person["removed"]:
                raise RoomNotFound(participant)
            person["removed"] = True
            room["submissions"] = [e for e in room["submissions"] if e["participant"] != participant]

        return public_view(self._change(code, drop))

    def lock(self, code: str, token: str | None, locked: bool) -> dict:
        """Lock the room to new participants (those in it stay), or unlock it."""
        self.instructor(code, token)
        return self._set(code, "locked", bool(locked))

    def close(self, code: str, token: str | None) -> dict:
        """Close the room: it refuses every change, and goes (with its log) after
        `keep_closed_rooms_hours`."""
        self.instructor(code, token)
        view = public_view(self._change(code, lambda room: room.update(closed=True, closed_at=time.time())))
        # The log outlives the room by one pruning round, so a stream that finds the room
        # never opens a new log for it.
        self.bus.expire(room_log(view["code"]), self.settings.keep_closed_rooms_hours * 3600
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

        def add(room):
            if room.get("locked"):
                raise RoomLocked()
            present = [p for p in room["participants"].values() if not p["removed"]]
            if len(present) >= MAX_PARTICIPANTS:
                raise Refused("name", f"the room is full ({MAX_PARTICIPANTS} participants)")
            room["participants"][pid] = {"name": name, "token_hash": hash_token(token),
                                         "joined": time.time(), "run_id": None, "removed": False}

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

        def point(room):
            room["participants"][pid]["run_id"] = run_id

        self._change(code, point)

    async def submit(self, code: str, token: str | None, run_id: str, run_token: str | None) -> Submitted:
        """Score a finished run on the challenge's hidden test set and put it on the board.
        A run counts once per challenge: submitted again, it gets its first result, unscored."""
        checked = await asyncio.to_thread(self._check_submission, code, token, run_id, run_token)
        if isinstance(checked, Submitted):
            return checked
        pid, challenge, features, entry = checked
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
        entry = {**entry, "accuracy": round(accuracy, 4), "at": time.time()}
        return await asyncio.to_thread(self._record_submission, code, challenge["id"], entry)

    def _check_submission(self, code: str, token: str | None, run_id: str, run_token: str | None):
        """Everything but the scoring: a Submitted if the run was submitted before, else
        (participant, challenge, the run's features, the entry without its accuracy)."""
        pid = self.participant(code, token)
        room = self.room(code)
        challenge = room["challenge"]
        if challenge is None:
            raise Refused("challenge", "no challenge is open in this room")
        record = self._own_run(run_id, run_token)
        earlier = _submitted(room, challenge["id"], run_id)
        if earlier is not None:
            return Submitted(_result(room, earlier), new=False)
        done = record.done or {}
        if record.state not in ENDED_WITH_MODEL or not done.get("epochs"):
            raise Refused("run_id", f"the run is {record.state}: submit it once it has finished training")
        self._check_limits(record.spec, done, challenge)
        mine = sum(e["participant"] == pid for e in room["submissions"] if e["challenge"] == challenge["id"])
        if mine >= MAX_SUBMISSIONS:
            raise Refused("run_id", f"you have submitted {mine} runs to this challenge, its most "
                                    f"({MAX_SUBMISSIONS}); your best one counts")
        self._count("submissions", f"{room['code']}:{pid}", self.settings.submissions_per_minute,
                    "You may submit", "PLAYGROUND_SUBMISSIONS_PER_MINUTE")
        entry = {"challenge": challenge["id"], "participant": pid, "name": room["participants"][pid]["name"],
                 "run_id": run_id, "parameters": done["parameters"], "epochs": done["epochs"]}
        return pid, challenge, record.spec["features"], entry

    def _record_submission(self, code: str, challenge_id: str, entry: dict) -> Submitted:
        first: list[dict] = []

        def add(room):
            first.clear()  # a store may apply a change again (another replica changed the room)
            if (room["challenge"] or {}).get("id") != challenge_id:
                raise Refused("challenge", "the challenge changed while the run was scored; submit again")
            if entry["participant"] not in room["participants"] or \
                    room["participants"][entry["participant"]]["removed"]:
                raise Forbidden("You were removed from this room while the run was scored.")
            earlier = _submitted(room, challenge_id, entry["run_id"])
            if earlier is not None:  # the same run, submitted twice at once: the first counts
                first.append(earlier)
            else:
                room["submissions"].append(entry)

        room = self._change(code, add)
        return Submitted(_result(room, first[0] if first else entry), new=not first)

    @staticmethod
    def _check_limits(spec: dict, done: dict, challenge: dict) -> None:
        wanted = challenge["dataset"]
        ran = {**spec["dataset"], "params": merged_params(DatasetSpec.model_validate(spec["dataset"]))}
        wanted = {**wanted, "params": merged_params(DatasetSpec.model_validate(wanted))}
        for key in ("name", "params", "noise", "seed", "n_train", "n_val", "n_test"):
            if ran.get(key) != wanted.get(key):
                raise Refused(f"dataset.{key}", f"{ran.get(key)!r} is not the challenge's "
                                                f"{wanted.get(key)!r}: train on the challenge's data set")
        if done["parameters"] > challenge["max_parameters"]:
            raise Refused("parameters", f"the network has {done['parameters']} parameters, over the "
                                        f"challenge's limit of {challenge['max_parameters']}")
        if done["epochs"] > challenge["max_epochs"]:
            raise Refused("training.epochs", f"the run trained {done['epochs']} epochs, over the "
                                             f"challenge's limit of {challenge['max_epochs']}")
