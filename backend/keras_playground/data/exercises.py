"""The course's exercises: the settings each one starts from.

The page offers them as buttons (Ex1, Ex2, Ex3) and as links (`/?exercise=ex1`); the
catalog serves them (`GET /api/catalog` -> `exercises`, `default_exercise`), so the page
holds no copy. Each spec is a run spec as a page sends it; a test validates every one.
"""

from __future__ import annotations

import copy

EXERCISES: tuple[dict, ...] = (
    {
        "id": "ex1", "title": "Ex1 · line",
        "hint": "One neuron on linearly separable points (optimizer 'sgd': learning rate 0.01, batch 4, 50 epochs).",
        "spec": {
            "dataset": {"name": "line", "n_train": 100, "n_val": 50, "n_test": 50, "noise": 0, "seed": 7,
                        "params": {"a": 0.5, "b": 0.1}},
            "features": ["x1", "x2"], "layers": [],
            "training": {"optimizer": "sgd", "learning_rate": 0.01, "loss": "binary_crossentropy",
                         "batch_size": 4, "epochs": 50, "seed": 1},
        },
    },
    {
        "id": "ex2", "title": "Ex2 · parabola",
        "hint": "Not linearly separable: try one neuron, then add a hidden layer.",
        "spec": {
            "dataset": {"name": "parabola", "n_train": 300, "n_val": 50, "n_test": 50, "noise": 0, "seed": 7,
                        "params": {"a": 2, "b": 0, "c": -1}},
            "features": ["x1", "x2"], "layers": [],
            "training": {"optimizer": "adam", "learning_rate": 0.01, "loss": "binary_crossentropy",
                         "batch_size": 16, "epochs": 200, "seed": 1},
        },
    },
    {
        "id": "ex3", "title": "Ex3 · spiral",
        "hint": "The challenge: design a network that separates the spiral.",
        "spec": {
            "dataset": {"name": "course_spiral", "n_train": 400, "n_val": 100, "n_test": 100, "noise": 0,
                        "seed": 7, "params": {"flip": 0.1}},
            "features": ["x1", "x2"],
            # 149 parameters: under a challenge's default limit of 200, so it can be submitted.
            "layers": [{"units": 12, "activation": "relu"}, {"units": 8, "activation": "relu"}],
            "training": {"optimizer": "adam", "learning_rate": 0.01, "loss": "binary_crossentropy",
                         "batch_size": 16, "epochs": 300, "seed": 1},
        },
    },
)

DEFAULT_EXERCISE = "ex2"  # what the page shows when a link gives no settings


def exercise_entries() -> list[dict]:
    """The exercises as the catalog lists them (a copy: callers may change it)."""
    return copy.deepcopy(list(EXERCISES))
