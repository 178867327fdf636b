"""The exported script: it compiles, draws exactly the playground's data, trains as well,
speaks the course's words and draws the course notebooks' plots.

Five scripts run for real (`python train.py` in a subprocess with no display, started
together so the TensorFlow imports overlap); the others are compiled and their data compared.
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
from keras_playground.data.exercises import EXERCISES
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
RAW["ex1"] = next(e["spec"] for e in EXERCISES if e["id"] == "ex1")  # the course's Ex1, as the page starts it
RUN = ("line_neuron", "parabola_32_16", "plane_mse", "l2_dropout_early", "ex1")
PLOTS = {"loss.png", "decision_boundary.png"}  # and accuracy.png or mae.png


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
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "DISPLAY", "WAYLAND_DISPLAY", "MPLBACKEND")}  # headless
    env.update(CUDA_VISIBLE_DEVICES="", TF_CPP_MIN_LOG_LEVEL="3")
    procs, proc_dirs = {}, {}
    for name in RUN:
        folder = proc_dirs[name] = tmp_path_factory.mktemp(name)
        (folder / "train.py").write_text(export_script(spec_of(name)))
        procs[name] = subprocess.Popen([sys.executable, "train.py"], cwd=folder, env=env,
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    results = {}
    try:
        for name, proc in procs.items():
            out, err = proc.communicate(timeout=TIMEOUT)
            results[name] = (proc.returncode, out, err, {p.name for p in proc_dirs[name].iterdir()})
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
    return results


def ran(runs, name: str) -> dict[str, float]:
    code, out, err, _files = runs[name]
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
    assert imported <= {"numpy", "keras", "math", "os", "sys", "matplotlib"}
    assert "keras_playground" not in text


def test_script_states_the_run_and_matches_the_model_choices():
    text = export_script(spec_of("l2_dropout_early"))
    assert text.startswith("# Keras Playground run")
    for words in ("Data set:  course_spiral", "noise", "200 for training, 60 for validation, 0 for testing",
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
    assert re.search(r"EarlyStopping\(monitor='val_loss', patience=3,\s+restore_best_weights=True\)", text)
    assert "keeps the weights of its best epoch" in text
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


@pytest.mark.parametrize("dataset", [n for n, info in DATASETS.items() if info.input == "points"])  # images: test_codegen_images.py
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


# ----- The course's words, and the course's Ex1 -----

NOTES_FOR_US = ("todo", "fixme", "xxx", "engine", "self-contained", "copies this function",
                "maintainer", "internals", "refactor", "hack", "keras_playground")


@pytest.mark.parametrize("name", list(RAW))
def test_script_speaks_the_courses_words_and_has_no_note_for_us(name):
    text = export_script(spec_of(name))
    comments = "\n".join(line for line in text.splitlines() if "#" in line).lower()
    assert not [word for word in NOTES_FOR_US if word in comments], comments
    assert "todo" not in text.lower() and "keras_playground" not in text
    for words in ("Training_data", "Training_label", "Validation_data", "Validation_label",
                  "Testing_data", "Testing_label"):
        assert words in text
    assert "Test_data" not in text and "Test_label" not in text
    assert re.search(r"^PLOTS = True$", text, re.M)  # the plots are on, and a flag turns them off
    assert text.index("PLOTS = True") < text.index("def load_data")  # near the top
    assert "plot_results(history, model)" in text and "plt.show()" in text


def test_the_slides_form_of_the_model_is_shown_next_to_the_model():
    neuron = export_script(spec_of("ex1"))
    model_at = neuron.index("model = models.Sequential()")
    slide_at = neuron.index("#     model.add(Dense(1, activation='sigmoid', input_shape=(2,)))")
    assert 0 < slide_at - model_at < 400
    two = export_script(spec_of("parabola_32_16"))
    assert "#     model.add(Dense(32, activation='relu', input_shape=(2,)))" in two


def test_the_course_ex1_script_uses_sgd_at_keras_default_rate():
    text = export_script(spec_of("ex1"))
    assert "model.compile(optimizer='sgd'," in text or "keras.optimizers.SGD(learning_rate=0.01)" in text
    assert "learning rate 0.01 (Keras's default)" in text
    assert "batch_size=4, epochs=50," in text
    assert "validation_data=(Validation_data, Validation_label)" in text
    other = export_script(spec_of("line_neuron"))  # another rate says so
    assert "optimizers.SGD(learning_rate=0.1),  # stochastic gradient descent, learning rate 0.1 " \
           "(Keras's default: 0.01; larger, to train in fewer epochs)" in other  # and why


def test_without_matplotlib_the_script_says_so_and_goes_on(monkeypatch, capsys):
    module = load_script(export_script(spec_of("ex1")))
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` fails
    module.plot_results(types.SimpleNamespace(history={"loss": [1.0]}), model=None)
    assert "matplotlib is not installed" in capsys.readouterr().out


@pytest.mark.slow
def test_the_course_ex1_runs_as_is_and_draws_its_plots(runs):
    result = ran(runs, "ex1")
    assert result["epochs_trained"] == 50
    assert result["val_accuracy"] >= 0.8 and result["test_accuracy"] >= 0.8
    files = runs["ex1"][3]
    assert PLOTS | {"accuracy.png"} <= files
    assert "Plots saved next to this script" in runs["ex1"][1]


@pytest.mark.slow
def test_every_script_that_ran_drew_its_plots_headless(runs):
    for name in RUN:
        ran(runs, name)
        metric = "mae.png" if name == "plane_mse" else "accuracy.png"
        assert PLOTS | {metric} <= runs[name][3], name
