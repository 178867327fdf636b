"""Scoring a trained, saved model on points it never saw (a challenge's hidden test set)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import keras
import numpy as np

from ..data import compute_features


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
