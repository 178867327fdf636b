"""`keras-playground lessons --check`: train every lesson step and check its claims.

Each step is trained as `keras-playground train` does (the engine's session driven to its
end, no server), with N seeds: the step's own training and data seeds first, then seeds
derived from them. A claim holds only when it holds for every seed; a comparison with
another step compares the runs of the same seed. The engine (TensorFlow) is imported
only inside `train_run`, so this module stays importable on the web path.
"""

from __future__ import annotations

import copy
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable

from ..specs import Limits
from .claims import Outcome, RunResult, describe, evaluate
from .lessons import Lesson

METRIC_WORDS = {"mae": "MAE", "dice": "Dice", "psnr": "PSNR (dB)"}  # a run's metric_name in the table
SEED_STRIDE = 1000  # seed index i adds i * SEED_STRIDE to the step's data and training seeds


def seeded(settings: dict, index: int) -> dict:
    """A step's settings with seed index `index` (0: the step's own seeds)."""
    spec = copy.deepcopy(settings)
    for part, default in (("dataset", 7), ("training", 1)):  # the spec's own defaults where left out
        seeds = spec.setdefault(part, {})
        seeds["seed"] = (seeds.get("seed", default) + index * SEED_STRIDE) % (Limits().max_seed + 1)
    return spec


def train_run(settings: dict) -> RunResult:
    """Train one run spec to its end with the engine, as the CLI's `train` does."""
    from ..engine.control import QueueControl, drive
    from ..engine.session import TrainingSession
    from ..specs import parse_spec

    session = TrainingSession(parse_spec(settings), max_frames_per_second=1.0)
    history: list[dict] = []
    start: dict = {}

    def emit(event) -> None:
        if event.kind == "epoch":
            history.append(event.model_dump())
        elif event.kind == "start":
            start.update(event.model_dump())

    done = drive(session, QueueControl(), emit)
    return RunResult(done=done.model_dump(), history=history, start=start or None)


@dataclass
class Row:
    lesson: str
    step: int  # 1-based
    claim: str  # in words
    measured: list[str]  # one per seed
    holds: bool


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    seeds: int = 1
    runs: int = 0
    seconds: float = 0.0
    step_seconds: dict[str, float] = field(default_factory=dict)  # "lesson step N" -> summed over seeds

    @property
    def all_hold(self) -> bool:
        return all(row.holds for row in self.rows)

    def as_json(self) -> dict:
        return {"all_hold": self.all_hold, "claims": len(self.rows),
                "failing": sum(not r.holds for r in self.rows), "seeds": self.seeds, "runs": self.runs,
                "seconds": round(self.seconds, 1),
                "step_seconds": {k: round(v, 1) for k, v in self.step_seconds.items()},
                "rows": [r.__dict__ for r in self.rows]}


def check_lessons(lessons: tuple[Lesson, ...] | list[Lesson], seeds: int = 1, threads: int = 2,
                  train: Callable[[dict], RunResult] = train_run,
                  progress: Callable[[str], None] | None = None) -> Report:
    """Train every step of `lessons` with `seeds` seeds (in `threads` threads) and check
    every claim; the report has one row per claim."""
    started = time.perf_counter()
    jobs = [(lesson.id, number, index, seeded(step.settings, index))
            for lesson in lessons if any(step.claims for step in lesson.steps)
            for number, step in enumerate(lesson.steps, start=1)
            for index in range(seeds)]
    # The longest runs first, so the threads finish together.
    jobs.sort(key=lambda job: -job[3]["training"]["epochs"] * job[3]["dataset"]["n_train"])
    results: dict[tuple[str, int, int], RunResult] = {}
    report = Report(seeds=seeds, runs=len(jobs))

    def run(job) -> None:
        lesson_id, number, index, settings = job
        began = time.perf_counter()
        results[(lesson_id, number, index)] = train(settings)
        spent = time.perf_counter() - began
        key = f"{lesson_id} step {number}"
        report.step_seconds[key] = report.step_seconds.get(key, 0.0) + spent
        if progress:
            progress(f"{lesson_id} step {number} seed {index + 1}/{seeds}: {spent:.1f} s")

    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        list(pool.map(run, jobs))

    for lesson in lessons:
        for number, step in enumerate(lesson.steps, start=1):
            for claim in step.claims:
                outcomes: list[Outcome] = []
                for index in range(seeds):
                    others = {n: results[(lesson.id, n, index)] for n in range(1, len(lesson.steps) + 1)
                              if (lesson.id, n, index) in results}
                    outcomes.append(evaluate(claim, results[(lesson.id, number, index)], others))
                name = results[(lesson.id, number, 0)].done.get("metric_name", "accuracy")
                report.rows.append(Row(lesson=lesson.id, step=number, claim=describe(claim, METRIC_WORDS.get(name, name)),
                                       measured=[o.measured for o in outcomes],
                                       holds=all(o.holds for o in outcomes)))
    report.seconds = time.perf_counter() - started
    return report


def format_report(report: Report) -> str:
    """The table: lesson, step, claim, measured value per seed, holds or not; then a summary."""
    header = ("lesson", "step", "claim", "measured" + (f" (seeds 1-{report.seeds})" if report.seeds > 1 else ""),
              "holds")
    table = [header] + [(r.lesson, str(r.step), r.claim, "; ".join(r.measured), "yes" if r.holds else "NO")
                        for r in report.rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in table]
    lines.insert(1, "  ".join("-" * width for width in widths))
    failing = sum(not r.holds for r in report.rows)
    verdict = "every claim holds" if not failing else f"{failing} claim{'s' if failing > 1 else ''} do not hold"
    lines.append("")
    lines.append(f"{len(report.rows)} claims, {verdict}; {report.runs} runs ({report.seeds} "
                 f"seed{'s' if report.seeds > 1 else ''} per step) in {report.seconds:.0f} s")
    return "\n".join(lines)
