import pytest

from keras_playground.specs import RunSpec, parse_spec


def make_spec(dataset: dict | None = None, layers: list | None = None, **training) -> RunSpec:
    """A small, fast spec: overrides for the data set, the hidden layers and training."""
    return parse_spec({
        "dataset": {"name": "parabola", "n_train": 100, "n_val": 40, "n_test": 40, "seed": 3,
                    **(dataset or {})},
        "features": ["x1", "x2"],
        "layers": layers if layers is not None else [{"units": 6, "activation": "tanh"}],
        "training": {"optimizer": "adam", "learning_rate": 0.02, "batch_size": 10, "epochs": 10,
                     "seed": 5, **training},
    })


@pytest.fixture
def spec_factory():
    return make_spec
