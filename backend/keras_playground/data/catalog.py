"""The data sets the playground offers: their kind, parameters with ranges, and noise."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from . import generators


@dataclass(frozen=True)
class Param:
    name: str
    default: float
    low: float
    high: float
    doc: str
    integer: bool = False


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    title: str
    kind: str  # binary | multiclass | regression
    description: str
    noise_doc: str
    params: tuple[Param, ...]
    generator: Callable
    course: str | None = None  # the course exercise it serves (Ex1, Ex2, Ex3)

    def n_classes(self, params: dict | None = None) -> int:
        """2 for binary, the `classes` parameter for multi-class, 0 for regression."""
        if self.kind == "binary":
            return 2
        if self.kind == "multiclass":
            return int((params or {}).get("classes", self.defaults()["classes"]))
        return 0

    def defaults(self) -> dict[str, float]:
        return {p.name: p.default for p in self.params}


# What "noise" does to each data set, as the page shows it under the noise field (checked
# against the generators by tests/data/test_datasets.py).
FLIPS = ("Noise flips labels: each point gets the other class with this probability "
         "(0 to 0.5); the points stay where they are.")
JITTER = ("Noise jitters the points: each coordinate moves by a random Gaussian amount with this "
          "standard deviation; a point keeps the label of where it was drawn.")
SPREAD = ("Noise widens the clouds: it is added to each cloud's standard deviation, so the "
          "classes overlap more; the labels stay right.")
TARGET = ("Noise jitters the target: a random Gaussian amount with this standard deviation is "
          "added to each point's value.")

_ALL = [
    DatasetInfo("line", "Line (Ex1)", "binary",
                "Points in [-1, 1]²; label 1 below the line y = a·x + b. One neuron can separate them.",
                FLIPS, (Param("a", 0.5, -5, 5, "slope"), Param("b", 0.1, -1, 1, "intercept")),
                generators.line, "Ex1"),
    DatasetInfo("parabola", "Parabola (Ex2)", "binary",
                "Label 1 below the parabola y = a·x² + b·x + c: not linearly separable.",
                FLIPS, (Param("a", 2.0, -5, 5, "curvature"), Param("b", 0.0, -5, 5, "linear term"),
                        Param("c", -1.0, -2, 2, "offset")),
                generators.parabola, "Ex2"),
    DatasetInfo("course_spiral", "Spiral challenge (Ex3)", "binary",
                "Two arms of a spiral, r = a·t, each coordinate widened by its own u, v in [-b, b], "
                "some labels flipped, standardized.",
                "Noise flips more labels: each point gets the other class with the probability flip + "
                "noise; the points stay where they are.",
                (Param("a", 0.25, 0.05, 1, "radius growth per radian"),
                 Param("b", 0.5, 0, 2, "half-width of each arm"),
                 Param("flip", 0.05, 0, 0.5, "share of labels flipped"),
                 Param("standardize", 1.0, 0, 1, "1: standardize the coordinates, 0: raw", integer=True)),
                generators.course_spiral, "Ex3"),
    DatasetInfo("circle", "Circle", "binary", "A disc inside a ring.", JITTER,
                (Param("radius", 0.5, 0.2, 0.8, "radius of the border between the classes"),),
                generators.circle),
    DatasetInfo("xor", "Exclusive or", "binary", "Four quadrants: label 1 where x·y > 0.", JITTER, (),
                generators.xor),
    DatasetInfo("gaussian", "Two blobs", "binary", "Two Gaussian clouds, one per class.", SPREAD,
                (Param("distance", 0.5, 0, 1, "distance of each centre from the origin, per axis"),
                 Param("spread", 0.2, 0.01, 1, "standard deviation of each blob")),
                generators.gaussian),
    DatasetInfo("spiral", "Spiral", "binary", "Two interleaved spirals.", JITTER,
                (Param("turns", 1.5, 0.5, 3, "turns of each arm"),), generators.spiral),
    DatasetInfo("blobs", "Several blobs", "multiclass",
                "3 to 5 Gaussian clouds on a circle, one class each (softmax output).", SPREAD,
                (Param("classes", 3, 3, 5, "number of classes", integer=True),
                 Param("spread", 0.15, 0.01, 1, "standard deviation of each blob")),
                generators.blobs),
    DatasetInfo("plane", "Plane (regression)", "regression", "A real-valued target a·x + b·y.", TARGET,
                (Param("a", 1.0, -5, 5, "slope along x1"), Param("b", -1.0, -5, 5, "slope along x2")),
                generators.plane),
    DatasetInfo("multi_gaussian", "Bumps (regression)", "regression",
                "A real-valued target: Gaussian bumps of either sign.", TARGET, (),
                generators.multi_gaussian),
]

DATASETS: dict[str, DatasetInfo] = {info.name: info for info in _ALL}
CUSTOM = "custom"


def catalog_entries() -> list[dict]:
    """The data sets as the HTTP catalog lists them, course exercises first, then `custom`."""
    entries = [{
        "name": info.name, "title": info.title, "kind": info.kind, "description": info.description,
        "noise_doc": info.noise_doc, "course": info.course,
        "params": [{"name": p.name, "default": p.default, "low": p.low, "high": p.high, "doc": p.doc,
                    "integer": p.integer} for p in info.params],
    } for info in DATASETS.values()]
    entries.append({
        "name": CUSTOM, "title": "Your own points", "kind": "binary or multiclass",
        "description": "Points drawn on the page or uploaded as CSV (x1,x2,label; labels 0 to 4).",
        "noise_doc": "Not used: your own points are taken as they are.", "course": None, "params": [],
    })
    return entries
