"""Image models too: the compiled epoch loop trains exactly like model.fit(shuffle=False).

Each case is a small CNN on a small image set; together they cover every image layer
type (conv2d valid and same with strides, maxpool2d, flatten, global_avg_pool, dropout,
batchnorm, dense after flatten) and every optimizer, and the random augmentation layers,
which match only because the loop starts their seed states where `build_model` does.
"""

import numpy as np
import pytest

from keras_playground.bench.cnn import image_fit_inputs
from keras_playground.engine.session import TrainingSession

from .conftest import make_spec

EPOCHS = 3
DIGITS = {"name": "digits", "params": {"canvas": 10}, "n_train": 80, "n_val": 24, "n_test": 0}
SHAPES = {"name": "shapes", "params": {"size": 16}, "n_train": 64, "n_val": 24, "n_test": 0}

CASES = {
    # conv2d valid -> maxpool2d -> flatten -> dense: the classic small CNN
    "conv-valid-maxpool-flatten-dense-sgd-momentum": dict(
        dataset=DIGITS,
        layers=[{"type": "conv2d", "filters": 4}, {"type": "maxpool2d"}, {"type": "flatten"},
                {"units": 8, "activation": "relu"}],
        training=dict(optimizer="sgd", learning_rate=0.05, momentum=0.9)),
    # conv2d same with strides 2 -> conv2d -> global_avg_pool; 70 images in batches of 16:
    # four full batches and fit's last batch of 6
    "conv-same-strides2-global-avg-pool-adam-partial-batch": dict(
        dataset={**SHAPES, "n_train": 70},
        layers=[{"type": "conv2d", "filters": 4, "padding": "same", "strides": 2},
                {"type": "conv2d", "filters": 6, "kernel_size": 2}, {"type": "global_avg_pool"}],
        training=dict(optimizer="adam", learning_rate=0.01)),
    # batchnorm (moving statistics updated in training) and a dropout layer
    "conv-batchnorm-maxpool-dropout-rmsprop": dict(
        dataset=DIGITS,
        layers=[{"type": "conv2d", "filters": 4}, {"type": "batchnorm"}, {"type": "maxpool2d"},
                {"type": "dropout", "rate": 0.3}, {"type": "flatten"}],
        training=dict(optimizer="rmsprop", learning_rate=0.005)),
    # a dense network on the flattened image, with a dense layer's own dropout
    "flatten-dense-dropout-adagrad": dict(
        dataset=DIGITS,
        layers=[{"type": "flatten"}, {"units": 16, "activation": "tanh", "dropout": 0.2}],
        training=dict(optimizer="adagrad", learning_rate=0.1)),
    # the random augmentation layers in front of the network
    "augment-shift-flip-rotate-adam": dict(
        dataset=SHAPES,
        layers=[{"type": "conv2d", "filters": 4}, {"type": "maxpool2d"}, {"type": "flatten"}],
        training=dict(optimizer="adam", learning_rate=0.01,
                      augment={"shift": 0.15, "flip": True, "rotate": 20})),
}


def _spec(case: str):
    options = CASES[case]
    return make_spec(options["dataset"], layers=options["layers"], epochs=EPOCHS, shuffle=False,
                     batch_size=16, **options["training"])


def _seed_states(model):
    """(layer name, state) of each random layer's generator (the variables' own paths carry
    process-wide counters)."""
    return [(layer.name, v.numpy()) for layer in model.layers for v in layer.variables
            if v.path.endswith("seed_generator_state")]


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_three_epochs_give_the_weights_and_losses_of_model_fit(case):
    spec = _spec(case)
    ours = TrainingSession(spec, max_frames_per_second=None)
    assert ours.images
    while not ours.finished:
        ours.train_epoch()
    theirs = TrainingSession(spec)
    x, y, xv, yv = image_fit_inputs(theirs)
    history = theirs.model.fit(x, y, batch_size=spec.training.batch_size, epochs=EPOCHS, shuffle=False,
                               validation_data=(xv, yv), verbose=0).history

    mine, fits = ours.model.get_weights(), theirs.model.get_weights()
    assert len(mine) == len(fits)
    difference = max(float(np.max(np.abs(a - b))) for a, b in zip(mine, fits))
    assert difference <= 1e-5
    # The random layers' generators (dropout, augmentation) moved on alike: same draws next epoch.
    seeds, fit_seeds = _seed_states(ours.model), _seed_states(theirs.model)
    assert [name for name, _ in seeds] == [name for name, _ in fit_seeds]
    assert all(np.array_equal(a, b) for (_, a), (_, b) in zip(seeds, fit_seeds))
    for epoch in range(EPOCHS):
        event = ours.history[epoch]
        assert event.loss == pytest.approx(history["loss"][epoch], abs=1e-5)
        assert event.metric == pytest.approx(history["accuracy"][epoch], abs=1e-5)
        assert event.val_loss == pytest.approx(history["val_loss"][epoch], abs=1e-5)
        assert event.val_metric == pytest.approx(history["val_accuracy"][epoch], abs=1e-5)


def test_the_cases_cover_every_image_layer_type_and_optimizer():
    layers = [layer for case in CASES.values() for layer in case["layers"]]
    types = {layer.get("type", "dense") for layer in layers}
    assert types == {"conv2d", "maxpool2d", "flatten", "global_avg_pool", "dropout", "batchnorm", "dense"}
    assert {layer.get("padding", "valid") for layer in layers if layer.get("type") == "conv2d"} == {"valid", "same"}
    assert any(layer.get("strides", 1) == 2 for layer in layers)
    assert {case["training"]["optimizer"] for case in CASES.values()} == {"sgd", "adam", "rmsprop", "adagrad"}
