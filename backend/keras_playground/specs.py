"""The run spec, its limits and the training events: the contract every layer shares.

This is the ground floor: it imports nothing from the package. Pydantic checks the
shape of a spec (types, names, extra fields refused); `check_limits` checks every
number against one `Limits` table, so each bound is known in exactly one place and
every error names the field, the value and the allowed range.

>>> spec = parse_spec({"dataset": {"name": "line"}, "features": ["x1", "x2"],
...                    "layers": [], "training": {"epochs": 5}})
>>> spec.training.optimizer
'adam'
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError

# The vocabularies, each written once: pydantic checks the Literal, the catalog lists its names.
Feature = Literal["x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)"]
Activation = Literal["sigmoid", "tanh", "relu", "linear", "elu", "softplus"]
OptimizerName = Literal["sgd", "adam", "rmsprop", "adagrad"]
LossName = Literal["binary_crossentropy", "categorical_crossentropy", "mse", "mae"]
Regularization = Literal["none", "l1", "l2"]
ProblemKind = Literal["binary", "multiclass", "regression"]

FEATURES: tuple[str, ...] = get_args(Feature)
ACTIVATIONS: tuple[str, ...] = get_args(Activation)
OPTIMIZERS: tuple[str, ...] = get_args(OptimizerName)
LOSSES: tuple[str, ...] = get_args(LossName)
REGULARIZATIONS: tuple[str, ...] = get_args(Regularization)


class Limits(BaseModel):
    """Every bound a run spec is held to. Settings may lower or raise the maximums."""

    max_layers: int = 8
    max_units: int = 64
    max_points: int = 5000  # n_train + n_val + n_test
    min_train: int = 2
    max_epochs: int = 5000
    max_learning_rate: float = 10.0
    max_noise: float = 0.5
    max_seed: int = 2**31 - 1
    max_dropout: float = 0.9
    max_regularization: float = 1.0
    max_momentum: float = 0.99
    max_patience: int = 1000
    max_frame_every: int = 1000
    max_abs_coordinate: float = 1e6  # |x1|, |x2| of custom points and CSV rows


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DatasetSpec(_Strict):
    """Which data set to draw, how many points for each split, and with what seed."""

    name: str = "parabola"
    n_train: int = 300
    n_val: int = 50
    n_test: int = 50
    noise: float = 0.0
    seed: int = 7
    params: dict[str, float] = Field(default_factory=dict)
    # Only for name == "custom": [x1, x2, label] rows, drawn on the page or from a CSV.
    points: list[tuple[float, float, float]] | None = None


class LayerSpec(_Strict):
    """One hidden Dense layer."""

    units: int = 4
    activation: Activation = "relu"
    dropout: float = 0.0


class TrainingSpec(_Strict):
    optimizer: OptimizerName = "adam"
    learning_rate: float = 0.01
    momentum: float = 0.0  # sgd only
    loss: LossName | None = None  # None: the natural loss of the problem kind
    batch_size: int = 16
    epochs: int = 200
    seed: int = 1
    shuffle: bool = True
    regularization: Regularization = "none"
    regularization_rate: float = 0.0
    early_stopping_patience: int | None = None  # epochs without a better val loss
    frame_every: int = 1  # a frame every N epochs (first and last always)


class RunSpec(_Strict):
    dataset: DatasetSpec = Field(default_factory=DatasetSpec)
    features: list[Feature] = Field(default_factory=lambda: ["x1", "x2"])
    layers: list[LayerSpec] = Field(default_factory=list)
    training: TrainingSpec = Field(default_factory=TrainingSpec)


class Problem(BaseModel):
    """One thing wrong with a spec: where (dotted path), and what, in words."""

    field: str
    message: str


class Refusal(Exception):
    """A request the server refuses (bad input, a wrong token, a limit, try later): each
    kind carries its HTTP status and headers, so the HTTP layer never has to guess them."""

    status: int = 400

    @property
    def detail(self) -> Any:
        """The JSON body's `detail`: words, or a list of {field, msg}."""
        return str(self)

    @property
    def headers(self) -> dict[str, str] | None:
        return None


class TryLater(Refusal):
    """A refusal that passes: the request may be sent again in `retry_after` seconds."""

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.message, self.retry_after = message, retry_after

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class SpecError(Refusal, ValueError):
    """An invalid spec or request (422); `problems` lists each field at fault with its bound."""

    status = 422

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in problems))

    @classmethod
    def of(cls, field: str, message: str) -> "SpecError":
        """One field at fault."""
        return cls([Problem(field=field, message=message)])

    @property
    def detail(self) -> list[dict]:
        return [{"field": p.field, "msg": p.message} for p in self.problems]


def field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    """('layers', 1, 'units') -> 'layers[1].units'."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def format_bound(value: float) -> str:
    """2147483647 as 2147483647 (not 2.14748e+09), 0.5 as 0.5."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def range_problem(field: str, value: float, low: float, high: float, *,
                  low_open: bool = False) -> Problem | None:
    """The one wording of a number outside its bounds ("500 is out of range [1, 64]"),
    or None when `value` is within [low, high] (or (low, high] with `low_open`)."""
    bad = not math.isfinite(value) or value > high or (value <= low if low_open else value < low)
    if not bad:
        return None
    left = "(" if low_open else "["
    return Problem(field=field, message=f"{value!r} is out of range {left}{format_bound(low)}, {format_bound(high)}]")


def check_range(field: str, value: float, low: float, high: float, *, low_open: bool = False) -> None:
    """Raise SpecError (422, naming `field` and the bounds) when `value` is out of range."""
    problem = range_problem(field, value, low, high, low_open=low_open)
    if problem is not None:
        raise SpecError([problem])


def check_limits(spec: RunSpec, limits: Limits) -> list[Problem]:
    """Every number of the spec against its bound; data-set rules live in the data layer."""
    problems: list[Problem] = []
    d, t = spec.dataset, spec.training

    def rng(path: str, value: float, low: float, high: float, low_open: bool = False) -> None:
        problem = range_problem(path, value, low, high, low_open=low_open)
        if problem is not None:
            problems.append(problem)

    rng("dataset.n_train", d.n_train, limits.min_train, limits.max_points)
    rng("dataset.n_val", d.n_val, 0, limits.max_points)
    rng("dataset.n_test", d.n_test, 0, limits.max_points)
    total = d.n_train + d.n_val + d.n_test
    if total > limits.max_points:
        problems.append(Problem(field="dataset", message=(
            f"n_train + n_val + n_test = {total} is above the maximum {limits.max_points}")))
    rng("dataset.noise", d.noise, 0, limits.max_noise)
    rng("dataset.seed", d.seed, 0, limits.max_seed)
    for name, value in d.params.items():
        if not math.isfinite(value):
            problems.append(Problem(field=f"dataset.params.{name}", message=f"{value!r} is not a finite number"))
    if not spec.features:
        problems.append(Problem(field="features", message="choose at least one input feature"))
    if len(set(spec.features)) != len(spec.features):
        problems.append(Problem(field="features", message="a feature is listed twice"))
    if len(spec.layers) > limits.max_layers:
        problems.append(Problem(field="layers", message=(
            f"{len(spec.layers)} hidden layers is above the maximum {limits.max_layers}")))
    for i, layer in enumerate(spec.layers):
        rng(f"layers[{i}].units", layer.units, 1, limits.max_units)
        rng(f"layers[{i}].dropout", layer.dropout, 0, limits.max_dropout)
    rng("training.learning_rate", t.learning_rate, 0, limits.max_learning_rate, low_open=True)
    rng("training.momentum", t.momentum, 0, limits.max_momentum)
    rng("training.epochs", t.epochs, 1, limits.max_epochs)
    rng("training.batch_size", t.batch_size, 1, max(d.n_train, 1))
    rng("training.seed", t.seed, 0, limits.max_seed)
    rng("training.regularization_rate", t.regularization_rate, 0, limits.max_regularization)
    rng("training.frame_every", t.frame_every, 1, limits.max_frame_every)
    if t.early_stopping_patience is not None:
        rng("training.early_stopping_patience", t.early_stopping_patience, 1, limits.max_patience)
        if d.n_val == 0:
            problems.append(Problem(field="training.early_stopping_patience",
                                    message="early stopping watches the validation loss: set dataset.n_val >= 1"))
    return problems


def parse_spec(raw: Any, limits: Limits | None = None) -> RunSpec:
    """Validate a JSON-like spec (shape and bounds); raise SpecError naming each field at fault."""
    try:
        spec = RunSpec.model_validate(raw)
    except ValidationError as exc:
        raise SpecError([
            Problem(field=field_path(e["loc"]) or "spec",
                    message=f"{e['msg']} (got {e['input']!r})" if e["type"] != "missing" else e["msg"])
            for e in exc.errors(include_url=False)
        ]) from None
    problems = check_limits(spec, limits or Limits())
    if problems:
        raise SpecError(problems)
    return spec


# ----- Events: what a run emits, in order; the stream protocol carries them as JSON. -----

RunState = Literal["queued", "running", "paused", "finished", "stopped", "early_stopped",
                   "diverged", "failed", "interrupted"]
FINAL_STATES = ("finished", "stopped", "early_stopped", "diverged", "failed", "interrupted")


class StatusEvent(BaseModel):
    kind: Literal["status"] = "status"
    state: RunState
    epoch: int = 0
    queue_position: int | None = None
    message: str | None = None
    worker: str | None = None  # who trains it, on a lab server (host:pid)


class EpochEvent(BaseModel):
    """Metrics of one finished epoch. `metric` is accuracy (classification) or mae."""

    kind: Literal["epoch"] = "epoch"
    epoch: int  # 1-based
    loss: float | None  # None when not finite (see the `diverged` state)
    metric: float | None
    val_loss: float | None = None
    val_metric: float | None = None
    learning_rate: float
    seconds: float  # wall time of this epoch's training


class StartEvent(BaseModel):
    """The untrained network (random weights, zero bias) before its first update: epoch 0.
    Its loss and metric are evaluated on the whole training and validation sets."""

    kind: Literal["start"] = "start"
    epoch: Literal[0] = 0
    loss: float | None
    metric: float | None
    val_loss: float | None = None
    val_metric: float | None = None


class LayerWeights(BaseModel):
    kernel: list[list[float]]  # [inputs][units]
    bias: list[float]


class FrameEvent(BaseModel):
    """What the model computes over the plane after an epoch, quantized to uint8.

    `boundary` is base64 of a resolution x resolution uint8 grid, row-major, rows from
    the bottom (y_min) up. Binary: probability * 255. Multi-class: the class index.
    Regression: the output mapped from [output_min, output_max] to 0..255.
    `neurons[l][u]` is base64 of a thumb x thumb uint8 map of hidden layer l, unit u,
    mapped from that neuron's own [low, high] (`neuron_ranges[l][u]`).
    """

    kind: Literal["frame"] = "frame"
    epoch: int
    resolution: int
    extent: tuple[float, float, float, float]  # x_min, x_max, y_min, y_max
    boundary: str
    output_min: float = 0.0
    output_max: float = 1.0
    thumb: int
    neurons: list[list[str]]
    neuron_ranges: list[list[tuple[float, float]]]
    weights: list[LayerWeights]


class DoneEvent(BaseModel):
    kind: Literal["done"] = "done"
    state: RunState
    epochs: int  # epochs trained
    loss: float | None
    metric: float | None
    val_loss: float | None
    val_metric: float | None
    test_loss: float | None
    test_metric: float | None
    metric_name: Literal["accuracy", "mae"]
    confusion_matrix: list[list[int]] | None  # [true][predicted], test set
    parameters: int
    message: str | None = None
    # With early stopping: the epoch whose weights were kept (the lowest val_loss, as Keras's
    # restore_best_weights); the final frame, the test figures and the model are of it.
    best_epoch: int | None = None


class ErrorEvent(BaseModel):
    kind: Literal["error"] = "error"
    message: str


Event = Annotated[StatusEvent | StartEvent | EpochEvent | FrameEvent | DoneEvent | ErrorEvent,
                  Field(discriminator="kind")]
