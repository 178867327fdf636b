"""Lessons: the course's exercises as guided steps, kept as JSON files (docs/lessons.md).

Each file in `lessons/` is one lesson; each step has a short explanation, the run spec
it loads, what to try, what to watch for, and the same as claims the server can check on
the finished run (claims.py; `keras-playground lessons --check`). An instructor adds a lesson by adding a
file: it is checked when loaded (every step's spec must be valid) and listed by the
catalog, ordered by `order`.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..data import validate_spec
from ..specs import Limits, SpecError, field_path
from .claims import CLAIM_TAGS, Claim, Compare

LESSONS_DIR = Path(__file__).parent / "lessons"


class Step(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=1, max_length=120)
    text: str = Field(min_length=1, max_length=2000)
    settings: dict  # a run spec (docs/run-spec.md), checked against the limits
    try_: str = Field(alias="try", min_length=1, max_length=1000)
    watch: str = Field(min_length=1, max_length=1000)
    claims: list[Claim] = Field(default_factory=list, max_length=20)  # what `watch` says, as checks


class Lesson(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")
    order: int = 100
    title: str = Field(min_length=1, max_length=120)
    summary: str = Field(min_length=1, max_length=500)
    exercise: str | None = Field(default=None, max_length=20)  # the course exercise it follows (Ex1, Ex2, Ex3)
    steps: list[Step] = Field(min_length=1, max_length=30)


class LessonError(ValueError):
    pass


def load_lesson(path: Path, limits: Limits) -> Lesson:
    """One lesson file, checked; LessonError names the file, the step and the field."""
    try:
        lesson = Lesson.model_validate(json.loads(path.read_text()))
    except json.JSONDecodeError as exc:
        raise LessonError(f"{path.name}: {exc}") from exc
    except ValidationError as exc:
        raise LessonError("; ".join(_where(path, e) for e in exc.errors(include_url=False))) from exc
    if lesson.id != path.stem:
        raise LessonError(f"{path.name}: its id {lesson.id!r} differs from the file name")
    for number, step in enumerate(lesson.steps, start=1):
        try:
            step.settings = validate_spec(step.settings, limits).model_dump(mode="json")
        except SpecError as exc:
            problems = "; ".join(f"{p.field}: {p.message}" for p in exc.problems)
            raise LessonError(f"{path.name}, step {number} settings: {problems}") from exc
        for index, claim in enumerate(step.claims):
            if isinstance(claim, Compare) and claim.step is not None:
                if claim.step == number or claim.step > len(lesson.steps):
                    raise LessonError(f"{path.name}, step {number} claims[{index}].step: {claim.step} is "
                                      f"not another step of this lesson (1 to {len(lesson.steps)})")
    return lesson


def _where(path: Path, error: dict) -> str:
    """'99-mine.json, step 2 claims[0].op: Input should be ...' from a pydantic error."""
    loc = list(error["loc"])
    # A claim's union adds its tags ('compare', 'shape', 'stopped_early') to the path.
    loc = [part for part in loc if part not in CLAIM_TAGS]
    where = path.name
    if len(loc) >= 2 and loc[0] == "steps" and isinstance(loc[1], int):
        where += f", step {loc[1] + 1}"
        loc = loc[2:]
    return f"{where} {field_path(loc) or 'file'}: {error['msg']}"


def load_lessons(limits: Limits, extra_dir: Path | None = None) -> tuple[Lesson, ...]:
    """The package's lessons and those in `extra_dir` (PLAYGROUND_LESSONS_DIR); a file
    there with the id of a package lesson replaces it."""
    by_id = {}
    for directory in (LESSONS_DIR, extra_dir):
        if directory is not None:
            for path in sorted(Path(directory).glob("*.json")):
                lesson = load_lesson(path, limits)
                by_id[lesson.id] = lesson
    return tuple(sorted(by_id.values(), key=lambda lesson: (lesson.order, lesson.id)))


def lesson_summaries(lessons: tuple[Lesson, ...]) -> list[dict]:
    """What the catalog lists of each lesson."""
    return [{"id": l.id, "title": l.title, "summary": l.summary, "exercise": l.exercise,
             "steps": [s.title for s in l.steps]} for l in lessons]


def lesson_json(lesson: Lesson) -> dict:
    return lesson.model_dump(mode="json", by_alias=True)
