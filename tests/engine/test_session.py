"""What one run emits: epochs, frames, final figures; divergence and early stopping."""

import base64
import math

import numpy as np
import pytest

from keras_playground.engine.session import TrainingSession


def train_all(session):
    events = []
    while not session.finished:
        events += session.train_epoch()
    return events


def decode(b64: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(b64), dtype=np.uint8)


def test_every_epoch_reports_train_and_validation_figures(spec_factory):
    session = TrainingSession(spec_factory(epochs=7))
    events = train_all(session)
    epochs = [e for e in events if e.kind == "epoch"]
    assert [e.epoch for e in epochs] == list(range(1, 8))
    for e in epochs:
        assert e.loss > 0 and 0 <= e.metric <= 1 and e.val_loss > 0 and 0 <= e.val_metric <= 1
        assert e.learning_rate == pytest.approx(0.02) and e.seconds > 0
    assert session.state == "finished"


def test_frames_come_at_the_cadence_and_always_first_and_last(spec_factory):
    session = TrainingSession(spec_factory(epochs=10, frame_every=4), max_frames_per_second=None)
    frames = [e for e in train_all(session) if e.kind == "frame"]
    assert [f.epoch for f in frames] == [1, 4, 8, 10]


def test_a_frame_holds_the_boundary_neuron_maps_and_weights(spec_factory):
    layers = [{"units": 5, "activation": "relu"}, {"units": 3, "activation": "tanh"}]
    session = TrainingSession(spec_factory(layers=layers, epochs=1), resolution=32, thumb=8)
    frame = next(e for e in session.train_epoch() if e.kind == "frame")
    boundary = decode(frame.boundary)
    assert boundary.shape == (32 * 32,) and frame.resolution == 32
    assert boundary.min() < boundary.max()  # a real probability map, not a constant
    x_min, x_max, y_min, y_max = frame.extent
    assert x_min < -0.9 and x_max > 0.9 and y_min < -0.9 and y_max > 0.9
    assert [len(layer) for layer in frame.neurons] == [5, 3]
    assert all(decode(m).shape == (64,) for layer in frame.neurons for m in layer)
    assert [len(r) for r in frame.neuron_ranges] == [5, 3]
    shapes = [(len(w.kernel), len(w.kernel[0]), len(w.bias)) for w in frame.weights]
    assert shapes == [(2, 5, 5), (5, 3, 3), (3, 1, 1)]


def test_the_boundary_grid_is_the_models_own_prediction(spec_factory):
    session = TrainingSession(spec_factory(layers=[], epochs=1), resolution=16)
    frame = next(e for e in session.train_epoch() if e.kind == "frame")
    grid = decode(frame.boundary).reshape(16, 16)
    x_min, x_max, y_min, y_max = frame.extent
    # Cell (row 0, col 0) is the bottom-left corner of the plane.
    corner = np.array([[x_min + (x_max - x_min) / 32, y_min + (y_max - y_min) / 32]], "float32")
    probability = float(session.model(corner, training=False).numpy()[0, 0])
    assert grid[0, 0] == round(probability * 255)


def test_frames_are_rate_limited(spec_factory):
    session = TrainingSession(spec_factory(epochs=30), max_frames_per_second=0.001)
    frames = [e.epoch for e in train_all(session) if e.kind == "frame"]
    assert frames == [1, 30]


def test_done_reports_test_figures_confusion_matrix_and_parameters(spec_factory):
    session = TrainingSession(spec_factory(layers=[{"units": 8, "activation": "relu"}], epochs=30))
    train_all(session)
    done = session.done_event()
    assert done.state == "finished" and done.epochs == 30
    assert done.parameters == (2 * 8 + 8) + (8 + 1)
    matrix = np.array(done.confusion_matrix)
    assert matrix.shape == (2, 2) and matrix.sum() == 40
    assert done.test_metric == pytest.approx(np.trace(matrix) / 40, abs=1e-6)
    assert done.metric_name == "accuracy"


@pytest.mark.parametrize("data, training", [
    ({}, {"regularization": "l2", "regularization_rate": 0.01}),  # the penalty is part of the loss
    ({"name": "blobs", "params": {"classes": 3}}, {}),
    ({"name": "plane"}, {"optimizer": "sgd", "learning_rate": 0.05}),
], ids=["binary-l2", "multiclass", "regression"])
def test_done_test_figures_are_keras_evaluate_of_each_runs_own_weights(spec_factory, data, training):
    """The test set's loss and metric in `done` are what Keras's `model.evaluate` gives for
    the run's final weights; two runs sharing one program each get their own."""
    from keras_playground.data import network_inputs
    from keras_playground.engine.model import targets
    from keras_playground.engine.pool import ProgramPool

    pool = ProgramPool()
    specs = [spec_factory(data, layers=[{"units": 6, "activation": "tanh"}], epochs=4, seed=seed, **training)
             for seed in (1, 2)]
    sessions = [TrainingSession(spec, pool=pool, cohorts=None) for spec in specs]
    for session in sessions:  # both trained before either ends: the program last held the second's
        train_all(session)
    for spec, session in zip(specs, sessions):
        done, d = session.done_event(), session.data
        x = network_inputs(d.x_test, spec.features, d.input)
        keras_figures = session.model.evaluate(x, targets(d.y_test, session.kind, session.n_classes),
                                               batch_size=len(x), verbose=0, return_dict=True)
        metric = next(v for k, v in keras_figures.items() if k != "loss")
        assert done.test_loss == pytest.approx(keras_figures["loss"], abs=1e-6)
        assert done.test_metric == pytest.approx(metric, abs=1e-6)
    assert pool.created == 1  # both runs ended on the one program


def test_multiclass_has_softmax_output_and_a_k_by_k_matrix(spec_factory):
    spec = spec_factory({"name": "blobs", "params": {"classes": 5}}, epochs=25,
                        layers=[{"units": 8, "activation": "relu"}])
    session = TrainingSession(spec)
    frames = [e for e in train_all(session) if e.kind == "frame"]
    assert session.model.layers[-1].activation.__name__ == "softmax"
    assert set(decode(frames[-1].boundary)) <= set(range(5))  # class index per cell
    done = session.done_event()
    assert np.array(done.confusion_matrix).shape == (5, 5)
    assert done.test_metric > 0.6  # blobs are easy: learning must have happened


def test_regression_reports_mae(spec_factory):
    session = TrainingSession(spec_factory({"name": "plane"}, layers=[], epochs=40, learning_rate=0.05))
    train_all(session)
    done = session.done_event()
    assert done.metric_name == "mae" and done.confusion_matrix is None
    assert session.model.layers[-1].activation.__name__ == "linear"
    assert done.test_metric < 0.2  # a plane is exactly learnable by one linear neuron


def test_single_neuron_is_one_dense_layer_with_zero_bias_at_start(spec_factory):
    session = TrainingSession(spec_factory(layers=[], epochs=1))
    assert len(session.model.layers) == 1
    assert session.model.count_params() == 3  # w1, w2, b
    assert float(session.model.layers[0].bias.numpy()[0]) == 0.0


def test_a_huge_learning_rate_diverges_cleanly(spec_factory):
    spec = spec_factory({"name": "plane", "params": {"a": 5, "b": 5}}, optimizer="sgd",
                        learning_rate=10, epochs=50, layers=[{"units": 16, "activation": "linear"}] * 3)
    session = TrainingSession(spec)
    events = train_all(session)
    assert session.state == "diverged"
    assert session.epoch < 50
    assert events[-1].kind == "epoch" and events[-1].loss is None
    done = session.done_event()
    assert done.state == "diverged" and "learning rate" in done.message
    assert done.loss is None or math.isfinite(done.loss)
    done.model_dump_json()  # no NaN may reach JSON


def test_early_stopping_ends_the_run_when_validation_loss_stops_improving(spec_factory):
    spec = spec_factory({"n_train": 20, "noise": 0.3}, layers=[{"units": 64, "activation": "relu"}] * 3,
                        epochs=2000, early_stopping_patience=5, learning_rate=0.05)
    session = TrainingSession(spec)
    train_all(session)
    assert session.state == "early_stopped"
    assert session.epoch < 2000
    losses = [e.val_loss for e in session.history]
    best = int(np.argmin(losses))
    assert session.epoch == best + 1 + 5  # exactly `patience` epochs without a better val loss


def test_live_learning_rate_change_keeps_the_weights(spec_factory):
    session = TrainingSession(spec_factory(optimizer="sgd", learning_rate=0.1, epochs=5))
    session.train_epoch()
    before = [w.copy() for w in session.model.get_weights()]
    session.set_learning_rate(0.0)
    event = session.train_epoch()[0]
    assert event.learning_rate == 0.0
    assert all(np.array_equal(a, b) for a, b in zip(before, session.model.get_weights()))
    session.set_learning_rate(0.1)
    session.train_epoch()
    assert not all(np.array_equal(a, b) for a, b in zip(before, session.model.get_weights()))


# ----- epoch 0: the untrained network -----

def test_epoch_0_is_the_untrained_network_before_the_first_update(spec_factory):
    from keras_playground.engine.program import evaluate
    from keras_playground.engine.session import plane_grid

    session = TrainingSession(spec_factory(layers=[], epochs=3), resolution=16)
    start, frame = session.start_events()
    assert start.kind == "start" and start.epoch == 0 and frame.kind == "frame" and frame.epoch == 0
    assert session.epoch == 0 and session.history == []
    # random weights, zero bias
    assert frame.weights[0].bias == [0.0] and any(w != 0 for row in frame.weights[0].kernel for w in row)
    # one evaluation of the untrained model on the training and validation sets
    model = session.model
    loss, metric = evaluate(model, "binary", session._x, session._y)
    val_loss, val_metric = evaluate(model, "binary", session._xv, session._yv)
    assert start.loss == pytest.approx(float(loss), rel=1e-4) and start.metric == pytest.approx(float(metric))
    assert start.val_loss == pytest.approx(float(val_loss), rel=1e-4)
    assert start.val_metric == pytest.approx(float(val_metric))
    # its boundary is the untrained model's prediction
    grid = plane_grid(frame.extent, 16)
    expected = np.round(model.predict(grid, verbose=0)[:, 0] * 255)
    assert np.abs(decode(frame.boundary).astype(int) - expected).max() <= 1
    # told once, and never after the first epoch; training then runs epochs 1..N as before
    assert session.start_events() == []
    epochs = [e.epoch for e in train_all(session) if e.kind == "epoch"]
    assert epochs == [1, 2, 3] and [e.epoch for e in session.history] == [1, 2, 3]


def test_epoch_0_does_not_change_the_training(spec_factory):
    plain = TrainingSession(spec_factory(epochs=3))
    told = TrainingSession(spec_factory(epochs=3))
    told.start_events()
    a = [e.loss for e in train_all(plain) if e.kind == "epoch"]
    b = [e.loss for e in train_all(told) if e.kind == "epoch"]
    assert a == pytest.approx(b, rel=1e-6)


def test_drive_tells_epoch_0_first_even_when_the_run_starts_paused(spec_factory):
    import threading
    import time

    from keras_playground.engine.control import Command, QueueControl, drive

    events = []
    control = QueueControl()
    session = TrainingSession(spec_factory(epochs=2))
    thread = threading.Thread(target=drive, args=(session, control, events.append),
                              kwargs={"start_paused": True, "paused_poll_seconds": 0.01}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while len(events) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [e.kind for e in events[:3]] == ["status", "start", "frame"] and events[2].epoch == 0
    assert not any(e.kind == "epoch" for e in events)  # still paused: nothing trained
    control.send(Command("stop"))
    thread.join(30)
    assert events[-1].kind == "done" and events[-1].epochs == 0


def _frames_by_epoch(events):
    return {e.epoch: e for e in events if e.kind == "frame"}


def test_early_stopping_keeps_the_weights_of_the_best_validation_epoch(spec_factory):
    """As Keras's EarlyStopping(monitor='val_loss', patience=5, restore_best_weights=True)."""
    spec = spec_factory({"n_train": 20, "noise": 0.3}, layers=[{"units": 64, "activation": "relu"}] * 3,
                        epochs=2000, early_stopping_patience=5, learning_rate=0.05)
    session = TrainingSession(spec, max_frames_per_second=None)  # a frame after every epoch
    frames = _frames_by_epoch(train_all(session))
    assert session.state == "early_stopped"
    best = int(np.argmin([e.val_loss for e in session.history])) + 1
    assert best < session.epoch
    final = session.final_frame()  # the restored weights, drawn again
    assert final is not None and final.weights == frames[best].weights != frames[session.epoch].weights
    done = session.done_event()
    assert done.best_epoch == best and done.epochs == best + 5
    assert done.val_loss == session.history[best - 1].val_loss  # the figures of the kept epoch
    kernel = session.model.layers[0].get_weights()[0]
    assert np.allclose(np.round(kernel, 5), frames[best].weights[0].kernel)  # the saved model too


def test_a_run_that_ends_without_stopping_early_also_keeps_its_best_epoch(spec_factory):
    spec = spec_factory({"n_train": 20, "noise": 0.3}, layers=[{"units": 64, "activation": "relu"}] * 3,
                        epochs=60, early_stopping_patience=1000, learning_rate=0.05)
    session = TrainingSession(spec, max_frames_per_second=None)
    frames = _frames_by_epoch(train_all(session))
    assert session.state == "finished"
    best = int(np.argmin([e.val_loss for e in session.history])) + 1
    assert best < 60  # this overfitting run's validation loss is lowest before the end
    final = session.final_frame()
    assert final.weights == frames[best].weights
    assert session.done_event().best_epoch == best


def test_without_early_stopping_the_last_weights_are_kept(spec_factory):
    session = TrainingSession(spec_factory(epochs=5), max_frames_per_second=None)
    train_all(session)
    assert session.final_frame() is None  # the last epoch's frame already shows them
    assert session.done_event().best_epoch is None
