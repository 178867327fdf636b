"""A run's end in figures: the `done` event, with the test set's loss, metric, confusion
matrix (or microscopy's scores) computed on the final weights."""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

from ..data import network_inputs
from ..specs import DoneEvent, EpochEvent
from .microscopy import microscopy_scores
from .model import targets
from .names import metric_name

DIVERGED = "The loss became infinite or NaN: the learning rate is probably too high. Lower it and train again."


def finite(value) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def done_event(session, program, state: list, last: EpochEvent | None, tested: bool,
               message: str | None = None) -> DoneEvent:
    """`session`'s DoneEvent, from its final `state` on its `program`; `last`: the epoch
    whose figures it reports; `tested`: whether to score the test set."""
    test_loss = test_metric = matrix = per_class = None
    scores: dict = {}
    parameters = int(program.model.count_params())
    if tested:
        data, spec = session.data, session.spec
        x = tf.constant(network_inputs(data.x_test, spec.features, data.input))
        y = tf.constant(targets(data.y_test, session.kind, session.n_classes))
        y_pred, loss, metric = program.test_figures(state, x, y)  # one forward pass for every figure
        test_loss, test_metric = finite(loss), finite(metric)
        if session.microscopy:
            scores = microscopy_scores(session.kind, y_pred.numpy(), data)
        elif session.kind != "regression":
            matrix = confusion_matrix(session.kind, session.n_classes, y_pred.numpy(), data.y_test)
            per_class = [round(row[i] / sum(row), 4) if sum(row) else None for i, row in enumerate(matrix)]
    if message is None and session.state == "diverged":
        message = DIVERGED
    return DoneEvent(
        state=session.state, epochs=session.epoch,
        loss=last.loss if last else None, metric=last.metric if last else None,
        val_loss=last.val_loss if last else None, val_metric=last.val_metric if last else None,
        test_loss=test_loss, test_metric=test_metric, metric_name=metric_name(session.kind),
        confusion_matrix=matrix, parameters=parameters, message=message, best_epoch=session.best_epoch,
        per_class_accuracy=per_class, **scores)


def confusion_matrix(kind: str, n_classes: int, outputs: np.ndarray, labels: np.ndarray) -> list[list[int]]:
    """[true class][predicted class] counts."""
    predicted = (outputs[:, 0] > 0.5).astype(int) if kind == "binary" else outputs.argmax(-1)
    counts = np.bincount(labels.astype(int) * n_classes + predicted, minlength=n_classes * n_classes)
    return counts.reshape(n_classes, n_classes).tolist()
