"""U-Nets too: the compiled epoch loop trains exactly like model.fit on the same patches.

The session draws new patches every epoch; model.fit gets the very arrays the session
trained on (recorded after each epoch), in the session's order (a permutation from the
training seed when shuffling), one fit call an epoch (its optimizer and dropout seeds carry on). Two cases: a foreground
U-Net with batch normalization and dropout (Adam, shuffled, a last smaller batch) and a
restoration U-Net (SGD with momentum, in order).
"""

import numpy as np
import pytest

from keras_playground.data import network_inputs
from keras_playground.data.validate import validate_spec
from keras_playground.engine.model import targets
from keras_playground.engine.session import TrainingSession
from keras_playground.specs import Limits

EPOCHS = 3
SMALL = {"size": 32, "count": 4, "radius": 4}
CASES = {
    "foreground-batchnorm-dropout-adam-shuffled": {
        "dataset": {"name": "nuclei", "params": SMALL, "n_train": 10, "n_val": 4, "n_test": 0, "seed": 3},
        "unet": {"depth": 2, "base_filters": 4, "batchnorm": True, "dropout": 0.3, "output": "foreground",
                 "patch": 16},
        "training": {"optimizer": "adam", "learning_rate": 0.01, "batch_size": 4, "loss": "bce_dice",
                     "shuffle": True, "seed": 5}},
    "restored-sgd-momentum": {
        "dataset": {"name": "nuclei-denoise", "params": SMALL, "n_train": 8, "n_val": 4, "n_test": 0,
                    "noise": 0.05, "seed": 4},
        "unet": {"depth": 1, "base_filters": 4, "batchnorm": False, "output": "restored", "patch": 16},
        "training": {"optimizer": "sgd", "learning_rate": 0.05, "momentum": 0.9, "batch_size": 4,
                     "loss": "mse", "shuffle": False, "seed": 6}},
}


def _spec(case: str):
    raw = CASES[case]
    return validate_spec({**raw, "training": {**raw["training"], "epochs": EPOCHS}}, Limits())


def _seed_states(model):
    return [(layer.name, v.numpy()) for layer in model.layers for v in layer.variables
            if v.path.endswith("seed_generator_state")]


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_three_epochs_on_the_same_patches_give_the_weights_of_model_fit(case):
    spec = _spec(case)
    ours = TrainingSession(spec, max_frames_per_second=None)
    assert ours.microscopy
    seen = []
    while not ours.finished:
        ours.train_epoch()
        seen.append((ours._x.numpy(), ours._y.numpy()))  # the patches this epoch trained on

    theirs = TrainingSession(spec)
    order = np.random.default_rng(spec.training.seed)  # the session's order: its own generator
    n = spec.dataset.n_train
    data = theirs.data
    xv = network_inputs(data.x_val, spec.features, data.input)
    yv = targets(data.y_val, theirs.kind, theirs.n_classes)
    history: dict[str, list] = {}
    for x, y in seen:
        perm = order.permutation(n) if spec.training.shuffle else np.arange(n)
        step = theirs.model.fit(x[perm], y[perm], batch_size=spec.training.batch_size, epochs=1, shuffle=False,
                                validation_data=(xv, yv), verbose=0).history
        for key, values in step.items():
            history.setdefault(key, []).extend(values)

    mine, fits = ours.model.get_weights(), theirs.model.get_weights()
    assert len(mine) == len(fits)
    difference = max(float(np.max(np.abs(a - b))) for a, b in zip(mine, fits))
    assert difference <= 1e-5
    seeds, fit_seeds = _seed_states(ours.model), _seed_states(theirs.model)
    assert [name for name, _ in seeds] == [name for name, _ in fit_seeds]
    assert all(np.array_equal(a, b) for (_, a), (_, b) in zip(seeds, fit_seeds))
    metric = "dice" if theirs.kind == "segmentation" else "psnr"
    for epoch in range(EPOCHS):
        event = ours.history[epoch]
        assert event.loss == pytest.approx(history["loss"][epoch], abs=1e-5)
        assert event.metric == pytest.approx(history[metric][epoch], abs=1e-4)
        assert event.val_loss == pytest.approx(history["val_loss"][epoch], abs=1e-5)
