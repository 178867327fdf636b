"""The exported script: it compiles, draws exactly the playground's data, and trains as well.

Four scripts run for real (`python train.py` in a subprocess, started together so the
TensorFlow imports overlap); the others are compiled and their data compared.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import types

import numpy as np
import pytest

from keras_playground.data import DATASETS, compute_features, make_dataset
from keras_playground.data.validate import validate_spec
from keras_playground.engine.codegen import export_script
from keras_playground.specs import Limits, RunSpec

TIMEOUT = 120  # seconds per script run
TWO = [{"units": 32, "activation": "relu"}, {"units": 16, "activation": "relu"}]
_rng = np.random.default_rng(0)
_xy = _rng.uniform(-1, 1, size=(60, 2))
CUSTOM_POINTS = [[float(x), float(y), float(int(x > 0) + int(y > 0))] for x, y in _xy]

RAW = {
    # Course Ex1: one neuron on the line, sgd, batch 4.
    "line_neuron": {"dataset": {"name": "line", "n_train": 100, "n_val": 50, "n_test": 50},
                    "layers": [], "training": {"optimizer": "sgd", "learning_rate": 0.1,
                                               "batch_size": 4, "epochs": 30}},
    # Course Ex2: 32 -> 16 ReLU with Adam.
    "parabola_32_16": {"dataset": {"name": "parabola", "n_train": 300, "n_val": 50, "n_test": 50},
                       "layers": TWO, "training": {"optimizer": "adam", "learning_rate": 0.01,
                                                   "batch_size": 16, "epochs": 100}},
    "blobs_4": {"dataset": {"name": "blobs", "params": {"classes": 4}, "n_train": 200,
                            "n_val": 50, "n_test": 50, "seed": 11},
                "layers": [{"units": 8, "activation": "tanh"}],
                "training": {"optimizer": "adam", "learning_rate": 0.02, "batch_size": 16,
                             "epochs": 40}},
    "plane_mse": {"dataset": {"name": "plane", "n_train": 200, "n_val": 50, "n_test": 50,
                              "noise": 0.05},
                  "layers": [], "training": {"optimizer": "adam", "learning_rate": 0.05,
                                             "loss": "mse", "batch_size": 16, "epochs": 60}},
    "l2_dropout_early": {
        "dataset": {"name": "course_spiral", "n_train": 200, "n_val": 60, "n_test": 0,
                    "noise": 0.02, "seed": 5},
        "features": ["x1", "x2", "x1^2", "sin(x1)"],
        "layers": [{"units": 16, "activation": "relu", "dropout": 0.25},
                   {"units": 8, "activation": "elu"}],
        "training": {"optimizer": "sgd", "learning_rate": 0.05, "momentum": 0.9,
                     "regularization": "l2", "regularization_rate": 0.001,
                     "early_stopping_patience": 3, "batch_size": 8, "epochs": 500,
                     "shuffle": False, "seed": 4}},
    "custom_points": {"dataset": {"name": "custom", "points": CUSTOM_POINTS, "n_train": 40,
                                  "n_val": 10, "n_test": 5, "seed": 9},
                      "layers": [{"units": 6, "activation": "relu"}],
                      "training": {"optimizer": "rmsprop", "loss": "mse", "epochs": 5}},
}
RUN = ("line_neuron", "parabola_32_16", "plane_mse", "l2_dropout_early")


def spec_of(name: str) -> RunSpec:
    return validate_spec(RAW[name], Limits())


def load_script(text: str) -> types.ModuleType:
    """The script as an imported module (its training part does not run)."""
    module = types.ModuleType("exported_train")
    exec(compile(text, "train.py", "exec"), module.__dict__)
    return module


def figures(stdout: str) -> dict[str, float]:
    """The `name: number` lines the script ends with."""
    return {m[1]: float(m[2]) for m in re.finditer(r"^(\w+): (-?[\d.]+(?:e-?\d+)?)$", stdout, re.M)}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Start the RUN scripts together; {name: (returncode, stdout, stderr)} once all finish."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(CUDA_VISIBLE_DEVICES="", TF_CPP_MIN_LOG_LEVEL="3")
    procs = {}
    for name in RUN:
        folder = tmp_path_factory.mktemp(name)
        (folder / "train.py").write_text(export_script(spec_of(name)))
        procs[name] = subprocess.Popen([sys.executable, "train.py"], cwd=folder, env=env,
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    results = {}
    try:
        for name, proc in procs.items():
            out, err = proc.communicate(timeout=TIMEOUT)
            results[name] = (proc.returncode, out, err)
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
    return results


def ran(runs, name: str) -> dict[str, float]:
    code, out, err = runs[name]
    assert code == 0, f"{name} failed:\n{err[-3000:]}"
    return figures(out)


# ----- Every spec: the text -----

@pytest.mark.parametrize("name", list(RAW))
def test_script_compiles_and_imports_only_numpy_and_keras(name):
    text = export_script(spec_of(name))
    tree = ast.parse(compile(text, "train.py", "exec", flags=ast.PyCF_ONLY_AST))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module.split(".")[0])
    assert imported <= {"numpy", "keras", "math"}
    assert "keras_playground" not in text


def test_script_states_the_run_and_matches_the_model_choices():
    text = export_script(spec_of("l2_dropout_early"))
    assert text.startswith("# Keras Playground run")
    for words in ("Data set:  course_spiral", "noise", "200 for training, 60 for validation, 0 for test",
                  "data seed 5, training seed 4", "python train.py"):
        assert words in text
    assert "keras.utils.set_random_seed(4)" in text
    assert "model.add(layers.Input(shape=(4,)))" in text
    assert ("model.add(layers.Dense(16, activation='relu', "
            "kernel_regularizer=regularizers.l2(0.001)))") in text
    assert "model.add(layers.Dropout(0.25))" in text
    assert "layers.Dense(8, activation='elu', kernel_regularizer=regularizers.l2(0.001))" in text
    assert "model.add(layers.Dense(1, activation='sigmoid'))" in text
    assert "optimizers.SGD(learning_rate=0.05, momentum=0.9)" in text
    assert "loss='binary_crossentropy'" in text and "metrics=['accuracy']" in text
    assert "EarlyStopping(monitor='val_loss', patience=3)" in text
    assert "shuffle=False" in text
    assert "model.evaluate" not in text  # no test set


def test_output_layer_loss_and_metric_follow_the_problem():
    blobs, plane = export_script(spec_of("blobs_4")), export_script(spec_of("plane_mse"))
    assert "model.add(layers.Dense(4, activation='softmax'))" in blobs
    assert "keras.utils.to_categorical(Training_label, 4)" in blobs
    assert "loss='categorical_crossentropy'" in blobs and "optimizers.Adam(learning_rate=0.02)" in blobs
    assert "model.add(layers.Dense(1, activation='linear'))" in plane
    assert "loss='mean_squared_error'" in plane and "metrics=['mae']" in plane
    neuron = export_script(spec_of("line_neuron"))
    assert neuron.count("layers.Dense(") == 1 and "regularizers" not in neuron
    assert "optimizers.SGD(learning_rate=0.1)," in neuron  # no momentum when it is 0
    custom = export_script(spec_of("custom_points"))
    assert "optimizers.RMSprop(learning_rate=0.01)" in custom
    assert "Dense(3, activation='softmax')" in custom  # labels 0, 1, 2
    assert "validation_data" in custom
    no_val = dict(RAW["line_neuron"], dataset={**RAW["line_neuron"]["dataset"], "n_val": 0})
    assert "validation_data" not in export_script(validate_spec(no_val, Limits()))


# ----- Every spec (and every data set): the data are the playground's, exactly -----

def _assert_same_data(spec: RunSpec) -> None:
    got = load_script(export_script(spec)).load_data()
    ds = make_dataset(spec.dataset)
    want = [compute_features(ds.x_train, spec.features), ds.y_train,
            compute_features(ds.x_val, spec.features), ds.y_val,
            compute_features(ds.x_test, spec.features), ds.y_test]
    for g, w in zip(got, want, strict=True):
        assert g.dtype == w.dtype and g.shape == w.shape
        assert np.array_equal(g, w)


@pytest.mark.parametrize("name", list(RAW))
def test_script_data_equals_make_dataset(name):
    _assert_same_data(spec_of(name))


@pytest.mark.parametrize("dataset", list(DATASETS))
def test_every_data_set_is_copied_exactly(dataset):
    spec = validate_spec({"dataset": {"name": dataset, "n_train": 50, "n_val": 7, "n_test": 3,
                                      "noise": 0.1, "seed": 123},
                          "features": ["x1", "x2", "x1*x2", "sin(x2)"]}, Limits())
    _assert_same_data(spec)


def test_custom_points_are_embedded_exactly():
    text = export_script(spec_of("custom_points"))
    module = load_script(text)
    assert np.array_equal(np.array(module.POINTS), np.array(CUSTOM_POINTS))


# ----- Run for real: the figures come out and are as good as the playground's -----

@pytest.mark.slow  # runs the exported scripts, each in its own Python
def test_single_neuron_on_the_line(runs):
    result = ran(runs, "line_neuron")
    assert result["epochs_trained"] == 30
    assert result["test_accuracy"] >= 0.85
    assert result["final_accuracy"] >= 0.85


@pytest.mark.slow
def test_parabola_with_two_hidden_layers(runs):
    result = ran(runs, "parabola_32_16")
    assert result["epochs_trained"] == 100
    assert result["val_accuracy"] >= 0.85
    assert result["test_accuracy"] >= 0.85


@pytest.mark.slow
def test_plane_regression(runs):
    result = ran(runs, "plane_mse")
    assert set(result) >= {"final_mae", "val_mae", "test_mae", "final_loss"}
    # The target's noise (sd 0.05) alone costs about 0.04; predicting nothing costs about 0.8.
    assert result["final_mae"] < 0.05
    assert result["test_mae"] < 0.05


@pytest.mark.slow
def test_early_stopping_without_test_set(runs):
    result = ran(runs, "l2_dropout_early")
    assert 3 < result["epochs_trained"] < 500  # stopped early, after at least `patience` epochs
    assert {"final_accuracy", "val_accuracy"} <= set(result)
    assert "test_accuracy" not in result


@pytest.mark.slow
def test_script_result_is_close_to_the_playground(runs):
    from keras_playground.engine.session import TrainingSession

    result = ran(runs, "parabola_32_16")
    session = TrainingSession(spec_of("parabola_32_16"), max_frames_per_second=None)
    while not session.finished:
        session.train_epoch()
    done = session.done_event()
    assert abs(result["test_accuracy"] - done.test_metric) <= 0.06
    assert abs(result["val_accuracy"] - done.val_metric) <= 0.06
