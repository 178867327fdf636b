"""The input features the network may see, computed from each point's (x1, x2)."""

import numpy as np


def compute_features(xy, names):
    """The network's inputs, one column per name, computed from each point's x1 and x2.

    names: any of x1, x2, x1^2, x2^2, x1*x2, sin(x1), sin(x2), in the order wanted.
    """
    # Self-contained on purpose: the playground copies this function into exported scripts.
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
