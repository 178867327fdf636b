"""A run's `.keras` file, written from its state without Keras's saver, is the file Keras
would save: the same architecture, and every weight and optimizer variable of the run."""

import io
import json
import tempfile
import zipfile
from pathlib import Path

import h5py
import keras
import numpy as np
import pytest

from keras_playground.data import validate_spec
from keras_playground.engine.saving import raw_places, save_with_keras
from keras_playground.engine.session import TrainingSession
from keras_playground.specs import Limits

DENSE = {"dataset": {"name": "spiral", "n_train": 60, "n_val": 20, "n_test": 20, "seed": 2},
         "features": ["x1", "x2", "x1*x2"],
         "layers": [{"units": 6, "activation": "relu", "dropout": 0.2}, {"units": 4, "activation": "tanh"}],
         "training": {"optimizer": "adam", "learning_rate": 0.02, "batch_size": 10, "epochs": 3}}
CNN = {"dataset": {"name": "digits", "params": {"canvas": 16}, "n_train": 64, "n_val": 16, "n_test": 16},
       "layers": [{"type": "conv2d", "filters": 4}, {"type": "batchnorm"}, {"type": "maxpool2d"},
                  {"type": "flatten"}, {"type": "dense", "units": 8}],
       "training": {"optimizer": "rmsprop", "learning_rate": 0.01, "batch_size": 32, "epochs": 2}}
UNET = {"dataset": {"name": "nuclei", "params": {"size": 32, "count": 4, "radius": 4}, "n_train": 6,
                    "n_val": 2, "n_test": 0},
        "unet": {"depth": 1, "base_filters": 4, "batchnorm": True, "output": "foreground", "patch": 16},
        "training": {"optimizer": "sgd", "momentum": 0.9, "learning_rate": 0.05, "batch_size": 4,
                     "loss": "bce_dice", "epochs": 2}}


def trained(raw: dict, seed: int) -> TrainingSession:
    spec = validate_spec({**raw, "training": {**raw["training"], "seed": seed}}, Limits())
    session = TrainingSession(spec, max_frames_per_second=None, cohorts=None)
    while not session.finished:
        session.train_epoch()
    return session


def keras_saved(session: TrainingSession) -> bytes:
    """What `model.save` writes for the session's state (the path the shortcut replaces)."""
    with session._borrow() as program:
        program.load(session._state)
        return save_with_keras(program.model)


def loaded(archive: bytes) -> keras.Model:
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "m.keras").write_bytes(archive)
        return keras.saving.load_model(Path(tmp) / "m.keras")


def saved(model: keras.Model) -> list[np.ndarray]:
    """What a `.keras` file holds of a run: its weights and optimizer variables (not the seed
    of a dropout, which Keras does not save)."""
    return [v.numpy() for v in [*model.weights, *model.optimizer.variables]]


def state_saved(session: TrainingSession) -> list[np.ndarray]:
    with session._borrow() as program:
        paths = [v.path for v in program.variables]
    return [np.asarray(value) for path, value in zip(paths, session._state)
            if not path.endswith("seed_generator_state")]


@pytest.mark.parametrize("raw", [DENSE, CNN, UNET], ids=["dense-dropout-adam", "cnn-batchnorm-rmsprop",
                                                        "unet-batchnorm-momentum"])
def test_a_runs_file_loads_as_the_model_keras_would_save(raw):
    first, second = trained(raw, seed=1), trained(raw, seed=2)
    for session in (first, second):  # the second run's file is written from the same archive
        ours, theirs, state = loaded(session.model_file()), loaded(keras_saved(session)), state_saved(session)
        assert len(saved(ours)) == len(saved(theirs)) == len(state) > 6
        for mine, keras_own, value in zip(saved(ours), saved(theirs), state):
            np.testing.assert_array_equal(mine, keras_own)
            np.testing.assert_array_equal(mine, value)  # the run's own, not a marker
        assert config_of(session.model_file()) == config_of(keras_saved(session))
    with first._borrow() as program:
        assert program._keras_file  # the shortcut wrote them, not Keras's saver
        assert program._keras_file._places  # into the weights file's bytes, not through h5py
    assert not np.array_equal(saved(loaded(first.model_file()))[0], saved(loaded(second.model_file()))[0])


def config_of(archive: bytes) -> dict:
    with zipfile.ZipFile(io.BytesIO(archive)) as z:
        return json.loads(z.read("config.json"))


def test_the_archive_holds_what_keras_writes_with_todays_date_and_the_last_learning_rate():
    session = trained(DENSE, seed=3)
    session.set_learning_rate(0.005)
    assert config_of(session.model_file())["compile_config"]["optimizer"]["config"]["learning_rate"] == \
        pytest.approx(0.005)
    with zipfile.ZipFile(io.BytesIO(session.model_file())) as ours, \
            zipfile.ZipFile(io.BytesIO(keras_saved(session))) as theirs:
        assert ours.namelist() == theirs.namelist()
        # The architecture and the compile settings, the learning rate the run ended with included.
        assert json.loads(ours.read("config.json")) == json.loads(theirs.read("config.json"))
        mine, keras_own = json.loads(ours.read("metadata.json")), json.loads(theirs.read("metadata.json"))
        assert mine["keras_version"] == keras_own["keras_version"]
        assert mine["date_saved"][:10] == keras_own["date_saved"][:10]


def test_a_file_whose_weights_h5py_cannot_point_into_is_written_through_h5py():
    session = trained(DENSE, seed=4)
    with session._borrow() as program:
        session.model_file()
        program._keras_file._places = None  # as for a chunked or compact dataset
    ours, theirs = loaded(session.model_file()), loaded(keras_saved(session))
    for mine, keras_own in zip(saved(ours), saved(theirs)):
        np.testing.assert_array_equal(mine, keras_own)


def test_only_datasets_stored_whole_and_in_place_are_written_as_bytes():
    values = np.arange(6, dtype="<f4").reshape(2, 3)
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as h5:
        h5.create_dataset("plain", data=values)
        h5.create_dataset("chunked", data=values, chunks=(1, 3))
        h5.create_dataset("compressed", data=values, compression="gzip")
        layout = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        layout.set_layout(h5py.h5d.COMPACT)  # the values inside the dataset's header
        compact = h5py.h5d.create(h5.id, b"compact", h5py.h5t.py_create(values.dtype),
                                  h5py.h5s.create_simple(values.shape), dcpl=layout)
        compact.write(h5py.h5s.ALL, h5py.h5s.ALL, values)
    weights = buffer.getvalue()
    [(offset, dtype, shape, index)] = raw_places(weights, [("plain", 7)])
    assert (shape, index) == ((2, 3), 7)
    assert weights[offset:offset + values.nbytes] == values.tobytes()
    assert raw_places(weights, [("plain", 0), ("chunked", 1)]) is None
    assert raw_places(weights, [("compressed", 0)]) is None
    assert raw_places(weights, [("compact", 0)]) is None
