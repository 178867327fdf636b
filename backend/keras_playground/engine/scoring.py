"""Scoring a trained, saved model on data it never saw (a challenge's hidden test set).

Points and generated images (shapes, cells) are drawn from the challenge's generator with a
seed nobody sees. The digits are not generated: there are only 1,797 of them, so another
seed would show the network digits it trained on (at other places). Their hidden test set
is the digits the challenge's data set does not draw, placed with the hidden seed.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import keras
import numpy as np

from ..data import input_of, make_dataset, merged_params, network_inputs, problem_of
from ..data.images import digits_excluding
from ..specs import DatasetSpec

HIDDEN_POINTS = 1000  # the hidden test set of a challenge on points
HIDDEN_IMAGES = 500  # ... on images (a digits challenge: at most this many of the unseen digits)


def accuracy_of_saved_model(model_bytes: bytes, features: list[str], x: np.ndarray,
                            labels: np.ndarray, kind: str, input: str = "points") -> float:
    """The share of `labels` the .keras model predicts, from the points `x` (x1, x2; the
    run's `features` are computed from them) or the images `x` (as they are)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.keras"
        path.write_bytes(model_bytes)
        model = keras.saving.load_model(path, compile=False)
    inputs = network_inputs(x, features, input)
    # Called eagerly, batch by batch: `predict` would build a tf.function for this one model
    # first (0.2 s and more, ten times the computing for 500 small images).
    batch = 1024 if input == "points" else 256
    outputs = np.concatenate([keras.ops.convert_to_numpy(model(inputs[i:i + batch], training=False))
                              for i in range(0, max(len(inputs), 1), batch)])
    predicted = (outputs[:, 0] > 0.5).astype(int) if kind == "binary" else outputs.argmax(-1)
    return float(np.mean(predicted == labels.astype(int)))


def hidden_test_set(dataset: dict, hidden_seed: int) -> tuple[np.ndarray, np.ndarray, str]:
    """A challenge's hidden test set from its data set spec (`dataset`) and a seed nobody
    sees: no run trained on it. HIDDEN_POINTS points or HIDDEN_IMAGES images from the
    generator; for the digits, up to HIDDEN_IMAGES of the digits the data set does not draw.
    The points or images, their labels, the kind."""
    spec = DatasetSpec.model_validate(dataset)
    if spec.name == "digits":
        drawn = spec.n_train + spec.n_val + spec.n_test
        x, labels = digits_excluding(spec.seed, drawn, HIDDEN_IMAGES, np.random.default_rng(hidden_seed),
                                     spec.noise, **merged_params(spec))
        return x, labels, problem_of(spec)[0]
    size = HIDDEN_IMAGES if input_of(spec) == "image" else HIDDEN_POINTS
    data = make_dataset(spec.model_copy(update={"seed": hidden_seed, "n_train": size, "n_val": 0, "n_test": 0}))
    return data.x_train, data.y_train, data.kind


def hidden_set_accuracy(model_bytes: bytes, features: list[str], dataset: dict, hidden_seed: int) -> float:
    """A saved model's accuracy on a challenge's hidden test set (load, draw, predict: about
    0.1 s for points, a few tenths of a second for a small CNN on images)."""
    x, labels, kind = hidden_test_set(dataset, hidden_seed)
    return accuracy_of_saved_model(model_bytes, features, x, labels, kind,
                                   input_of(DatasetSpec.model_validate(dataset)))
