"""What a lesson step claims about its run, as data the server can check (docs/lessons.md).

A step says in words what to watch; its `claims` say the same as checks on the finished
run: its `done` event, its epoch history and its epoch 0 (the untrained network). This
module is pure (no TensorFlow): `classroom.check` trains the steps and calls `evaluate`.

Two kinds of claim:

- a comparison: `{"metric": "test_metric", "op": ">=", "value": 0.9}`, or against the
  same metric of another step of the lesson (1-based), trained with the same seeds:
  `{"metric": "test_metric", "op": ">", "step": 1}`, or against the same figure of a
  classical method on the same test images, from the run's own `done` (microscopy):
  `{"metric": "psnr", "op": ">", "baseline": "gaussian"}`, or against another figure of the
  same run: `{"metric": "pixel_accuracy", "op": ">", "than": "background_accuracy"}`; with a
  step, a baseline or another figure, a margin: `"by": 0.1` adds 0.1 to the other figure
  first ("higher than step 1's by 0.1 or more" with `">="`);
  `"op": "near"` takes `"within"`;
  the series metrics take `"epoch"` (0: before the first update) instead of the end;
- a shape of the curves: `{"shape": "val_loss_minimum_before", "fraction": 0.67}`,
  `{"shape": "stopped_early", "before": 300}`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, Mapping, Union

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, model_validator

# Per-epoch figures: at the end of the run (the `done` event), or at `epoch`.
SERIES = ("loss", "metric", "val_loss", "val_metric")
# A microscopy run's epoch `extras` (validation figures beside Dice or PSNR): the last
# epoch's (with early stopping, the kept epoch's), or at `epoch`.
EXTRAS = ("val_iou", "val_pixel_accuracy", "val_ssim")
# The classical methods a microscopy run's `done` scores on the same test images, and the
# figures each has there (`baselines`).
BASELINES = {"otsu": ("dice",), "noisy": ("psnr", "ssim"), "gaussian": ("psnr", "ssim"),
             "median": ("psnr", "ssim")}
# With the microscopy run's test figures from `done` (dice ... ssim) and its extras.
Metric = Literal["loss", "metric", "val_loss", "val_metric", "test_loss", "test_metric",
                 "parameters", "epochs", "best_epoch", "min_val_loss", "val_loss_rise", "gap",
                 "dice", "iou", "pixel_accuracy", "background_accuracy", "instance_f1", "instances",
                 "true_instances", "psnr", "ssim", "val_iou", "val_pixel_accuracy", "val_ssim"]
Baseline = Literal["otsu", "noisy", "gaussian", "median"]
Op = Literal["<", "<=", ">", ">=", "==", "near"]

_WORDS = {
    "loss": "training loss", "metric": "training {m}", "val_loss": "validation loss",
    "val_metric": "validation {m}", "test_loss": "test loss", "test_metric": "test {m}",
    "parameters": "parameter count", "epochs": "epochs trained",
    "best_epoch": "epoch whose weights are kept", "min_val_loss": "lowest validation loss",
    "val_loss_rise": "rise of the validation loss from its lowest to the last epoch",
    "gap": "last validation loss minus the last training loss",
    "dice": "test Dice", "iou": "test IoU", "pixel_accuracy": "test pixel accuracy",
    "background_accuracy": 'test pixel accuracy of "all background"',
    "instance_f1": "test instance F1 (IoU 0.5)", "instances": "nuclei found",
    "true_instances": "true nuclei", "psnr": "test PSNR (dB)", "ssim": "test SSIM",
    "val_iou": "validation IoU", "val_pixel_accuracy": "validation pixel accuracy",
    "val_ssim": "validation SSIM",
}
_BASELINE_WORDS = {"otsu": "Otsu's threshold's", "noisy": "the noisy images'",
                   "gaussian": "the Gaussian filter's", "median": "the median filter's"}
_OPS = {"<": "<", "<=": "<=", ">": ">", ">=": ">=", "==": "=", "near": "is near"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Compare(_Strict):
    """A figure of the run against a number, or against the same figure of another step."""

    metric: Metric
    op: Op
    value: float | None = None
    step: int | None = Field(default=None, ge=1)  # another step of the lesson, 1-based
    baseline: Baseline | None = None  # the same figure of a classical method, from the run's `done`
    than: Metric | None = None  # another figure of the same run (pixel_accuracy than background_accuracy)
    by: float | None = Field(default=None, allow_inf_nan=False)  # with step, baseline or than: added to the other figure (a margin; negative: less)
    within: float | None = Field(default=None, gt=0)  # for "near": |measured - target| <= within
    epoch: int | None = Field(default=None, ge=0)  # series and extras metrics only: at this epoch, not the end

    @model_validator(mode="after")
    def _consistent(self) -> "Compare":
        if sum(x is not None for x in (self.value, self.step, self.baseline, self.than)) != 1:
            raise ValueError("give exactly one of value (a number), step (another step to compare with), "
                             "baseline (a classical method's figure) and than (another figure of the run)")
        if self.by is not None and self.value is not None:
            raise ValueError("by (a margin) applies to a comparison with another step, a baseline or "
                             "another figure, not with a value")
        if (self.op == "near") != (self.within is not None):
            raise ValueError('"within" goes with op "near", and op "near" needs it')
        if self.epoch is not None and self.metric not in SERIES + EXTRAS:
            raise ValueError(f"epoch applies to {', '.join(SERIES + EXTRAS)} only, not {self.metric}")
        if self.baseline is not None and self.metric not in BASELINES[self.baseline]:
            raise ValueError(f"the {self.baseline} baseline has {' and '.join(BASELINES[self.baseline])}, "
                             f"not {self.metric}")
        return self


class MinimumBefore(_Strict):
    """The validation loss is at its lowest before `fraction` of the epochs trained."""

    shape: Literal["val_loss_minimum_before"]
    fraction: float = Field(gt=0, le=1)


class StoppedEarly(_Strict):
    """Early stopping ended the run before epoch `before`."""

    shape: Literal["stopped_early"]
    before: int = Field(ge=2)


Shape = Annotated[Union[MinimumBefore, StoppedEarly], Field(discriminator="shape")]


def _kind(value: Any) -> str:
    has_shape = "shape" in value if isinstance(value, dict) else hasattr(value, "shape")
    return "shape" if has_shape else "compare"


Claim = Annotated[Union[Annotated[Compare, Tag("compare")], Annotated[Shape, Tag("shape")]],
                  Discriminator(_kind)]
# The names pydantic adds to an error's path inside a claim (lessons.py leaves them out).
CLAIM_TAGS = ("compare", "shape", "val_loss_minimum_before", "stopped_early")


@dataclass
class RunResult:
    """A finished run as the claims see it: `done` and each epoch's event, as JSON dicts."""

    done: dict
    history: list[dict]
    start: dict | None = None  # epoch 0, the untrained network (the `start` event)


@dataclass
class Outcome:
    holds: bool
    measured: str  # in words, e.g. "0.953 (step 1: 0.912)"
    values: list[float | None] = field(default_factory=list)


def _fmt(value: float | None) -> str:
    if value is None:
        return "none"
    return str(int(value)) if float(value).is_integer() and abs(value) >= 2 else f"{value:.3f}"


def describe(claim: Compare | MinimumBefore | StoppedEarly, metric_name: str = "accuracy") -> str:
    """The claim in words, for the check's table."""
    if isinstance(claim, MinimumBefore):
        return f"validation loss at its lowest before {claim.fraction:.0%} of the epochs"
    if isinstance(claim, StoppedEarly):
        return f"early stopping ends the run before epoch {claim.before}"
    what = _WORDS[claim.metric].format(m=metric_name)
    if claim.epoch is not None:
        what += " at epoch 0 (untrained)" if claim.epoch == 0 else f" at epoch {claim.epoch}"
    if claim.value is not None:
        target = _fmt(claim.value)
    elif claim.baseline is not None:
        target = _BASELINE_WORDS[claim.baseline]
    elif claim.than is not None:
        target = "the " + _WORDS[claim.than].format(m=metric_name)
    else:
        target = f"step {claim.step}'s"
    if claim.by is not None:
        target += f" {'-' if claim.by < 0 else '+'} {_fmt(abs(claim.by))}"
    within = f" (within {_fmt(claim.within)})" if claim.within is not None else ""
    return f"{what} {_OPS[claim.op]} {target}{within}"


def measure(run: RunResult, metric: str, epoch: int | None = None) -> float | None:
    """One figure of a run (see `Metric`); None when the run does not have it."""
    history = run.history
    if metric in EXTRAS:  # an epoch's extras: at `epoch`, else the kept epoch's (early stopping), else the last
        at = epoch if epoch is not None else run.done.get("best_epoch")
        row = (next((e for e in history if e.get("epoch") == at), None) if at is not None
               else (history[-1] if history else None))
        value = ((row or {}).get("extras") or {}).get(metric)
        return None if value is None else float(value)
    if epoch is not None:
        if epoch == 0:
            row = run.start
        else:
            row = next((e for e in history if e.get("epoch") == epoch), None)
        return None if row is None else row.get(metric)
    val_losses = [e["val_loss"] for e in history if e.get("val_loss") is not None]
    if metric == "min_val_loss":
        return min(val_losses) if val_losses else None
    if metric == "val_loss_rise":
        return val_losses[-1] - min(val_losses) if val_losses else None
    if metric == "gap":
        last = history[-1] if history else {}
        if last.get("val_loss") is None or last.get("loss") is None:
            return None
        return last["val_loss"] - last["loss"]
    value = run.done.get(metric)
    return None if value is None else float(value)


def measure_baseline(run: RunResult, baseline: str, metric: str) -> float | None:
    """A classical method's figure on the run's test images (`done["baselines"]`), or None."""
    value = ((run.done.get("baselines") or {}).get(baseline) or {}).get(metric)
    return None if value is None else float(value)


def _compare(a: float, op: str, b: float, within: float | None) -> bool:
    if op == "near":
        return abs(a - b) <= within
    return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b, "==": math.isclose(a, b)}[op]


def evaluate(claim, run: RunResult, others: Mapping[int, RunResult] | None = None) -> Outcome:
    """Whether `claim` holds on `run`; `others` are the lesson's other steps' runs (same seed),
    by 1-based step number. A figure the run lacks makes the claim not hold."""
    if isinstance(claim, MinimumBefore):
        losses = [(e["val_loss"], e["epoch"]) for e in run.history if e.get("val_loss") is not None]
        epochs = len(run.history)
        if not losses:
            return Outcome(False, "no validation loss")
        best = min(losses)[1]
        return Outcome(best <= claim.fraction * epochs, f"lowest at epoch {best} of {epochs}", [best])
    if isinstance(claim, StoppedEarly):
        state, epochs = run.done.get("state"), run.done.get("epochs")
        words = f"stopped early after {epochs} epochs" if state == "early_stopped" else f"{state} after {epochs} epochs"
        return Outcome(state == "early_stopped" and epochs < claim.before, words, [epochs])
    mine = measure(run, claim.metric, claim.epoch)
    if claim.baseline is not None or claim.than is not None:
        name = claim.baseline or claim.than
        other = (measure_baseline(run, claim.baseline, claim.metric) if claim.baseline is not None
                 else measure(run, claim.than, claim.epoch if claim.than in SERIES + EXTRAS else None))
        target = None if other is None else other + (claim.by or 0.0)
        words = f"{_fmt(mine)} ({name}: {_fmt(other)})"
        if claim.by is not None and mine is not None and other is not None:
            words = f"{_fmt(mine)} ({name}: {_fmt(other)}; difference {mine - other:+.3f})"
    elif claim.step is not None:
        other_run = (others or {}).get(claim.step)
        other = None if other_run is None else measure(other_run, claim.metric, claim.epoch)
        target = None if other is None else other + (claim.by or 0.0)
        words = f"{_fmt(mine)} (step {claim.step}: {_fmt(other)})"
        if claim.by is not None and mine is not None and other is not None:
            words = f"{_fmt(mine)} (step {claim.step}: {_fmt(other)}; difference {mine - other:+.3f})"
    else:
        target, words = claim.value, _fmt(mine)
    if mine is None or target is None:
        return Outcome(False, words, [mine])
    return Outcome(_compare(mine, claim.op, target, claim.within), words, [mine])
