"""A room's challenge: what it may be, which runs it takes, and its board's answers.

The instructor opens a challenge on a generated classification data set (points or
images: digits, shapes, cells) or on the microscope (nuclei: segmentation; nuclei-denoise:
restoration), with limits on parameters and epochs; participants submit finished runs,
scored on a hidden test set (classroom.scoring; for the digits, the images the challenge's
data set does not draw); the leaderboard (events.leaderboard) ranks the best of each by the
challenge's `metric`: accuracy, the Dice of the nuclei, or the PSNR of the restored images.
These are the rules, as functions of the room and the run; the Classroom does the I/O.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from ..data import DATASETS, merged_params, problem_of
from ..data.validate import spec_problems
from ..specs import DatasetSpec, Limits, RunSpec, SpecError, check_range, parse_spec
from ..store import RunRecord
from .errors import Forbidden, Refused
from .events import leaderboard
from .models import MAX_TITLE, Challenge, Room, Submission

MAX_CHALLENGE_PARAMETERS = 1_000_000
MAX_SUBMISSIONS = 30  # runs one participant may submit to one challenge (the room stays small)
ENDED_WITH_MODEL = ("finished", "stopped", "early_stopped")
SAME_DATA = ("name", "params", "noise", "seed", "n_train", "n_val", "n_test")
# A data set of so many examples in all (the digits) keeps this many out of the participants'
# draws: the challenge's hidden test set is drawn from them.
MIN_UNSEEN = 200


# What a challenge ranks by, from its data set's kind (engine.scoring.challenge_metric: the
# engine's module imports TensorFlow, so the rule is repeated here, not imported).
METRICS = {"segmentation": "dice", "restoration": "psnr"}


class Scored(BaseModel):
    """A submission's answer: the run's figures and the participant's best rank now."""

    run_id: str
    accuracy: float  # the score, in the challenge's metric (named accuracy as before Dice and PSNR)
    parameters: int
    epochs: int
    best_rank: int | None
    metric: str = "accuracy"
    score: float | None = None  # the same figure under a neutral name


@dataclass
class Submitted:
    """A submission's result; `new`: scored now (False: the run's first result, again)."""

    result: Scored
    new: bool


def result(room: Room, entry: Submission) -> Scored:
    rank = next((e.rank for e in leaderboard(room) if e.participant == entry.participant), None)
    metric = room.challenge.metric if room.challenge is not None and room.challenge.id == entry.challenge \
        else "accuracy"
    return Scored(run_id=entry.run_id, accuracy=entry.accuracy, parameters=entry.parameters,
                  epochs=entry.epochs, best_rank=rank, metric=metric, score=entry.accuracy)


def new_challenge(title: str, dataset: dict[str, Any], max_parameters: int, max_epochs: int,
                  limits: Limits) -> Challenge:
    """A challenge, checked (422s name the field), with a hidden seed of its own."""
    if dataset.get("name") == "custom":
        raise Refused("dataset.name", "a challenge needs a generated data set (its hidden test set "
                                      "is drawn from the same generator)")
    spec = checked_dataset(dataset, limits)
    kind, _ = problem_of(spec.dataset)
    if kind == "regression":
        raise Refused("dataset.name", f"{spec.dataset.name} is a regression set; a challenge ranks "
                                      "by accuracy (Dice or PSNR on the microscope), so choose a "
                                      "classification set or a microscope's")
    check_range("max_parameters", max_parameters, 1, MAX_CHALLENGE_PARAMETERS)
    check_range("max_epochs", max_epochs, 1, limits.max_epochs)
    title = " ".join(title.split())[:MAX_TITLE] or titled_by_data(spec.dataset.name)
    return Challenge(id=secrets.token_hex(4), title=title,
                     dataset=spec.dataset.model_dump(mode="json"), max_parameters=max_parameters,
                     max_epochs=max_epochs, opened=time.time(), hidden_seed=secrets.randbelow(2**31 - 1),
                     metric=METRICS.get(kind, "accuracy"))


def checked_dataset(dataset: dict[str, Any], limits: Limits) -> RunSpec:
    """A spec around the challenge's data set, whose data set part is valid (else SpecError
    or Refused). Only the data set is checked: participants choose the layers and the
    training (an image data set refuses the spec's empty layers: the output needs a flat input)."""
    spec = parse_spec({"dataset": dataset, "training": {"batch_size": 1}}, limits)
    _, problems = spec_problems(spec, limits)
    problems = [p for p in problems if p.field == "dataset" or p.field.startswith("dataset.")]
    if problems:
        raise SpecError(problems)
    d = spec.dataset
    drawn = d.n_train + d.n_val + d.n_test
    info = DATASETS[d.name]
    if info.kind in METRICS and merged_params(d)["size"] % 16:
        # The microscope draws sides of 16k only (its U-Nets halve them up to 4 times).
        raise Refused("dataset.params.size", f"{merged_params(d)['size']} is not a multiple of 16")
    if info.most is not None and info.most - drawn < MIN_UNSEEN:
        # The hidden test set is the examples the data set does not draw (engine.scoring).
        raise Refused("dataset", f"a {d.name} challenge keeps at least {MIN_UNSEEN} of the {info.most:,} "
                                 f"images unseen for its hidden test set: n_train + n_val + n_test = "
                                 f"{drawn:,} is over {info.most - MIN_UNSEEN:,}")
    return spec


def titled_by_data(name: str) -> str:
    """A challenge's title when the instructor gives none: its data set's catalog title,
    e.g. "Spiral (course Ex3) challenge" (a title that already says "challenge" as is)."""
    info = DATASETS.get(name)
    title = info.title if info else name
    return (title if "challenge" in title.lower() else f"{title} challenge")[:MAX_TITLE]


def check_submission(room: Room, pid: str, record: RunRecord, challenge: Challenge) -> dict[str, Any]:
    """Whether participant `pid` may submit the run to the challenge (else Refused, 422);
    its entry, without its accuracy and time."""
    done = record.done or {}
    if record.state not in ENDED_WITH_MODEL or not done.get("epochs"):
        raise Refused("run_id", f"the run is {record.state}: submit it once it has finished training")
    check_limits(record.spec, done, challenge)
    mine = sum(e.participant == pid for e in room.submissions if e.challenge == challenge.id)
    if mine >= MAX_SUBMISSIONS:
        raise Refused("run_id", f"you have submitted {mine} runs to this challenge, its most "
                                f"({MAX_SUBMISSIONS}); your best one counts")
    return {"challenge": challenge.id, "participant": pid, "name": room.participants[pid].name,
            "run_id": record.id, "parameters": done["parameters"], "epochs": done["epochs"]}


def check_limits(spec: dict[str, Any], done: dict[str, Any], challenge: Challenge) -> None:
    """The run trained on the challenge's data set, within its limits (else Refused)."""
    ran = {**spec["dataset"], "params": merged_params(DatasetSpec.model_validate(spec["dataset"]))}
    wanted = {**challenge.dataset, "params": merged_params(DatasetSpec.model_validate(challenge.dataset))}
    for key in SAME_DATA:
        if ran.get(key) != wanted.get(key):
            raise Refused(f"dataset.{key}", f"{ran.get(key)!r} is not the challenge's "
                                            f"{wanted.get(key)!r}: train on the challenge's data set")
    if done["parameters"] > challenge.max_parameters:
        raise Refused("parameters", f"the network has {done['parameters']} parameters, over the "
                                    f"challenge's limit of {challenge.max_parameters}")
    if done["epochs"] > challenge.max_epochs:
        raise Refused("training.epochs", f"the run trained {done['epochs']} epochs, over the "
                                         f"challenge's limit of {challenge.max_epochs}")


def add_submission(room: Room, challenge_id: str, entry: Submission, first: list[Submission]) -> None:
    """The change that puts a scored entry on the board (a Room change: the store may apply
    it again). The same run submitted twice at once: the first counts, and lands in `first`."""
    first.clear()
    if room.challenge is None or room.challenge.id != challenge_id:
        raise Refused("challenge", "the challenge changed while the run was scored; submit again")
    if entry.participant not in room.present():
        raise Forbidden("You were removed from this room while the run was scored.")
    earlier = room.submitted(challenge_id, entry.run_id)
    if earlier is not None:
        first.append(earlier)
    else:
        room.submissions.append(entry)
