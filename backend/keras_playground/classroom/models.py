"""A room as the classroom keeps it: typed, secrets included (never sent as they are).

The room store keeps each room as one JSON document; `Room.model_validate` reads one
(rooms kept by older versions too: a missing field takes its default) and
`Room.document` writes one, in the same shape. What everyone may see of a room is
`events.RoomView`, built by `events.public_view`: it has no field for a secret.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

MAX_TITLE = 80  # characters of a room's or a challenge's title


class Participant(BaseModel):
    name: str
    token_hash: str  # secret: proves the participant's token
    joined: float
    run_id: str | None = None  # the run the class wall shows
    removed: bool = False


class LessonStep(BaseModel):
    id: str
    step: int


class Follow(BaseModel):
    """What the instructor shares with everyone ("follow mode"); public as it is."""

    spec: dict[str, Any] | None = None  # run settings, validated (docs/run-spec.md)
    run_id: str | None = None  # a live run
    lesson: LessonStep | None = None
    at: float | None = None


class Challenge(BaseModel):
    id: str
    title: str
    dataset: dict[str, Any]  # a generated data set's spec
    max_parameters: int
    max_epochs: int
    opened: float
    hidden_seed: int  # secret: draws the hidden test set
    # What the board ranks by, higher is better: "accuracy" (classification), "dice" (nuclei:
    # segmentation) or "psnr" (nuclei-denoise: restoration), from the data set's kind.
    metric: str = "accuracy"


class Submission(BaseModel):
    """A scored run of a participant, for one challenge."""

    challenge: str
    participant: str
    name: str
    run_id: str
    parameters: int
    epochs: int
    accuracy: float  # the score on the hidden test set, in the challenge's metric (Dice or PSNR too)
    at: float


class Room(BaseModel):
    code: str
    title: str
    created: float
    closed: bool = False
    closed_at: float | None = None
    locked: bool = False
    instructor_hash: str  # secret: proves the instructor's token
    participants: dict[str, Participant] = Field(default_factory=dict)  # by id, in joining order
    follow: Follow = Field(default_factory=Follow)
    challenge: Challenge | None = None
    submissions: list[Submission] = Field(default_factory=list)

    def document(self) -> dict[str, Any]:
        """The room as the store keeps it (JSON)."""
        return self.model_dump(mode="json")

    def present(self) -> dict[str, Participant]:
        """The participants not removed, by id."""
        return {pid: p for pid, p in self.participants.items() if not p.removed}

    def submitted(self, challenge_id: str, run_id: str) -> Submission | None:
        """The run's submission to the challenge, if it has one."""
        return next((e for e in self.submissions if e.challenge == challenge_id and e.run_id == run_id), None)
