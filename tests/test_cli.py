"""The command line as a user runs it: a real subprocess."""

import json
import os
import subprocess
import sys

import pytest

ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}


def run_cli(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "keras_playground.cli", *args], capture_output=True,
                          text=True, timeout=timeout, env=ENV)


def write_spec(tmp_path, spec):
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    return path


def test_train_writes_history_model_script_and_data(tmp_path):
    spec = {"dataset": {"name": "line", "n_train": 100, "n_val": 50, "n_test": 50},
            "layers": [], "training": {"optimizer": "sgd", "learning_rate": 0.5, "batch_size": 4, "epochs": 12}}
    result = run_cli("train", str(write_spec(tmp_path, spec)), "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    assert "epoch    12/12" in result.stderr  # the progress bar reached the end
    assert "finished after 12 epochs" in result.stdout
    out = tmp_path / "out"
    history = json.loads((out / "history.json").read_text())
    assert [e["epoch"] for e in history["history"]] == list(range(1, 13))
    assert history["done"]["state"] == "finished" and history["done"]["test_metric"] > 0.8
    lines = (out / "data.csv").read_text().splitlines()
    assert lines[0] == "split,x1,x2,label" and len(lines) == 1 + 200
    compile((out / "train.py").read_text(), "train.py", "exec")
    assert (out / "model.keras").stat().st_size > 1000
    import keras
    model = keras.models.load_model(out / "model.keras")
    assert model.count_params() == 3


def test_train_writes_an_image_runs_data_as_arrays(tmp_path):
    spec = {"dataset": {"name": "shapes", "n_train": 64, "n_val": 16, "n_test": 16, "params": {"size": 16}},
            "layers": [{"type": "conv2d", "filters": 4}, {"type": "maxpool2d"}, {"type": "flatten"}],
            "training": {"epochs": 2, "batch_size": 16, "augment": {"shift": 0.1, "flip": True}}}
    result = run_cli("train", str(write_spec(tmp_path, spec)), "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    assert "data.npz" in result.stdout
    import numpy as np
    data = np.load(tmp_path / "out" / "data.npz")
    assert data["x_train"].shape == (64, 16, 16, 1) and list(data["classes"]) == ["circle", "square", "triangle",
                                                                                 "cross"]
    import keras
    model = keras.models.load_model(tmp_path / "out" / "model.keras")
    assert model.count_params() == 4 * 9 + 4 + 7 * 7 * 4 * 4 + 4
    assert model.layers[0].name == "augment_shift"  # the augmentation travels with the model
    assert int(model.optimizer.iterations.numpy()) == 2 * 64 // 16  # its optimizer state too


def test_train_writes_the_notebook_beside_the_script(tmp_path):
    import nbformat

    spec = {"dataset": {"name": "line", "n_train": 40, "n_val": 10, "n_test": 10},
            "layers": [], "training": {"epochs": 2}}
    result = run_cli("train", str(write_spec(tmp_path, spec)), "--out", str(tmp_path / "out"), "--quiet")
    assert result.returncode == 0, result.stderr
    assert "notebook.ipynb" in result.stdout
    notebook = nbformat.read(tmp_path / "out" / "notebook.ipynb", as_version=4)
    nbformat.validate(notebook)
    assert (tmp_path / "out" / "train.py").exists()
    assert any("model.fit(" in c.source for c in notebook.cells if c.cell_type == "code")


@pytest.mark.parametrize("bad, field", [
    ({"layers": [{"units": 500}]}, "layers[0].units"),
    ({"training": {"batch_size": 0}}, "training.batch_size"),
    ({"dataset": {"name": "moons"}}, "dataset.name"),
])
def test_train_refuses_an_invalid_spec_with_exit_code_2(tmp_path, bad, field):
    result = run_cli("train", str(write_spec(tmp_path, bad)), "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert field in result.stderr
    assert not (tmp_path / "out").exists()


def test_train_names_an_unreadable_spec_file(tmp_path):
    (tmp_path / "broken.json").write_text("{not json")
    result = run_cli("train", str(tmp_path / "broken.json"), "--out", str(tmp_path / "out"))
    assert result.returncode == 2 and "broken.json" in result.stderr


@pytest.mark.bench
def test_bench_prints_both_loops_side_by_side():
    result = run_cli("bench", "--json", "--epochs", "20", "--runs", "2")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["compiled_loop"]["ms_per_epoch"] > 0 and report["model_fit"]["ms_per_epoch"] > 0
    assert report["speedup"] == pytest.approx(
        report["model_fit"]["ms_per_epoch"] / report["compiled_loop"]["ms_per_epoch"])
    assert report["max_weight_difference_vs_fit"] <= 1e-5
    concurrent = report["concurrent"]
    assert concurrent["runs"] == 2 and concurrent["epochs"] == 40
    # The class again against one run alone, three pairs in turn: the median pair's ratio.
    assert len(concurrent["pair_ratios"]) == 3
    assert concurrent["speedup_over_single"] == sorted(concurrent["pair_ratios"])[1] == pytest.approx(
        concurrent["warm_steady_epochs_per_second"] / concurrent["single_epochs_per_second"])
    cnn = report["cnn"]  # the digits CNN, a frame every epoch
    assert cnn["ms_per_epoch"] > 0 and cnn["fit_ms_per_epoch"] > 0 and cnn["first_epoch_seconds"] > 0
    assert cnn["speedup"] == pytest.approx(cnn["fit_ms_per_epoch"] / cnn["ms_per_epoch"])
    assert len(cnn["pair_speedups"]) == 3 and cnn["speedup"] == sorted(cnn["pair_speedups"])[1]
    assert 1_000 < cnn["frame_bytes"] < 64_000  # filters, feature maps, probe and gallery
    from keras_playground.bench.cnn import format_cnn_report  # the text `bench` prints of the same figures
    text = format_cnn_report(cnn)
    assert "CNN ms per epoch" in text and "CNN speed-up (fit / compiled loop)" in text
    assert f"{cnn['frame_bytes']:,} bytes of JSON" in text
    unet = report["unet"]  # the suggested nuclei U-Net, new patches and a frame (its output map) every epoch
    assert unet["ms_per_epoch"] > 0 and unet["fit_ms_per_epoch"] > 0 and unet["first_epoch_seconds"] > 0
    assert unet["speedup"] == pytest.approx(unet["fit_ms_per_epoch"] / unet["ms_per_epoch"])
    assert 4_096 < unet["frame_bytes"] < 16_000  # one 64x64 probability map, base64
    from keras_playground.bench.unet import format_unet_report

    text = format_unet_report(unet)
    assert "U-Net ms per epoch" in text and "U-Net speed-up (fit / compiled loop)" in text
    assert f"{unet['frame_bytes']:,} bytes of JSON" in text


def test_a_setting_out_of_its_bounds_stops_the_server_with_one_line_naming_it():
    # An administrator's typo: not pydantic's traceback, but the variable as written, the
    # value given and the bound, before anything starts (the port is never bound).
    env = {**ENV, "PLAYGROUND_MAX_ACTIVE_RUNS": "-1", "PLAYGROUND_LIMITS__MAX_EPOCHS": "many"}
    for command in (["serve", "--port", "0"], ["worker"]):
        result = subprocess.run([sys.executable, "-m", "keras_playground.cli", *command], capture_output=True,
                                text=True, timeout=120, env=env)
        assert result.returncode == 2
        assert "Traceback" not in result.stderr
        assert result.stderr.splitlines() == [
            "error: PLAYGROUND_MAX_ACTIVE_RUNS='-1': Input should be greater than or equal to 1",
            "error: PLAYGROUND_LIMITS__MAX_EPOCHS='many': Input should be a valid integer, "
            "unable to parse string as an integer",
            "(every setting and its bounds: docs/settings.md)"]
