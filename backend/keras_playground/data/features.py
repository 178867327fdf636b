"""The input features the network may see, computed from each point's (x1, x2)."""

import numpy as np


def compute_features(xy, names):
    """Columns for `names` (x1, x2, x1^2, x2^2, x1*x2, sin(x1), sin(x2)), as float32.

    Self-contained: the code exporter copies it into the participant's script, so the
    script, the training data and the boundary grid all use this same transform.
    """
    x1, x2 = xy[:, 0], xy[:, 1]
    columns = {
        "x1": lambda: x1,
        "x2": lambda: x2,
        "x1^2": lambda: x1 * x1,
        "x2^2": lambda: x2 * x2,
        "x1*x2": lambda: x1 * x2,
        "sin(x1)": lambda: np.sin(x1),
        "sin(x2)": lambda: np.sin(x2),
    }
    unknown = [name for name in names if name not in columns]
    if unknown:
        raise ValueError(f"unknown feature(s) {unknown}; choose from {list(columns)}")
    return np.stack([columns[name]() for name in names], axis=1).astype(np.float32)
