"""The exported notebook: valid nbformat 4, the course's steps, and, run top to bottom
with nbclient (ipykernel's python3), no cell errors and test figures close to the playground's."""

from __future__ import annotations

import os
import re

import nbformat
import pytest

from keras_playground.data.validate import validate_spec
from keras_playground.engine.codegen import export_script
from keras_playground.engine.notebook import export_notebook, notebook_text
from keras_playground.specs import Limits, RunSpec

CELL_TIMEOUT = 120  # seconds per cell
RAW = {
    "binary": {"dataset": {"name": "parabola", "n_train": 200, "n_val": 50, "n_test": 100},
               "layers": [{"units": 16, "activation": "relu"}],
               "training": {"optimizer": "adam", "learning_rate": 0.02, "batch_size": 16, "epochs": 25}},
    "multiclass": {"dataset": {"name": "blobs", "params": {"classes": 4}, "n_train": 200,
                               "n_val": 50, "n_test": 100, "seed": 11},
                   "layers": [{"units": 8, "activation": "tanh"}],
                   "training": {"optimizer": "adam", "learning_rate": 0.02, "batch_size": 16, "epochs": 20}},
    "regression": {"dataset": {"name": "plane", "n_train": 200, "n_val": 50, "n_test": 100, "noise": 0.05},
                   "layers": [], "training": {"optimizer": "adam", "learning_rate": 0.05, "loss": "mse",
                                              "batch_size": 16, "epochs": 30}},
}
METRIC = {"binary": "test_accuracy", "multiclass": "test_accuracy", "regression": "test_mae"}


def spec_of(name: str) -> RunSpec:
    return validate_spec(RAW[name], Limits())


def code_of(notebook) -> str:
    return "\n".join(c.source for c in notebook.cells if c.cell_type == "code")


@pytest.mark.parametrize("name", list(RAW))
def test_notebook_is_valid_and_follows_the_course(name):
    notebook = nbformat.reads(notebook_text(spec_of(name)), as_version=4)
    nbformat.validate(notebook)
    assert notebook.nbformat == 4 and notebook.cells[0].cell_type == "markdown"
    assert notebook.cells[0].source.startswith("# ")
    code = code_of(notebook)
    for piece in ("models.Sequential()", "model.add(", "model.compile(", "model.fit(",
                  "validation_data=(Validation_data, Validation_label)", "plot_results(history, model)",
                  "model.evaluate(Testing_data, Testing_label", "%matplotlib inline"):
        assert piece in code, piece
    assert "keras_playground" not in code
    markdown = [c for c in notebook.cells if c.cell_type == "markdown"]
    assert len(markdown) >= 6


def test_notebook_reuses_the_scripts_pieces():
    spec = spec_of("binary")
    script, code = export_script(spec), code_of(export_notebook(spec))
    for line in ("def load_data():", "def draw_points():", "def compute_features(",
                 "def plot_results(history, model):", "history = model.fit(Training_data, Training_label,"):
        assert line in script and line in code


def figures(notebook) -> dict[str, float]:
    text = "".join(out.get("text", "") for cell in notebook.cells if cell.cell_type == "code"
                   for out in cell.get("outputs", []) if out.get("output_type") == "stream")
    return {m[1]: float(m[2]) for m in re.finditer(r"^(\w+): (-?[\d.]+(?:e-?\d+)?)$", text, re.M)}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(RAW))
def test_notebook_runs_top_to_bottom_and_matches_the_playground(name, tmp_path, monkeypatch):
    from nbclient import NotebookClient

    from keras_playground.engine.session import TrainingSession

    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "3")
    for key in ("DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(key, raising=False)
    spec = spec_of(name)
    notebook = export_notebook(spec)
    NotebookClient(notebook, timeout=CELL_TIMEOUT, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()  # raises on a cell error
    errors = [out for cell in notebook.cells for out in cell.get("outputs", [])
              if out.get("output_type") == "error"]
    assert not errors
    images = [out for cell in notebook.cells for out in cell.get("outputs", [])
              if "image/png" in out.get("data", {})]
    assert len(images) >= 4  # the points, the loss, the accuracy (or MAE), the decision boundary
    result = figures(notebook)
    session = TrainingSession(spec, max_frames_per_second=None)
    while not session.finished:
        session.train_epoch()
    done = session.done_event()
    tolerance = 0.08 if name != "regression" else max(0.05, 0.5 * done.test_metric)
    assert abs(result[METRIC[name]] - done.test_metric) <= tolerance, (result, done)
    assert os.path.exists(tmp_path / "decision_boundary.png")
