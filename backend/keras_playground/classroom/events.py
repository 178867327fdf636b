"""The classroom's events, beside a run's (specs.py): a room's public view and wall tiles.

A `RoomView` is what everyone may see of a room (docs/api.md, "The room's view"). It
is built from the room by `public_view`, field by field, and none of its models has a
field for a secret (token hashes, a challenge's hidden seed), so none can be published.
`WallTile` is a participant's current run as the class wall shows it (classroom.wall).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

from .models import Follow, Room, Submission


class ParticipantView(BaseModel):
    id: str
    name: str  # exactly as typed: pages render it as text
    run_id: str | None
    joined: float


class ChallengeView(BaseModel):
    id: str
    title: str
    dataset: dict[str, Any]
    max_parameters: int
    max_epochs: int
    opened: float
    metric: str = "accuracy"  # what the board ranks by: accuracy, dice or psnr (higher is better)


class Standing(BaseModel):
    """One line of the leaderboard: a participant's best submission."""

    rank: int
    participant: str
    name: str
    run_id: str
    accuracy: float  # the score, in the challenge's `metric` (named accuracy as before Dice and PSNR)
    parameters: int
    epochs: int
    at: float
    metric: str = "accuracy"  # the challenge's: what `accuracy` holds
    score: float | None = None  # the same figure under a neutral name


class RoomView(BaseModel):
    kind: Literal["room"] = "room"
    code: str
    title: str
    closed: bool
    locked: bool
    created: float
    participants: list[ParticipantView]
    follow: Follow
    challenge: ChallengeView | None
    leaderboard: list[Standing]


class WallTile(BaseModel):
    """A participant's run on the class wall. Its picture, once the run has sent a frame:
    a run on points, `resolution` and `boundary` (the latest frame's boundary at half its
    side); an image run, `filters`, `filter_size` and `filter_data` (its first conv layer's
    first filters, first input channel, as in the frame; none for a network without one).
    A tile carries only the picture it has."""

    kind: Literal["wall"] = "wall"
    participant: str
    run_id: str
    epoch: int = 0
    epochs: int | None = None
    metric: float | None = None
    val_metric: float | None = None
    state: str = "queued"
    at: float | None = None
    problem: str | None = None  # binary, multiclass, regression: the wall's colours
    resolution: int | None = None
    boundary: str | None = None  # base64 of resolution x resolution uint8
    filters: int | None = None  # how many filters filter_data holds (at most 8)
    filter_size: int | None = None  # their side (the kernel size)
    filter_data: str | None = None  # base64 of uint8 [filters][size][size]: 128 is a weight of 0

    def as_json(self) -> str:
        absent = ({"resolution", "boundary"} if self.boundary is None else set()) | (
            {"filters", "filter_size", "filter_data"} if self.filter_data is None else set())
        return self.model_dump_json(exclude=absent or None)


RoomEvent = RoomView | WallTile


def _ranked(entry: Submission) -> tuple:
    return -entry.accuracy, entry.parameters, entry.at


def leaderboard(room: Room) -> list[Standing]:
    """Each present participant's best submission to the open challenge: the highest
    hidden-test score first (accuracy, Dice or PSNR: the challenge's `metric`); ties go to
    fewer parameters, then to the earlier submission."""
    if room.challenge is None:
        return []
    removed = {pid for pid, p in room.participants.items() if p.removed}
    best: dict[str, Submission] = {}
    for entry in room.submissions:
        if entry.challenge != room.challenge.id or entry.participant in removed:
            continue
        held = best.get(entry.participant)
        if held is None or _ranked(entry) < _ranked(held):
            best[entry.participant] = entry
    ranked = sorted(best.values(), key=_ranked)
    metric = room.challenge.metric
    return [Standing(rank=i + 1, participant=e.participant, name=e.name, run_id=e.run_id, accuracy=e.accuracy,
                     parameters=e.parameters, epochs=e.epochs, at=e.at, metric=metric, score=e.accuracy)
            for i, e in enumerate(ranked)]


def public_view(room: Room) -> RoomView:
    """What everyone may see of a room: no token hashes, no hidden seed."""
    c = room.challenge
    return RoomView(
        code=room.code, title=room.title, closed=room.closed, locked=room.locked, created=room.created,
        participants=[ParticipantView(id=pid, name=p.name, run_id=p.run_id, joined=p.joined)
                      for pid, p in room.present().items()],
        follow=Follow(spec=room.follow.spec, run_id=room.follow.run_id, lesson=room.follow.lesson,
                      at=room.follow.at),
        challenge=None if c is None else ChallengeView(id=c.id, title=c.title, dataset=c.dataset,
                                                       max_parameters=c.max_parameters,
                                                       max_epochs=c.max_epochs, opened=c.opened,
                                                       metric=c.metric),
        leaderboard=leaderboard(room),
    )
