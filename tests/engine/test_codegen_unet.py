"""The exported script and notebook of a microscopy run (a U-Net): the playground's very
images and patches, the engine's architecture (same parameter count), its custom layer and
loss registered under the playground's names (a saved model loads), a U-Net that learns,
and its plots. The runs for real (subprocess, nbclient) are marked slow."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest

from keras_playground.data import make_dataset
from keras_playground.data.validate import validate_spec
from keras_playground.engine.codegen import export_script
from keras_playground.engine.notebook import export_notebook, notebook_text
from keras_playground.specs import Limits, RunSpec

from .test_codegen_images import TIMEOUT, figures, headless_env, load_script, script_model

SMALL = {"size": 32, "count": 4, "radius": 4}
RAW = {
    # The catalog's suggestion, shortened: a foreground U-Net with batch normalization.
    "foreground": {"dataset": {"name": "nuclei", "n_train": 24, "n_val": 8, "n_test": 8, "seed": 7},
                   "unet": {"depth": 2, "base_filters": 8, "output": "foreground", "patch": 64},
                   "training": {"optimizer": "adam", "learning_rate": 0.005, "batch_size": 8, "epochs": 12,
                                "loss": "bce_dice"}},
    # Three classes, no batch normalization, dropout, early stopping, SGD with momentum.
    "three_class": {"dataset": {"name": "nuclei", "params": SMALL, "n_train": 10, "n_val": 4, "n_test": 3,
                                "seed": 2},
                    "unet": {"depth": 1, "base_filters": 4, "batchnorm": False, "dropout": 0.3,
                             "output": "three_class", "patch": 16},
                    "training": {"optimizer": "sgd", "learning_rate": 0.05, "momentum": 0.9, "batch_size": 4,
                                 "epochs": 2, "early_stopping_patience": 2, "seed": 3}},
    # Restoration, deeper, Keras's default rate, no validation set.
    "restored": {"dataset": {"name": "nuclei-denoise", "params": SMALL, "n_train": 16, "n_val": 0,
                             "n_test": 4, "noise": 0.05, "seed": 5},
                 "unet": {"depth": 3, "base_filters": 4, "output": "restored", "patch": 32},
                 "training": {"optimizer": "adam", "learning_rate": 0.001, "batch_size": 8, "epochs": 3,
                              "loss": "mae", "seed": 2}},
}
NOTES_FOR_US = ("todo", "fixme", "engine", "self-contained", "maintainer", "internals", "catalog")


def spec_of(name: str, **training) -> RunSpec:
    raw = RAW[name]
    return validate_spec({**raw, "training": {**raw["training"], **training}}, Limits())


# ----- The text -----

@pytest.mark.parametrize("name", list(RAW))
def test_script_compiles_speaks_the_courses_words_and_has_no_note_for_us(name):
    text = export_script(spec_of(name))
    compile(text, "train.py", "exec")
    comments = "\n".join(line for line in text.splitlines() if line.lstrip().startswith("#")).lower()
    assert not [word for word in NOTES_FOR_US if word in comments]
    # The playground's name appears only where the custom objects are registered under it.
    assert {line.strip() for line in text.splitlines() if "keras_playground" in line} == \
        {'@keras.saving.register_keras_serializable(package="keras_playground")'}
    for words in ("Training_data", "Validation_label", "Testing_data", "def load_data():", "def unet(depth, base_filters",
                  "layers.Conv2D(", "layers.BatchNormalization(", "layers.MaxPooling2D((2, 2))",
                  "layers.Conv2DTranspose(", "layers.Concatenate()", "class PercentileNormalization(",
                  "class RandomPatches(keras.utils.PyDataset):", "model.compile(", "history = model.fit(",
                  "def plot_results(history, model):", "print(f\"epochs_trained:"):
        assert words in text, words
    segmentation = name != "restored"
    assert ("def dice_loss(" in text) == segmentation and ("class DiceMetric(" in text) == segmentation
    assert ("class PsnrMetric(" in text) != segmentation
    assert ("segmentation.png" in text) == segmentation and ("restoration.png" in text) != segmentation
    assert all(len(line) <= 88 for line in text[:text.index("\nimport ")].splitlines())  # as the others


def test_the_options_are_written_out():
    text = export_script(spec_of("three_class"))
    for line in ("model = unet(depth=1, base_filters=4, batchnorm=False, dropout=0.3, output='three_class')",
                 "optimizers.SGD(learning_rate=0.05, momentum=0.9)", "loss='categorical_crossentropy'",
                 "metrics=[DiceMetric('three_class')]", "np.eye(3, dtype='float32')[Training_label]",
                 "keras.callbacks.EarlyStopping(monitor='val_loss', patience=2,",
                 "patch=16, batch_size=4, seed=TRAINING_SEED, shuffle=True)"):
        assert line in text, line
    foreground = export_script(spec_of("foreground"))
    assert "loss=bce_dice_loss," in foreground and "optimizers.Adam(learning_rate=0.005)" in foreground
    restored = export_script(spec_of("restored"))
    assert "optimizer='adam'," in restored and "loss='mae'" in restored and "validation_data" not in restored


# ----- The data and the patches are the playground's, exactly -----

@pytest.mark.parametrize("name", list(RAW))
def test_the_copied_microscope_draws_the_playgrounds_images(name):
    spec = spec_of(name)
    got = load_script(export_script(spec)).load_data()
    ds = make_dataset(spec.dataset)
    want = [ds.x_train, ds.y_train, ds.x_val, ds.y_val, ds.x_test, ds.y_test]
    for g, w in zip(got, want, strict=True):
        assert g.dtype == w.dtype and g.shape == w.shape
        assert np.array_equal(g, w)
    assert ds.x_train.std() > 0


def test_the_scripts_patches_are_the_playgrounds():
    from keras_playground.engine.microscopy import patches
    from keras_playground.engine.model import targets

    spec = spec_of("foreground")
    module = load_script(export_script(spec))
    x, labels = module.load_data()[:2]
    y = targets(labels, "segmentation", 2)
    ours = module.RandomPatches(x, y, patch=32, batch_size=8, seed=spec.training.seed, shuffle=True)
    rng, order = np.random.default_rng(spec.training.seed + 1), np.random.default_rng(spec.training.seed)
    for _ in range(2):  # the session: a permutation from the training seed, patches from seed + 1
        perm = order.permutation(len(x))
        xp, yp = patches(x, y, 32, rng)
        assert np.array_equal(ours[0][0], xp[perm[:8]]) and np.array_equal(ours[2][1], yp[perm[16:24]])
        ours.on_epoch_end()


# ----- The model is the engine's -----

@pytest.mark.parametrize("name", list(RAW))
def test_the_script_builds_the_engines_unet(name):
    from keras_playground.data import problem_of
    from keras_playground.data.validate import loss_of
    from keras_playground.engine.model import build_model

    spec = spec_of(name)
    kind, n_classes = problem_of(spec.dataset)
    engine = build_model(spec, kind, n_classes, loss_of(spec, kind))
    script = script_model(export_script(spec))
    assert script.count_params() == engine.count_params()
    assert [type(layer).__name__ for layer in script.layers] == [type(layer).__name__ for layer in engine.layers]
    image = np.random.default_rng(0).uniform(0, 1, (1, 32, 32, 1)).astype("float32")
    assert script(image).shape == engine(image).shape


def test_a_model_the_playground_saved_loads_in_the_script(tmp_path):
    """In a process without the playground: the script's registered copies are enough."""
    from keras_playground.data.validate import loss_of
    from keras_playground.engine.model import build_model

    spec = spec_of("foreground")
    engine = build_model(spec, "segmentation", 2, loss_of(spec, "segmentation"))
    engine.save(tmp_path / "model.keras")
    image = np.random.default_rng(1).uniform(0, 1, (1, 32, 32, 1)).astype("float32")
    np.save(tmp_path / "image.npy", image)
    np.save(tmp_path / "want.npy", engine(image, training=False).numpy())
    (tmp_path / "train.py").write_text(export_script(spec))
    check = ("import sys, runpy, numpy as np; sys.modules.pop('keras_playground', None)\n"
             "sys.meta_path.insert(0, type('NoPlayground', (), {'find_spec': staticmethod("
             "lambda name, *a: (_ for _ in ()).throw(ImportError(name)) if name.startswith('keras_playground') "
             "else None)})())\n"
             "ns = runpy.run_path('train.py', run_name='exported')\n"
             "model = ns['keras'].models.load_model('model.keras')\n"
             "got = model(np.load('image.npy'), training=False).numpy()\n"
             "print('loaded', type(model.layers[1]).__name__, model.loss.__name__, "
             "float(np.max(np.abs(got - np.load('want.npy')))))\n")
    proc = subprocess.run([sys.executable, "-c", check], cwd=tmp_path, env=headless_env(), capture_output=True,
                          text=True, timeout=TIMEOUT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    words = proc.stdout.split()
    assert words[:3] == ["loaded", "PercentileNormalization", "bce_dice_loss"] and float(words[3]) < 1e-5


# ----- The notebook -----

@pytest.mark.parametrize("name", list(RAW))
def test_the_notebook_is_valid_and_reuses_the_scripts_pieces(name):
    import nbformat

    spec = spec_of(name)
    notebook = nbformat.reads(notebook_text(spec), as_version=4)
    nbformat.validate(notebook)
    code = "\n".join(c.source for c in notebook.cells if c.cell_type == "code")
    script = export_script(spec)
    for piece in ("def nuclei(", "def load_data():", "class RandomPatches(", "def unet(depth",
                  "class PercentileNormalization(", "model.compile(", "history = model.fit(",
                  "def plot_results(history, model):", "plot_results(history, model)", "%matplotlib inline"):
        assert piece in code, piece
    for line in script.splitlines():
        if line.startswith(("def ", "class ")):
            assert line in code, line
    assert len([c for c in notebook.cells if c.cell_type == "markdown"]) >= 6


# ----- Run for real -----

def _run(spec: RunSpec, folder) -> tuple[int, str, str, set[str]]:
    (folder / "train.py").write_text(export_script(spec))
    proc = subprocess.run([sys.executable, "train.py"], cwd=folder, env=headless_env(), capture_output=True,
                          text=True, timeout=TIMEOUT)
    return proc.returncode, proc.stdout, proc.stderr, {p.name for p in folder.iterdir()}


@pytest.mark.slow
def test_the_segmentation_script_learns_and_draws_its_plots(tmp_path):
    code, out, err, files = _run(spec_of("foreground"), tmp_path)
    assert code == 0, err[-3000:]
    result = figures(out)
    assert result["epochs_trained"] == 12
    assert {"final_loss", "final_dice", "val_loss", "val_dice", "test_loss", "test_iou", "otsu_dice"} <= set(result)
    assert result["test_dice"] > 0.6  # all background scores 0; all foreground about 0.4
    assert {"loss.png", "dice.png", "segmentation.png"} <= files


@pytest.mark.slow
def test_the_other_scripts_run(tmp_path):
    for name in ("three_class", "restored"):
        folder = tmp_path / name
        folder.mkdir()
        code, out, err, files = _run(spec_of(name), folder)
        assert code == 0, err[-3000:]
        result = figures(out)
        assert result["epochs_trained"] >= 1 and "test_loss" in result
        if name == "restored":
            assert {"test_psnr", "test_ssim", "noisy_psnr"} <= set(result) and "restoration.png" in files
        else:
            assert {"best_epoch", "test_dice"} <= set(result) and "segmentation.png" in files


@pytest.mark.slow
def test_a_unet_notebook_runs_top_to_bottom(tmp_path, monkeypatch):
    from nbclient import NotebookClient

    for key, value in headless_env().items():
        monkeypatch.setenv(key, value)
    for key in ("DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(key, raising=False)
    notebook = export_notebook(spec_of("three_class"))
    NotebookClient(notebook, timeout=TIMEOUT, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()  # raises on a cell error
    outputs = [out for cell in notebook.cells for out in cell.get("outputs", [])]
    assert not [out for out in outputs if out.get("output_type") == "error"]
    # The training images, the loss, the Dice, the segmentation.
    assert len([out for out in outputs if "image/png" in out.get("data", {})]) >= 4
    text = "".join(out.get("text", "") for out in outputs)
    assert re.search(r"^test_dice: [\d.]+$", text, re.M)
    assert (tmp_path / "segmentation.png").exists()
