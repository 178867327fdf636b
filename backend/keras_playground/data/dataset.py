"""Draw a spec's data set and split it: train, validation, test, exactly the asked sizes.

Points are (x1, x2) rows; images are (n, height, width, channels) arrays in [0, 1]."""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np

from ..specs import DatasetSpec
from .catalog import CUSTOM, DATASETS
from .features import compute_features

MARGIN = 0.1  # share of the data's width added on each side of the plotted extent
GALLERY = 100  # images of a run the page shows predictions for (and picks a probe from)


@dataclass(frozen=True)
class Dataset:
    x_train: np.ndarray  # raw (x1, x2), shape (n, 2); or images (n, height, width, channels)
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    kind: str
    n_classes: int
    extent: tuple[float, float, float, float]  # x_min, x_max, y_min, y_max, with a margin
    input: str = "points"  # points | image
    class_names: tuple[str, ...] = ()

    @property
    def shape(self) -> tuple[int, ...]:
        """One example's shape as the network takes it (images) or as drawn (points)."""
        return tuple(self.x_train.shape[1:])


def merged_params(spec: DatasetSpec) -> dict:
    """The spec's parameters over the data set's defaults, integers as int."""
    info = DATASETS[spec.name]
    merged = {}
    for p in info.params:
        value = spec.params.get(p.name, p.default)
        merged[p.name] = int(round(value)) if p.integer else float(value)
    return merged


def problem_of(spec: DatasetSpec) -> tuple[str, int]:
    """(kind, n_classes) of a data set, without drawing it."""
    if spec.name == CUSTOM:
        classes = {int(p[2]) for p in spec.points or []}
        n = max(classes) + 1 if classes else 2
        return ("binary" if n <= 2 else "multiclass"), max(n, 2)
    info = DATASETS[spec.name]
    return info.kind, info.n_classes(merged_params(spec))


def _extent(xy: np.ndarray) -> tuple[float, float, float, float]:
    low, high = xy.min(axis=0), xy.max(axis=0)
    pad = np.maximum(high - low, 1e-6) * MARGIN
    return (float(low[0] - pad[0]), float(high[0] + pad[0]), float(low[1] - pad[1]), float(high[1] + pad[1]))


def make_dataset(spec: DatasetSpec) -> Dataset:
    """Draw n_train + n_val + n_test points from the spec's seed and split them in order."""
    rng = np.random.default_rng(spec.seed)
    n = spec.n_train + spec.n_val + spec.n_test
    if spec.name == CUSTOM:
        points = np.asarray(spec.points, dtype=float)
        points = points[rng.permutation(len(points))][:n]
        xy, labels = points[:, :2], points[:, 2].astype(np.int64)
    elif DATASETS[spec.name].kind in ("segmentation", "restoration"):
        # Labels are maps: the three classes of each pixel, or the clean image to restore.
        scope = DATASETS[spec.name].generator(n, rng, spec.noise, **merged_params(spec))
        xy, labels = scope.images, scope.classes if DATASETS[spec.name].kind == "segmentation" else scope.clean
    else:
        xy, labels = DATASETS[spec.name].generator(n, rng, spec.noise, **merged_params(spec))
    kind, n_classes = problem_of(spec)
    a, b = spec.n_train, spec.n_train + spec.n_val
    info = DATASETS.get(spec.name)
    if info is not None and info.input == "image":
        height, width = xy.shape[1:3]
        return Dataset(xy[:a], labels[:a], xy[a:b], labels[a:b], xy[b:], labels[b:], kind, n_classes,
                       (0.0, float(width), 0.0, float(height)), "image", info.class_names)
    return Dataset(xy[:a], labels[:a], xy[a:b], labels[a:b], xy[b:], labels[b:], kind, n_classes,
                   _extent(xy))


def gallery_split(ds: Dataset, size: int = GALLERY) -> tuple[np.ndarray, np.ndarray]:
    """The images a run's gallery shows: the first test images; without a test set, the
    validation (else the training) images."""
    x, y = next((x, y) for x, y in ((ds.x_test, ds.y_test), (ds.x_val, ds.y_val),
                                    (ds.x_train, ds.y_train)) if len(x))
    return x[:size], y[:size]


def probe_split(ds: Dataset) -> tuple[np.ndarray, np.ndarray]:
    """The images a microscopy run's probe comes from: validation images (what the run is
    judged on while it trains); without any, test, else training images."""
    return next((x, y) for x, y in ((ds.x_val, ds.y_val), (ds.x_test, ds.y_test),
                                    (ds.x_train, ds.y_train)) if len(x))


def input_of(spec: DatasetSpec) -> str:
    """What a data set feeds the network: points or image."""
    info = DATASETS.get(spec.name)
    return info.input if info is not None else "points"


def network_inputs(x: np.ndarray, features: list[str], input: str) -> np.ndarray:
    """What the network takes: the chosen features of points, or the images as they are."""
    if input == "image":
        return np.asarray(x, dtype=np.float32)
    return compute_features(x, features)


def to_npz(ds: Dataset) -> bytes:
    """The images and labels of each split, as numpy's .npz (x_train, y_train, ...)."""
    out = io.BytesIO()
    np.savez_compressed(out, x_train=ds.x_train, y_train=ds.y_train, x_val=ds.x_val, y_val=ds.y_val,
                        x_test=ds.x_test, y_test=ds.y_test, classes=np.array(ds.class_names))
    return out.getvalue()


def to_csv(ds: Dataset) -> str:
    """The points as CSV: split,x1,x2,label."""
    out = io.StringIO()
    out.write("split,x1,x2,label\n")
    integer = ds.kind != "regression"
    for split, xy, labels in (("train", ds.x_train, ds.y_train), ("val", ds.x_val, ds.y_val),
                              ("test", ds.x_test, ds.y_test)):
        for (x1, x2), label in zip(xy, labels):
            out.write(f"{split},{x1:.6g},{x2:.6g},{int(label) if integer else f'{label:.6g}'}\n")
    return out.getvalue()
