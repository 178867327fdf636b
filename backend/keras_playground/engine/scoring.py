"""Scoring a trained, saved model on points it never saw (a challenge's hidden test set)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import keras
import numpy as np

from ..data import compute_features, make_dataset
from ..specs import DatasetSpec

HIDDEN_POINTS = 1000  # the hidden test set of a challenge


def accuracy_of_saved_model(model_bytes: bytes, features: list[str], xy: np.ndarray,
                            labels: np.ndarray, kind: str) -> float:
    """The share of `labels` the .keras model predicts, from the points `xy` (x1, x2)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.keras"
        path.write_bytes(model_bytes)
        model = keras.saving.load_model(path, compile=False)
    outputs = model.predict(compute_features(xy, features), verbose=0, batch_size=1024)
    predicted = (outputs[:, 0] > 0.5).astype(int) if kind == "binary" else outputs.argmax(-1)
    return float(np.mean(predicted == labels.astype(int)))


def hidden_test_set(dataset: dict, hidden_seed: int) -> tuple[np.ndarray, np.ndarray, str]:
    """HIDDEN_POINTS points from a challenge's generator (`dataset`, a data set spec) and a
    seed nobody sees: no run trained on them. The points, their labels, the kind."""
    spec = DatasetSpec.model_validate({**dataset, "seed": hidden_seed,
                                       "n_train": HIDDEN_POINTS, "n_val": 0, "n_test": 0})
    data = make_dataset(spec)
    return data.x_train, data.y_train, data.kind


def hidden_set_accuracy(model_bytes: bytes, features: list[str], dataset: dict, hidden_seed: int) -> float:
    """A saved model's accuracy on a challenge's hidden test set (about 0.1 s: load, predict)."""
    xy, labels, kind = hidden_test_set(dataset, hidden_seed)
    return accuracy_of_saved_model(model_bytes, features, xy, labels, kind)
