"""The classroom: rooms an instructor opens and participants join with a short code.

A room holds its participants (display names, no accounts), what the instructor shares
with everyone (settings, a live run, a lesson step: "follow mode"), and a challenge with
its submissions. Roles are tokens: the instructor's (given when the room opens) may share,
set challenges, remove a participant and close the room; a participant's (given on
joining) may only register and submit its own runs, proven with the run's own token.

Every change publishes the room's public view on the event bus under the room's log
(`room:<code>`), newest only, so every page and the demo screen on any web replica
follows it live. Rooms are kept in a `RoomStore` and survive a restart.
"""

from __future__ import annotations

import hmac
import json
import secrets
import time
from dataclasses import dataclass

import numpy as np

from .config import Settings
from .data import make_dataset, merged_params, problem_of, validate_spec
from .engine.scoring import accuracy_of_saved_model
from .jobs.bus import EventBus
from .jobs.service import Busy
from .specs import DatasetSpec, Problem, SpecError
from .store import MemoryRateLimiter, RateLimiter, RoomStore, RunStore, hash_token

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read off a projector
CODE_LENGTH = 6
MAX_NAME = 40
MAX_TITLE = 80
MAX_PARTICIPANTS = 200
HIDDEN_POINTS = 1000  # the hidden test set of a challenge
ENDED_WITH_MODEL = ("finished", "stopped", "early_stopped")
# Published under the bus's "frame" kind: the bus keeps only the newest, which is all a
# page needs of a room, and a slow reader skips straight to it.
NEWEST_ONLY = "frame"


class RoomNotFound(LookupError):
    pass


class RoomClosed(Exception):
    pass


class Forbidden(PermissionError):
    pass


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
    """Each participant's best submission to the open challenge: the highest hidden-test
    accuracy first; ties go to fewer parameters, then to the earlier submission."""
    challenge = room.get("challenge")
    if not challenge:
        return []
    best: dict[str, dict] = {}
    for entry in room["submissions"]:
        if entry["challenge"] != challenge["id"]:
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
        "created": room["created"],
        "participants": [{"id": pid, "name": p["name"], "run_id": p["run_id"], "joined": p["joined"]}
                         for pid, p in room["participants"].items() if not p["removed"]],
        "follow": room["follow"],
        "challenge": {k: v for k, v in challenge.items() if k != "hidden_seed"} if challenge else None,
        "leaderboard": leaderboard(room),
    }


class Classroom:
    def __init__(self, settings: Settings, rooms: RoomStore, runs: RunStore, bus: EventBus,
                 limiter: RateLimiter | None = None):
        self.settings, self.rooms, self.runs, self.bus = settings, rooms, runs, bus
        self.limiter = limiter or MemoryRateLimiter()

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
        required = self.settings.instructor_password
        if required is not None and not (password and hmac.compare_digest(password, required)):
            raise Forbidden("Opening a room needs the instructor password of this server.")
        if self.rooms.open_count() >= self.settings.max_rooms:
            raise Busy(f"The server has {self.settings.max_rooms} open rooms, its maximum; "
                       "close one first (DELETE /api/rooms/{code}).", 60)
        title = " ".join(str(title).split())[:MAX_TITLE] or "Deep learning workshop"
        token = secrets.token_urlsafe(24)
        while True:
            code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
            room = {"code": code, "title": title, "created": time.time(), "closed": False,
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
        if not 1 <= max_parameters <= 1_000_000:
            raise Refused("max_parameters", f"{max_parameters} is out of range [1, 1000000]")
        if not 1 <= max_epochs <= self.settings.limits.max_epochs:
            raise Refused("max_epochs", f"{max_epochs} is out of range [1, {self.settings.limits.max_epochs}]")
        challenge = {"id": secrets.token_hex(4), "title": " ".join(title.split())[:MAX_TITLE] or "Challenge",
                     "dataset": spec.dataset.model_dump(mode="json"), "max_parameters": max_parameters,
                     "max_epochs": max_epochs, "opened": time.time(),
                     "hidden_seed": secrets.randbelow(2**31 - 1)}

        return self._set(code, "challenge", challenge)

    def end_challenge(self, code: str, token: str | None) -> dict:
        self.instructor(code, token)
        return self._set(code, "challenge", None)

    def remove(self, code: str, token: str | None, participant: str) -> dict:
        self.instructor(code, token)

        def drop(room):
            person = room["participants"].get(participant)
            if person is None or person["removed"]:
                raise RoomNotFound(participant)
            person["removed"] = True

        return public_view(self._change(code, drop))

    def close(self, code: str, token: str | None) -> dict:
        self.instructor(code, token)
        return self._set(code, "closed", True)

    # ----- participants -----

    def join(self, code: str, name: str) -> Joined:
        name = clean_name(name)
        token, pid = secrets.token_urlsafe(24), secrets.token_hex(4)

        def add(room):
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
        self._own_run(run_id, run_token)

        def point(room):
            room["participants"][pid]["run_id"] = run_id

        self._change(code, point)

    def submit(self, code: str, token: str | None, run_id: str, run_token: str | None) -> dict:
        """Score a finished run on the challenge's hidden test set and put it on the board."""
        pid = self.participant(code, token)
        room = self.room(code)
        challenge = room["challenge"]
        if challenge is None:
            raise Refused("challenge", "no challenge is open in this room")
        record = self._own_run(run_id, run_token)
        done = record.done or {}
        if record.state not in ENDED_WITH_MODEL or not done.get("epochs"):
            raise Refused("run_id", f"the run is {record.state}: submit it once it has finished training")
        self._check_limits(record.spec, done, challenge)
        model = self.runs.model(run_id)
        if model is None:
            raise Refused("run_id", "the run's trained model is not kept any more")
        xy, labels, kind = self._hidden_test_set(challenge)
        accuracy = accuracy_of_saved_model(model, record.spec["features"], xy, labels, kind)
        entry = {"challenge": challenge["id"], "participant": pid,
                 "name": room["participants"][pid]["name"], "run_id": run_id,
                 "accuracy": round(accuracy, 4), "parameters": done["parameters"],
                 "epochs": done["epochs"], "at": time.time()}

        def add(room):
            if (room["challenge"] or {}).get("id") != challenge["id"]:
                raise Refused("challenge", "the challenge changed while the run was scored; submit again")
            room["submissions"].append(entry)

        board = leaderboard(self._change(code, add))
        rank = next(e["rank"] for e in board if e["participant"] == pid)
        return {**{k: entry[k] for k in ("run_id", "accuracy", "parameters", "epochs")},
                "best_rank": rank}

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

    @staticmethod
    def _hidden_test_set(challenge: dict) -> tuple[np.ndarray, np.ndarray, str]:
        """Points from the challenge's generator and a seed nobody sees: no run trained on them."""
        spec = DatasetSpec.model_validate({**challenge["dataset"], "seed": challenge["hidden_seed"],
                                           "n_train": HIDDEN_POINTS, "n_val": 0, "n_test": 0})
        data = make_dataset(spec)
        return data.x_train, data.y_train, data.kind
