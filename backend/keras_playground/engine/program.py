"""One compiled call per epoch: every batch through `model.train_step`, then validation,
then (only when a frame is due) the probe: the boundary grid and the neuron maps of points,
or the filters, feature maps and predictions of images (see `probes`).

`model.fit` spends 20-45 ms an epoch on a tiny network in set-up and callbacks. Looping
over the batches inside one `tf.function` that calls the compiled model's own
`train_step` runs the same optimizer, loss and metrics, so it yields the same weights as
`model.fit(shuffle=False)`, in a few milliseconds. All shapes are fixed per run and the
shuffle order comes in as a tensor, so a program traces once.

A program is shared by every run of the same architecture (see `pool`): the run's state
(weights, optimizer slots, seeds) goes in at the start of the call and comes back out at
the end, so one trace serves them all.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from .model import dense_layers, initial_weights
from .unet import foreground_of, hard_dice, hard_iou
from .probes import MICROSCOPY, ImageProbe, MapProbe, PlaneProbe
from .saving import KerasFile, save_with_keras


def evaluate(model: keras.Model, kind: str, x, y, y_pred=None):
    """(loss, metric) on a whole set, as `model.evaluate` reports them (regularization
    included); `y_pred`: the model's outputs on `x`, when the caller has them already."""
    if y_pred is None:
        y_pred = model(x, training=False)
    loss = model.compute_loss(x=x, y=y, y_pred=y_pred, training=False)
    if kind == "binary":
        metric = tf.reduce_mean(tf.cast(tf.equal(tf.cast(y_pred > 0.5, y.dtype), y), tf.float32))
    elif kind == "multiclass":
        metric = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(y_pred, -1), tf.argmax(y, -1)), tf.float32))
    elif kind == "segmentation":
        output = "foreground" if y.shape[-1] == 1 else "three_class"
        metric = hard_dice(foreground_of(y, output), foreground_of(y_pred, output))
    elif kind == "restoration":
        metric = psnr(y, y_pred)
    else:
        metric = tf.reduce_mean(tf.abs(y_pred - y))
    return loss, metric


def psnr(clean, restored):
    """Mean PSNR (dB, data range 1) over the images."""
    mse = tf.reduce_mean(tf.square(clean - restored), axis=(1, 2, 3))
    return tf.reduce_mean(10.0 * tf.math.log(1.0 / tf.maximum(mse, 1e-12)) / tf.math.log(10.0))


def extras(model: keras.Model, kind: str, x, y) -> dict:
    """Microscopy's other figures on a set: IoU, pixel accuracy and what predicting "all
    background" would score (segmentation); SSIM (restoration)."""
    y_pred = model(x, training=False)
    if kind == "restoration":
        return {"val_ssim": tf.reduce_mean(tf.image.ssim(y, tf.clip_by_value(y_pred, 0.0, 1.5), max_val=1.0))}
    output = "foreground" if y.shape[-1] == 1 else "three_class"
    truth, prob = foreground_of(y, output) > 0.5, foreground_of(y_pred, output) > 0.5
    return {"val_iou": hard_iou(tf.cast(truth, tf.float32), tf.cast(prob, tf.float32)),
            "val_pixel_accuracy": tf.reduce_mean(tf.cast(tf.equal(truth, prob), tf.float32)),
            "background_accuracy": 1.0 - tf.reduce_mean(tf.cast(truth, tf.float32))}


def sum_over_one_replica(optimizer: keras.optimizers.Optimizer) -> None:
    """Keras's TensorFlow optimizer sums each step's gradients over the replicas with
    `tf.distribute`'s all-reduce. With no strategy (ours: one replica) the sum of one is the
    gradient itself, but in a traced function that all-reduce is a `tf.custom_gradient`,
    which TensorFlow registers in its global gradient registry under a new name at every
    trace, and never removes: its closures hold the whole traced epoch, so every program
    the pool traced and later dropped kept about 2.5 MiB for as long as the process lived.
    So a program's own optimizer passes the gradients through, as Keras does when there is
    no replica context; `model.fit`'s optimizer and the weights are untouched."""
    if not tf.distribute.has_strategy():
        optimizer._all_reduce_sum_gradients = list


def call(concrete, args: tuple):
    """`concrete(*args)` for a nest of tensors or arrays, skipping the binding of the
    arguments to the function's signature: ~0.5 ms a call for a solo epoch, ~0.9 ms for a
    cohort's (a third of an XLA epoch, more than a cohort's whole XLA call). The flattened
    arguments, as tensors, are the call's inputs."""
    call_flat = getattr(concrete, "_call_flat", None)
    if call_flat is None:  # a TensorFlow without it
        return concrete(*args)
    flat = [a if isinstance(a, tf.Tensor) else tf.convert_to_tensor(a) for a in tf.nest.flatten(args)]
    return call_flat(flat, concrete.captured_inputs)


class EpochProgram:
    """The compiled epoch of one architecture; `run` trains one epoch of a run's state."""

    def __init__(self, model: keras.Model, kind: str, *, n_train: int, batch_size: int,
                 input_shape: tuple[int, ...], n_outputs: int, has_val: bool,
                 target_shape: tuple[int, ...] | None = None, jit_compile: bool = False):
        """`target_shape`: one target's shape when it is not (n_outputs,) (a U-Net's maps).
        `jit_compile`: the epoch compiled by XLA at its first call (the "xla" tier, see
        `tiers`) instead of run as a traced graph (the "traced" tier)."""
        self.model, self.kind = model, kind
        self.n_full, self.rest = divmod(n_train, batch_size)
        self.batch_size, self.input_shape, self.n_outputs = batch_size, tuple(input_shape), n_outputs
        self.target_shape = tuple(target_shape or (n_outputs,))
        self.has_val = has_val
        if kind in MICROSCOPY:
            self.view = MapProbe(model, kind)
        elif len(self.input_shape) == 3:
            self.view = ImageProbe(model, kind, self.input_shape)
        else:
            self.view = PlaneProbe(model, kind)
        # Where each Dense layer's kernel and bias sit in a state (model.variables order).
        slot = {id(v): i for i, v in enumerate(model.variables)}
        self.weight_slots = [(slot[id(layer.kernel)], slot[id(layer.bias)]) for layer in dense_layers(model)]
        # Builds the optimizer, loss and metric variables outside the traced loop (as fit does).
        model._symbolic_build(data_batch=(np.zeros((batch_size, *self.input_shape), "float32"),
                                          np.zeros((batch_size, *self.target_shape), "float32")))
        sum_over_one_replica(model.optimizer)
        self.variables = [*model.variables, *model.optimizer.variables]
        # Untouched optimizer slots (zeros for most, 0.1 for Adagrad's accumulators).
        self._initial_optimizer = [tf.identity(v.value) for v in model.optimizer.variables]
        self.learning_rate_index = next(i for i, v in enumerate(self.variables)
                                        if v is model.optimizer.learning_rate)
        self._use_tier(jit_compile)
        self._frame_flags = (tf.constant(False), tf.constant(True))  # made once, not every epoch
        # The shapes and dtypes of the first `run`: what a compile of this epoch needs to
        # warm up on (see `warm_up`). None until the program has run.
        self.call_signature = None
        self.epochs_run = 0
        self._keras_file: KerasFile | bool | None = None  # its `.keras` archive, made at the first save
        self._test_figures = None  # traced at the first `test_figures`

    def _use_tier(self, jit_compile: bool) -> None:
        self.tier = "xla" if jit_compile else "traced"
        self._compiled = tf.function(self._epoch, jit_compile=jit_compile)
        # Traced once per input shape; called directly, which skips tf.function's
        # per-call argument matching (about a millisecond an epoch).
        self._concrete: dict[tuple, object] = {}

    def compile_with_xla(self) -> "EpochProgram":
        """Turn this (not yet run) program into the XLA tier; returns it. XLA compiles at the
        first call: `warm_up` then makes that call."""
        if self.epochs_run:
            raise RuntimeError("a program changes tier only before its first epoch")
        self._use_tier(True)
        return self

    # ----- a run's state -----

    def initial_state(self, seed: int, learning_rate: float) -> list[tf.Tensor]:
        """A new run's state: the weights `build_model` gives for `seed`, an untouched optimizer."""
        weights = [tf.constant(value) for value in initial_weights(self.model, seed)]
        state = weights + list(self._initial_optimizer)
        state[self.learning_rate_index] = tf.constant(learning_rate, state[self.learning_rate_index].dtype)
        return state

    def load(self, state: list[tf.Tensor]) -> None:
        """Put a run's state into the shared model (for eager use: predictions, saving)."""
        for variable, value in zip(self.variables, state):
            variable.assign(value)

    def test_figures(self, state: list, x, y) -> tuple:
        """A run's outputs, loss and metric on a whole set (as `evaluate`), from its state,
        in one traced call (traced at the program's first, per shape). Eager, the forward
        pass, loss and metric cost 5-8 ms a run under the GIL, and a class whose runs end
        together ends thirty at once, one after the other on their shared program."""
        if self._test_figures is None:
            self._test_figures = tf.function(self._figures, autograph=False, reduce_retracing=True)
        weights = [v if isinstance(v, tf.Tensor) else tf.constant(v) for v in state[:len(self.model.variables)]]
        return self._test_figures(weights, x, y)

    def _figures(self, weights, x, y):
        for variable, value in zip(self.model.variables, weights):
            variable.assign(value)
        y_pred = self.model(x, training=False)
        return (y_pred, *evaluate(self.model, self.kind, x, y, y_pred))

    def keras_file(self, state: list) -> bytes:
        """The `.keras` file of a run whose state is `state` (see `saving`: Keras saves this
        program once; each run's file is that archive with its own values)."""
        if self._keras_file is None:
            try:
                self._keras_file = KerasFile(self)
            except ValueError:  # a variable the shortcut cannot write: Keras saves every run
                self._keras_file = False
        if not self._keras_file:
            self.load(state)
            return save_with_keras(self.model)
        return self._keras_file.write(state)

    # ----- the compiled epoch -----

    def _train(self, x, y, perm):
        model, b, n_full = self.model, self.batch_size, self.n_full
        model.reset_metrics()
        x, y = tf.gather(x, perm), tf.gather(y, perm)
        if n_full:
            xb = tf.reshape(x[:n_full * b], (n_full, b, *self.input_shape))
            yb = tf.reshape(y[:n_full * b], (n_full, b, *self.target_shape))
            for i in tf.range(n_full):
                model.train_step((xb[i], yb[i]))
        if self.rest:  # model.fit's last, smaller batch
            model.train_step((x[n_full * b:], y[n_full * b:]))
        return model.get_metrics_result()

    def probe(self, *inputs):
        """What a frame shows of the current weights (the view's inputs: see `probes`)."""
        return self.view.probe(*inputs)

    def _epoch(self, state, x, y, perm, xv, yv, view_inputs, want_frame):
        for variable, value in zip(self.variables, state):
            variable.assign(value)
        logs = self._train(x, y, perm)
        result = {"loss": logs["loss"], "metric": logs[next(k for k in logs if k != "loss")]}
        if self.has_val:
            result["val_loss"], result["val_metric"] = evaluate(self.model, self.kind, xv, yv)
            if self.kind in MICROSCOPY:
                result["extras"] = extras(self.model, self.kind, xv, yv)
        result["frame"] = tf.cond(want_frame, lambda: self.view.probe(*view_inputs),
                                  lambda: self.view.empty(*view_inputs))
        return result, [tf.identity(v) for v in self.variables]

    def run(self, state, x, y, perm, xv, yv, view_inputs: tuple, want_frame: bool):
        """Train one epoch of `state` in `perm` order: (numpy results, the new state)."""
        args = (state, x, y, perm, xv, yv, tuple(view_inputs), self._frame_flags[bool(want_frame)])
        shapes = (xv.shape[0], *(tuple(t.shape) for t in view_inputs))
        concrete = self._concrete.get(shapes)
        if concrete is None:
            concrete = self._concrete[shapes] = self._compiled.get_concrete_function(*args)
            if self.call_signature is None:
                self.call_signature = tf.nest.map_structure(tf.TensorSpec.from_tensor, args[1:])
        result, new_state = call(concrete, args)
        self.epochs_run += 1
        return tf.nest.map_structure(lambda t: t.numpy(), result), new_state

    def warm_up(self, call_signature) -> None:
        """One epoch on an initial state and zeros of a run's shapes (`call_signature` of a
        program that ran): traces this program and, on the XLA tier, compiles it, so a run's
        first epoch here pays neither. Raises what the compiler raises (an unsupported op)."""
        x, y, perm, xv, yv, view_inputs, _ = tf.nest.map_structure(
            lambda spec: tf.zeros(spec.shape, spec.dtype), call_signature)
        state = self.initial_state(seed=0, learning_rate=0.0)
        self.run(state, x, y, perm, xv, yv, view_inputs, want_frame=True)
        self.epochs_run = 0  # a warm-up is no run's epoch
