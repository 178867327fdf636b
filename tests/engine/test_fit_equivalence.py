"""The compiled epoch loop must train exactly like model.fit(shuffle=False)."""

import numpy as np
import pytest

from keras_playground.bench.engine import fit_inputs
from keras_playground.engine.session import TrainingSession

CASES = {
    "binary-sgd": dict(optimizer="sgd", learning_rate=0.1),
    "binary-sgd-momentum": dict(optimizer="sgd", learning_rate=0.05, momentum=0.9),
    "binary-adam": dict(optimizer="adam"),
    "binary-rmsprop-l2": dict(optimizer="rmsprop", regularization="l2", regularization_rate=0.01),
    "multiclass-sgd": dict(optimizer="sgd", learning_rate=0.1, dataset={"name": "blobs", "params": {"classes": 4}}),
    "multiclass-adam": dict(optimizer="adam", dataset={"name": "blobs", "params": {"classes": 3}}),
    "regression-adagrad": dict(optimizer="adagrad", learning_rate=0.1, dataset={"name": "plane"}),
    # 103 points in batches of 10: ten full batches and fit's last batch of 3.
    "partial-last-batch": dict(optimizer="adam", dataset={"n_train": 103}),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_twenty_epochs_give_the_weights_and_losses_of_model_fit(spec_factory, case):
    options = dict(CASES[case])
    spec = spec_factory(options.pop("dataset", None),
                        layers=[{"units": 8, "activation": "tanh"}, {"units": 5, "activation": "relu"}],
                        epochs=20, shuffle=False, **options)
    ours = TrainingSession(spec)
    while not ours.finished:
        ours.train_epoch()
    theirs = TrainingSession(spec)
    x, y, xv, yv = fit_inputs(theirs)
    history = theirs.model.fit(x, y, batch_size=spec.training.batch_size, epochs=20, shuffle=False,
                               validation_data=(xv, yv), verbose=0).history

    difference = max(float(np.max(np.abs(a - b)))
                     for a, b in zip(ours.model.get_weights(), theirs.model.get_weights()))
    assert difference <= 1e-5
    metric = "mae" if ours.kind == "regression" else "accuracy"
    for epoch in (0, 9, 19):
        event = ours.history[epoch]
        assert event.loss == pytest.approx(history["loss"][epoch], abs=1e-5)
        assert event.metric == pytest.approx(history[metric][epoch], abs=1e-5)
        assert event.val_loss == pytest.approx(history["val_loss"][epoch], abs=1e-5)
        assert event.val_metric == pytest.approx(history[f"val_{metric}"][epoch], abs=1e-5)


def test_shuffled_runs_are_reproducible_from_their_seeds(spec_factory):
    def final_weights(seed):
        session = TrainingSession(spec_factory(shuffle=True, seed=seed))
        while not session.finished:
            session.train_epoch()
        return session.model.get_weights()

    first, again, other = final_weights(4), final_weights(4), final_weights(9)
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not all(np.array_equal(a, b) for a, b in zip(first, other))
