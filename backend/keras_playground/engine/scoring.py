"""Scoring a trained, saved model on data it never saw (a challenge's hidden test set).

Points and generated images (shapes, cells) are drawn from the challenge's generator with a
seed nobody sees. The digits are not generated: there are only 1,797 of them, so another
seed would show the network digits it trained on (at other places). Their hidden test set
is the digits the challenge's data set does not draw, placed with the hidden seed.

A challenge's score is its `metric` (`challenge_metric`): the accuracy on a classification
set; on the microscope's images, the Dice of the foreground (`nuclei`: the pixels over all
the hidden images, as a run's test Dice) or the mean PSNR in dB against the clean images
(`nuclei-denoise`), of the saved U-Net on HIDDEN_MICROSCOPY whole images.
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
HIDDEN_MICROSCOPY = 48  # ... on the microscope (whole images of some 8 nuclei each: ~400 nuclei)
METRICS = {"segmentation": "dice", "restoration": "psnr"}  # a challenge's metric by its data set's kind


def challenge_metric(kind: str) -> str:
    """What a challenge on a data set of this kind ranks by: accuracy, dice or psnr (higher is better)."""
    return METRICS.get(kind, "accuracy")


def _load(model_bytes: bytes):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.keras"
        path.write_bytes(model_bytes)
        return keras.saving.load_model(path, compile=False)


def _outputs(model, inputs: np.ndarray, batch: int) -> np.ndarray:
    # Called eagerly, batch by batch: `predict` would build a tf.function for this one model
    # first (0.2 s and more, ten times the computing for 500 small images).
    return np.concatenate([keras.ops.convert_to_numpy(model(inputs[i:i + batch], training=False))
                           for i in range(0, max(len(inputs), 1), batch)])


def accuracy_of_saved_model(model_bytes: bytes, features: list[str], x: np.ndarray,
                            labels: np.ndarray, kind: str, input: str = "points") -> float:
    """The share of `labels` the .keras model predicts, from the points `x` (x1, x2; the
    run's `features` are computed from them) or the images `x` (as they are)."""
    model = _load(model_bytes)
    outputs = _outputs(model, network_inputs(x, features, input), 1024 if input == "points" else 256)
    predicted = (outputs[:, 0] > 0.5).astype(int) if kind == "binary" else outputs.argmax(-1)
    return float(np.mean(predicted == labels.astype(int)))


def hidden_test_set(dataset: dict, hidden_seed: int) -> tuple[np.ndarray, np.ndarray, str]:
    """A challenge's hidden test set from its data set spec (`dataset`) and a seed nobody
    sees: no run trained on it. HIDDEN_POINTS points or HIDDEN_IMAGES images from the
    generator; for the digits, up to HIDDEN_IMAGES of the digits the data set does not draw.
    The points or images, their labels, the kind."""
    spec = DatasetSpec.model_validate(dataset)
    kind = problem_of(spec)[0]
    if kind in METRICS:  # the microscope: whole images, their class maps or clean images
        data = make_dataset(spec.model_copy(update={"seed": hidden_seed, "n_train": HIDDEN_MICROSCOPY,
                                                    "n_val": 0, "n_test": 0}))
        return data.x_train, data.y_train, data.kind
    if spec.name == "digits":
        drawn = spec.n_train + spec.n_val + spec.n_test
        x, labels = digits_excluding(spec.seed, drawn, HIDDEN_IMAGES, np.random.default_rng(hidden_seed),
                                     spec.noise, **merged_params(spec))
        return x, labels, problem_of(spec)[0]
    size = HIDDEN_IMAGES if input_of(spec) == "image" else HIDDEN_POINTS
    data = make_dataset(spec.model_copy(update={"seed": hidden_seed, "n_train": size, "n_val": 0, "n_test": 0}))
    return data.x_train, data.y_train, data.kind


def microscopy_score_of_saved_model(model_bytes: bytes, x: np.ndarray, truth: np.ndarray, kind: str) -> float:
    """A saved U-Net's score on whole microscope images `x`: the Dice of its foreground
    (probability > 0.5; one channel, or 1 - the background's of three) against the class
    maps `truth` (segmentation), or its mean PSNR against the clean images (restoration)."""
    from ..data import microscopy as scope

    outputs = _outputs(_load(model_bytes), np.asarray(x, dtype=np.float32), 16)
    if kind == "segmentation":
        foreground = outputs[..., 0] if outputs.shape[-1] == 1 else 1.0 - outputs[..., 0]
        return float(scope.dice(foreground > 0.5, truth > 0))
    return float(np.mean([scope.psnr(r, c) for r, c in zip(outputs, truth)]))


def hidden_set_score(model_bytes: bytes, features: list[str], dataset: dict, hidden_seed: int) -> float:
    """A saved model's score on a challenge's hidden test set, in the challenge's metric
    (`challenge_metric`): accuracy, Dice or PSNR. Load, draw, predict: about 0.1 s for points,
    a few tenths of a second for a small CNN on images or a small U-Net on the microscope."""
    x, labels, kind = hidden_test_set(dataset, hidden_seed)
    if kind in METRICS:
        return microscopy_score_of_saved_model(model_bytes, x, labels, kind)
    return accuracy_of_saved_model(model_bytes, features, x, labels, kind,
                                   input_of(DatasetSpec.model_validate(dataset)))


# The name the scoring jobs call (jobs.scoring.score_run): the score, whatever the metric.
hidden_set_accuracy = hidden_set_score
