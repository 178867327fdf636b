"""The data sets the playground offers: what they feed (points or images), their kind,
parameters with ranges, and noise."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from . import generators, images, microscopy


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
    input: str = "points"  # points | image
    class_names: tuple[str, ...] = ()  # images: each class's name, in label order
    side_param: str | None = None  # images: the parameter that sets the side (square images)
    most: int | None = None  # how many distinct examples exist, when there is a limit
    # A starting point the page applies on choosing the data set: sizes, layers, training.
    suggested: dict | None = None

    def n_classes(self, params: dict | None = None) -> int:
        """2 for binary, the `classes` parameter (or the named classes) for multi-class,
        0 for regression."""
        if self.kind in ("binary", "segmentation"):
            return 2
        if self.class_names:
            return len(self.class_names)
        if self.kind == "multiclass":
            return int((params or {}).get("classes", self.defaults()["classes"]))
        return 0

    def defaults(self) -> dict[str, float]:
        return {p.name: p.default for p in self.params}

    def shape(self, params: dict | None = None) -> tuple[int, ...] | None:
        """An image's (height, width, channels) for these parameters; None for points."""
        if self.input != "image":
            return None
        side = int(round((params or {}).get(self.side_param, self.defaults()[self.side_param])))
        return (side, side, 1)


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

PIXELS = ("Noise adds to every pixel a random Gaussian amount with this standard deviation "
          "(values stay within 0 to 1); the labels stay right.")


def _suggested(n_train: int, n_val: int, n_test: int, epochs: int, layers: list[dict], rate: float) -> dict:
    return {"dataset": {"n_train": n_train, "n_val": n_val, "n_test": n_test},
            "layers": layers, "training": {"optimizer": "adam", "learning_rate": rate,
                                           "batch_size": 32, "epochs": epochs}}


# Starting points measured to learn in a few seconds (3 seeds each): the digits CNN keeps
# the canvas's size through its convolutions ("same"), 11,034 parameters, 81-87 % test
# accuracy in 15 epochs; the smaller one gets 82-86 % on shapes and all cells right.
DIGITS_CNN = [{"type": "conv2d", "filters": 16, "kernel_size": 3, "padding": "same"},
              {"type": "maxpool2d", "pool_size": 2},
              {"type": "conv2d", "filters": 16, "kernel_size": 3, "padding": "same"},
              {"type": "maxpool2d", "pool_size": 2}, {"type": "flatten"}, {"type": "dense", "units": 32}]
SMALL_CNN = [{"type": "conv2d", "filters": 8, "kernel_size": 3}, {"type": "maxpool2d", "pool_size": 2},
             {"type": "conv2d", "filters": 16, "kernel_size": 3}, {"type": "maxpool2d", "pool_size": 2},
             {"type": "flatten"}, {"type": "dense", "units": 32}]

_IMAGES = [
    DatasetInfo("digits", "Digits (shifted)", "multiclass",
                "scikit-learn's 1,797 handwritten 8x8 digits, each at a random place on a larger "
                "canvas: where a digit sits varies, what it is does not.",
                PIXELS, (Param("canvas", 16, 8, 32, "side of the canvas, in pixels", integer=True),),
                images.digits, "Ex4", input="image", class_names=images.DIGIT_CLASSES,
                side_param="canvas", most=images.DIGITS_AVAILABLE,
                suggested=_suggested(1000, 200, 300, 15, DIGITS_CNN, 0.005)),
    DatasetInfo("shapes", "Shapes", "multiclass",
                "A circle, square, triangle or cross in each image, of any size, place, angle and "
                "brightness.", PIXELS,
                (Param("size", 24, 16, 32, "side of each image, in pixels", integer=True),),
                images.shapes, input="image", class_names=images.SHAPE_CLASSES, side_param="size",
                suggested=_suggested(1000, 200, 300, 10, SMALL_CNN, 0.01)),
    DatasetInfo("cells", "Cells: round or crenated", "binary",
                "Fluorescence-like cells, round or crenated (spiky): a stand-in for the course's "
                "red blood cells, good or bad.", PIXELS,
                (Param("size", 32, 24, 48, "side of each image, in pixels", integer=True),),
                images.cells, "Ex5", input="image", class_names=images.CELL_CLASSES, side_param="size",
                suggested=_suggested(600, 150, 300, 15, SMALL_CNN, 0.01)),
]

MICROSCOPY = ("segmentation", "restoration")
CAMERA = ("Noise is the camera's read-out noise: Gaussian, with this standard deviation, on top of the "
          "shot noise of counting `photons` photons at full brightness (there even at noise 0).")
_SCOPE = (Param("size", 64, 32, 128, "side of each image, in pixels (a multiple of 16)", integer=True),
          Param("count", 8, 1, 20, "nuclei per image, on average"),
          Param("radius", 6, 3, 12, "mean radius of a nucleus, in pixels"),
          Param("blur", 1, 0, 3, "standard deviation of the microscope's blur (point-spread function), in pixels"),
          Param("photons", 40, 2, 1000, "photons counted at full brightness: fewer, noisier"))
_MICROSCOPE = [
    DatasetInfo("nuclei", "Nuclei: segmentation", "segmentation",
                "A synthetic fluorescence microscope: stained nuclei, some touching, on an uneven "
                "background, blurred and noisy; each image with its exact masks (nucleus or not; "
                "background, interior, boundary).", CAMERA, _SCOPE, microscopy.nuclei, "Ex6",
                input="image", class_names=("background", "nucleus"), side_param="size",
                suggested={"dataset": {"n_train": 24, "n_val": 8, "n_test": 8},
                           "unet": {"depth": 2, "base_filters": 8, "output": "foreground", "patch": 64},
                           "training": {"optimizer": "adam", "learning_rate": 0.005, "batch_size": 8,
                                        "epochs": 40, "loss": "bce_dice"}}),
    DatasetInfo("nuclei-denoise", "Nuclei: denoising", "restoration",
                "The same microscope; the network learns the clean image from the noisy one, as "
                "CARE does.", CAMERA, (*_SCOPE[:4], Param("photons", 10, 2, 1000, _SCOPE[4].doc)),
                microscopy.nuclei, input="image", side_param="size",
                # No batch normalization: it shifts intensities, which a restoration must keep
                # (CARE's networks have none); measured, it cost 1-3 dB on some seeds.
                suggested={"dataset": {"n_train": 48, "n_val": 8, "n_test": 8, "noise": 0.05},
                           "unet": {"depth": 2, "base_filters": 8, "batchnorm": False, "output": "restored",
                                    "patch": 64},
                           "training": {"optimizer": "adam", "learning_rate": 0.003, "batch_size": 8,
                                        "epochs": 60, "loss": "mse"}}),
]

DATASETS: dict[str, DatasetInfo] = {info.name: info for info in [*_ALL, *_IMAGES, *_MICROSCOPE]}
CUSTOM = "custom"


def catalog_entries() -> list[dict]:
    """The data sets as the HTTP catalog lists them, course exercises first, then `custom`."""
    entries = [{
        "name": info.name, "title": info.title, "kind": info.kind, "description": info.description,
        "noise_doc": info.noise_doc, "course": info.course, "input": info.input,
        **({"shape": list(info.shape()), "classes": list(info.class_names), "most": info.most,
            "suggested": info.suggested} if info.input == "image" else {}),
        "params": [{"name": p.name, "default": p.default, "low": p.low, "high": p.high, "doc": p.doc,
                    "integer": p.integer} for p in info.params],
    } for info in DATASETS.values()]
    entries.append({
        "name": CUSTOM, "title": "Your own points", "kind": "binary or multiclass",
        "description": "Points drawn on the page or uploaded as CSV (x1,x2,label; labels 0 to 4).",
        "noise_doc": "Not used: your own points are taken as they are.", "course": None,
        "input": "points", "params": [],
    })
    return entries
