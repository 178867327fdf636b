"""One compiled call per epoch: every batch through `model.train_step`, then validation,
then (only when a frame is due) the boundary grid and the neuron maps.

`model.fit` spends 20-45 ms an epoch on a tiny network in set-up and callbacks. Looping
over the batches inside one `tf.function` that calls the compiled model's own
`train_step` runs the same optimizer, loss and metrics, so it yields the same weights as
`model.fit(shuffle=False)`, in a few milliseconds. All shapes are fixed per run and the
shuffle order comes in as a tensor, so a run traces once.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from .model import dense_layers


def evaluate(model: keras.Model, kind: str, x, y):
    """(loss, metric) on a whole set, as `model.evaluate` reports them (regularization included)."""
    y_pred = model(x, training=False)
    loss = model.compute_loss(x=x, y=y, y_pred=y_pred, training=False)
    if kind == "binary":
        metric = tf.reduce_mean(tf.cast(tf.equal(tf.cast(y_pred > 0.5, y.dtype), y), tf.float32))
    elif kind == "multiclass":
        metric = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(y_pred, -1), tf.argmax(y, -1)), tf.float32))
    else:
        metric = tf.reduce_mean(tf.abs(y_pred - y))
    return loss, metric


def _quantize(values, low, high):
    scaled = (values - low) / tf.maximum(high - low, 1e-12)
    return tf.cast(tf.round(tf.clip_by_value(scaled, 0.0, 1.0) * 255.0), tf.uint8)


class EpochProgram:
    """The compiled epoch of one model; call `run` once per epoch."""

    def __init__(self, model: keras.Model, kind: str, *, n_train: int, batch_size: int,
                 n_features: int, n_outputs: int, has_val: bool,
                 output_range: tuple[float, float] = (0.0, 1.0)):
        self.model, self.kind = model, kind
        self.n_full, self.rest = divmod(n_train, batch_size)
        self.batch_size, self.n_features, self.n_outputs = batch_size, n_features, n_outputs
        self.has_val = has_val
        self.output_range = output_range
        self._hidden = dense_layers(model)[:-1]
        # Builds the optimizer, loss and metric variables outside the traced loop (as fit does).
        model._symbolic_build(data_batch=(np.zeros((batch_size, n_features), "float32"),
                                          np.zeros((batch_size, n_outputs), "float32")))
        self._compiled = tf.function(self._epoch, jit_compile=False)

    def _train(self, x, y, perm):
        model, b, n_full = self.model, self.batch_size, self.n_full
        model.reset_metrics()
        x, y = tf.gather(x, perm), tf.gather(y, perm)
        if n_full:
            xb = tf.reshape(x[:n_full * b], (n_full, b, self.n_features))
            yb = tf.reshape(y[:n_full * b], (n_full, b, self.n_outputs))
            for i in tf.range(n_full):
                model.train_step((xb[i], yb[i]))
        if self.rest:  # model.fit's last, smaller batch
            model.train_step((x[n_full * b:], y[n_full * b:]))
        return model.get_metrics_result()

    def _probe(self, grid, thumbs):
        """Output over the boundary grid and every hidden neuron over the thumbnail grid."""
        out = self.model(grid, training=False)
        if self.kind == "binary":
            boundary = _quantize(out[:, 0], 0.0, 1.0)
        elif self.kind == "multiclass":
            boundary = tf.cast(tf.argmax(out, -1), tf.uint8)
        else:
            boundary = _quantize(out[:, 0], *self.output_range)
        maps, ranges, h = [], [], thumbs
        for layer in self._hidden:
            h = layer(h)
            low, high = tf.reduce_min(h, 0), tf.reduce_max(h, 0)
            maps.append(tf.transpose(_quantize(h, low, high)))  # [units][pixels]
            ranges.append(tf.stack([low, high], -1))
        return boundary, maps, ranges

    def _epoch(self, x, y, perm, xv, yv, grid, thumbs, want_frame):
        logs = self._train(x, y, perm)
        result = {"loss": logs["loss"], "metric": logs[next(k for k in logs if k != "loss")]}
        if self.has_val:
            result["val_loss"], result["val_metric"] = evaluate(self.model, self.kind, xv, yv)

        def empty():
            return (tf.zeros(tf.shape(grid)[:1], tf.uint8),
                    [tf.zeros((layer.units, tf.shape(thumbs)[0]), tf.uint8) for layer in self._hidden],
                    [tf.zeros((layer.units, 2)) for layer in self._hidden])

        result["frame"] = tf.cond(want_frame, lambda: self._probe(grid, thumbs), empty)
        return result

    def run(self, x, y, perm, xv, yv, grid, thumbs, want_frame: bool) -> dict:
        """Train one epoch in `perm` order; numpy results, and the probe when `want_frame`."""
        out = self._compiled(x, y, perm, xv, yv, grid, thumbs, tf.constant(want_frame))
        return tf.nest.map_structure(lambda t: t.numpy(), out)
