"""One epoch of many runs of one architecture at once: the member-stacked program.

A class on one lesson step trains thirty copies of the same small network, each with its
own data, seeds, weights, optimizer state and learning rate. Taken one at a time, each
epoch is a few hundred tiny operations; stacked on a leading member axis (kernels of
shape [members, in, out], one batched matmul per layer), all thirty train in one call.

Each member gets what its own `model.fit(shuffle=False)` gives: the same forward pass
(`keras.activations`, so a sigmoid or softmax output carries its logits to the Keras loss
as in `model.fit`), the same loss and regularization, the gradient of its own loss (the
members' losses are summed, and no member's loss depends on another's weights), and
Keras's own update rule for its optimizer, written out here per member, with the member's
own learning rate and step count. Adam is invariant to the scale of the gradient, so a
per-member rate cannot be folded into the loss; it is a tensor on the member axis.

Only plain dense networks on points stack: no dropout (its random masks follow Keras's
per-layer seed streams), no images. A run's state stays in its solo layout (the list
`EpochProgram` uses: the model's variables, then the optimizer's), gathered on the member
axis for a call and split back after it, so a run can leave for its solo program between
any two epochs and come back, and nothing is lost when it does.
"""

from __future__ import annotations

from functools import partial

import keras
import numpy as np
import tensorflow as tf

from .model import dense_layers
from .names import LOSS_NAMES
from .probes import quantize
from .program import EpochProgram, call


def stackable(spec) -> bool:
    """Whether runs of this spec can train in a cohort: dense layers on points, no dropout."""
    return (spec.unet is None and all(layer.type == "dense" and layer.dropout == 0 for layer in spec.layers))


class Layout:
    """Where each part of a run's state sits in the solo state list of `program`."""

    def __init__(self, program: EpochProgram, spec):
        model, optimizer = program.model, program.model.optimizer
        index = {id(v): i for i, v in enumerate(program.variables)}
        dense = dense_layers(model)
        self.kernels = [index[id(layer.kernel)] for layer in dense]
        self.biases = [index[id(layer.bias)] for layer in dense]
        self.activations = [layer.activation for layer in dense]
        trainable = [v for layer in dense for v in (layer.kernel, layer.bias)]
        self.params = [index[id(v)] for v in trainable]
        self.optimizer = spec.training.optimizer
        self.momentum = float(spec.training.momentum) if self.optimizer == "sgd" else 0.0
        slot_lists = {"sgd": ["momentums"], "adam": ["_momentums", "_velocities"],
                      "rmsprop": ["_velocities"], "adagrad": ["_accumulators"]}[self.optimizer]
        # Each slot list is in trainable-variable order (Keras's _get_variable_index).
        self.slots = [[index[id(getattr(optimizer, name)[optimizer._get_variable_index(v)])]
                       for v in trainable] for name in slot_lists if getattr(optimizer, name)]
        self.iterations = index[id(optimizer.iterations)]
        self.learning_rate = program.learning_rate_index
        self.beta_1, self.beta_2 = getattr(optimizer, "beta_1", None), getattr(optimizer, "beta_2", None)
        self.epsilon = getattr(optimizer, "epsilon", None)
        self.rho = getattr(optimizer, "rho", None)
        t = spec.training
        self.regularization = None if t.regularization == "none" or t.regularization_rate == 0 \
            else (t.regularization, float(t.regularization_rate))
        # Hidden layers carry the regularizer; the output layer does not (build_model).
        self.regularized = [layer.kernel_regularizer is not None for layer in dense]
        self.kind, self.loss = program.kind, keras.losses.get(LOSS_NAMES[_loss_name(model)])
        self.n_state = len(program.variables)
        self.hidden_units = [int(layer.units) for layer in dense[:-1]]

    def carried(self) -> list[int]:
        """The state entries the program reads and writes, in its order."""
        return [*self.params, *(i for slot in self.slots for i in slot), self.iterations, self.learning_rate]


def _loss_name(model: keras.Model) -> str:
    """The spec's loss name back from the compiled model (LOSS_NAMES' values)."""
    loss = model.loss
    name = loss if isinstance(loss, str) else getattr(loss, "__name__", None) or loss.name
    return next(key for key, value in LOSS_NAMES.items() if value == name or key == name)


def _per_member(value: tf.Tensor, like: tf.Tensor) -> tf.Tensor:
    """A [members] tensor shaped to broadcast against a member-stacked `like`."""
    return tf.reshape(value, [-1] + [1] * (len(like.shape) - 1))


SMALL_PRODUCT = 4096  # rows x inputs x outputs up to which a product is summed elementwise


def _matmul(x, kernel):
    """x [members, rows, in] times kernel [members, in, out]. A batch of a few rows into a
    few units is summed as broadcast products: a batched matmul of that size costs oneDNN
    (traced) or XLA's dot far more than the arithmetic (a traced epoch of 32 members: 7 ms
    against 15). Larger ones (the validation set, the boundary grid) stay matmuls."""
    rows, inputs, outputs = x.shape[-2], kernel.shape[-2], kernel.shape[-1]
    if rows is not None and rows * inputs * outputs <= SMALL_PRODUCT:
        return tf.reduce_sum(tf.expand_dims(x, -1) * tf.expand_dims(kernel, -3), axis=-2)
    return tf.matmul(x, kernel)


class StackedProgram:
    """The compiled epoch of `capacity` members of one architecture (see the module)."""

    def __init__(self, layout: Layout, *, capacity: int, n_train: int, batch_size: int,
                 n_features: int, n_outputs: int, has_val: bool, jit_compile: bool = False,
                 traced: "StackedProgram | None" = None):
        """`jit_compile`: compile with XLA (under a second to build, then several times
        faster a call). `traced`: with `jit_compile`, a traced program of the same capacity
        whose graphs XLA compiles as they are, instead of tracing the Python again (half
        the time of a compile, and none of it under the GIL)."""
        self.layout, self.capacity, self.jit_compile = layout, capacity, jit_compile
        self._traced = traced if jit_compile else None
        self.n_full, self.rest = divmod(n_train, batch_size)
        self.batch_size, self.n_features, self.n_outputs = batch_size, n_features, n_outputs
        self.has_val = has_val
        # Written with explicit tf.while_loop and tf.cond: autograph would only cost tracing
        # time. Partials, not bound methods: TensorFlow counts the traces of a method over
        # all instances and warns of "retracing" when every cohort traces its own program.
        self._function = tf.function(partial(StackedProgram._epoch, self), jit_compile=jit_compile, autograph=False)
        self._concrete: dict[tuple, object] = {}
        # The last call's members' written state entries, as handed to them, and its output
        # tensors (params, slots, iterations): see `_carried`.
        self._last: tuple[list[list], tuple] | None = None

    # ----- the network, member-stacked -----

    def _forward(self, params, x, *, hidden: bool = False):
        layers_out = []
        for i, activation in enumerate(self.layout.activations):
            kernel, bias = params[2 * i], params[2 * i + 1]
            x = activation(_matmul(x, kernel) + tf.expand_dims(bias, 1))
            layers_out.append(x)
        return layers_out if hidden else x

    def _losses(self, params, x, y):
        """Each member's loss, regularization included, as Keras's compute_loss gives it."""
        out = self._forward(params, x)
        values = self.layout.loss(y, out)  # [members, batch]
        size = tf.cast(tf.shape(values)[1], values.dtype)
        losses = [tf.reduce_sum(values, axis=1) / size]
        if self.layout.regularization:
            kind, rate = self.layout.regularization
            for i, regularized in enumerate(self.layout.regularized):
                if regularized:
                    kernel = params[2 * i]
                    penalty = tf.abs(kernel) if kind == "l1" else tf.square(kernel)
                    losses.append(rate * tf.reduce_sum(penalty, axis=(1, 2)))
        total = losses[0] if len(losses) == 1 else tf.add_n(losses)
        return total, out

    def _correct(self, y, out):
        """Per sample: 1 if right (classification) or the absolute error (regression)."""
        if self.layout.kind == "binary":
            return tf.reduce_mean(tf.cast(tf.equal(y, tf.cast(out > 0.5, y.dtype)), tf.float32), -1)
        if self.layout.kind == "multiclass":
            return tf.cast(tf.equal(tf.argmax(y, -1), tf.argmax(out, -1)), tf.float32)
        return tf.reduce_mean(tf.abs(y - out), -1)

    # ----- Keras's update rules, per member -----

    def _update(self, params, slots, iterations, learning_rate, grads):
        layout = self.layout
        new_params, new_slots = [], [list(s) for s in slots]
        for j, (var, grad) in enumerate(zip(params, grads)):
            lr = _per_member(learning_rate, var)
            if layout.optimizer == "sgd":
                if layout.momentum:
                    m = slots[0][j] * layout.momentum - grad * lr
                    new_slots[0][j] = m
                    var = var + m
                else:
                    var = var - grad * lr
            elif layout.optimizer == "adam":
                step = _per_member(tf.cast(iterations + 1, var.dtype), var)
                beta_1_power = tf.pow(tf.constant(layout.beta_1, var.dtype), step)
                beta_2_power = tf.pow(tf.constant(layout.beta_2, var.dtype), step)
                alpha = lr * tf.sqrt(1 - beta_2_power) / (1 - beta_1_power)
                m = slots[0][j] + (grad - slots[0][j]) * (1 - layout.beta_1)
                v = slots[1][j] + (tf.square(grad) - slots[1][j]) * (1 - layout.beta_2)
                new_slots[0][j], new_slots[1][j] = m, v
                var = var - (m * alpha) / (tf.sqrt(v) + layout.epsilon)
            elif layout.optimizer == "rmsprop":
                velocity = layout.rho * slots[0][j] + (1 - layout.rho) * tf.square(grad)
                new_slots[0][j] = velocity
                var = var - (lr * grad) / tf.sqrt(velocity + layout.epsilon)
            else:  # adagrad
                accumulator = slots[0][j] + tf.square(grad)
                new_slots[0][j] = accumulator
                var = var - (lr * grad) / tf.sqrt(accumulator + layout.epsilon)
            new_params.append(var)
        return new_params, new_slots, iterations + 1

    # ----- the epoch -----

    def _step(self, carry, x, y):
        params, slots, iterations, learning_rate, loss_total, correct_total = carry
        with tf.GradientTape() as tape:
            tape.watch(params)
            losses, out = self._losses(params, x, y)
            total = tf.reduce_sum(losses)
        grads = tape.gradient(total, params)
        params, slots, iterations = self._update(params, slots, iterations, learning_rate, grads)
        size = tf.cast(tf.shape(x)[1], tf.float32)
        # As Keras's loss tracker (a mean weighted by batch size) and its metric (per sample).
        loss_total = loss_total + losses * size
        correct_total = correct_total + tf.reduce_sum(self._correct(y, out), axis=1)
        return params, slots, iterations, learning_rate, loss_total, correct_total

    def _epoch(self, params, slots, iterations, learning_rate, x, y, perm, xv, yv,
               grid, thumbs, output_range, want_frame):
        members, b, n_full = self.capacity, self.batch_size, self.n_full
        x, y = tf.gather(x, perm, batch_dims=1), tf.gather(y, perm, batch_dims=1)
        zeros = tf.zeros((members,), tf.float32)
        carry = (params, slots, iterations, learning_rate, zeros, zeros)
        if n_full:
            xb = tf.reshape(x[:, :n_full * b], (members, n_full, b, self.n_features))
            yb = tf.reshape(y[:, :n_full * b], (members, n_full, b, self.n_outputs))

            def body(i, carry):
                return i + 1, self._step(carry, xb[:, i], yb[:, i])

            _, carry = tf.while_loop(lambda i, carry: i < n_full, body, (tf.constant(0), carry))
        if self.rest:  # model.fit's last, smaller batch
            carry = self._step(carry, x[:, n_full * b:], y[:, n_full * b:])
        params, slots, iterations, learning_rate, loss_total, correct_total = carry
        n = float(n_full * b + self.rest)
        result = {"loss": loss_total / n, "metric": correct_total / n}
        if self.has_val:
            val_losses, out = self._losses(params, xv, yv)
            result["val_loss"] = val_losses
            result["val_metric"] = self._validation_metric(yv, out)
        result["frame"] = tf.cond(tf.reduce_any(want_frame),
                                  lambda: self._probe(params, grid, thumbs, output_range),
                                  lambda: self._empty(grid, thumbs))
        return result, params, slots, iterations

    def _validation_metric(self, y, out):
        """As `program.evaluate` reports it, per member."""
        if self.layout.kind == "binary":
            return tf.reduce_mean(tf.cast(tf.equal(tf.cast(out > 0.5, y.dtype), y), tf.float32), axis=(1, 2))
        if self.layout.kind == "multiclass":
            return tf.reduce_mean(tf.cast(tf.equal(tf.argmax(out, -1), tf.argmax(y, -1)), tf.float32), axis=1)
        return tf.reduce_mean(tf.abs(out - y), axis=(1, 2))

    # ----- the frame, as PlaneProbe draws it, per member -----

    def _probe(self, params, grid, thumbs, output_range):
        out = self._forward(params, grid)
        kind = self.layout.kind
        if kind == "binary":
            boundary = quantize(out[..., 0], 0.0, 1.0)
        elif kind == "multiclass":
            boundary = tf.cast(tf.argmax(out, -1), tf.uint8)
        else:
            boundary = quantize(out[..., 0], output_range[:, :1], output_range[:, 1:])
        maps, ranges = [], []
        for h in self._forward(params, thumbs, hidden=True)[:-1]:
            low, high = tf.reduce_min(h, 1, keepdims=True), tf.reduce_max(h, 1, keepdims=True)
            maps.append(tf.transpose(quantize(h, low, high), (0, 2, 1)))  # [members][units][pixels]
            ranges.append(tf.stack([low[:, 0], high[:, 0]], -1))
        return boundary, maps, ranges

    def _empty(self, grid, thumbs):
        members, pixels = self.capacity, tf.shape(thumbs)[1]
        return (tf.zeros((members, tf.shape(grid)[1]), tf.uint8),
                [tf.zeros((members, units, pixels), tf.uint8) for units in self.layout.hidden_units],
                [tf.zeros((members, units, 2)) for units in self.layout.hidden_units])

    # ----- a call -----

    def run(self, members: list[dict]) -> list[tuple[dict, list]]:
        """Train one epoch of each member (dicts with state, x, y, perm, xv, yv, inputs,
        want_frame); pad to `capacity` with copies of the first. Returns each member's
        (numpy results, new solo state), in order.

        The members' states are stacked and split in numpy (or, when they come back as
        they were handed, the last call's outputs go in again: `_carried`), and their data
        (the same tensors call after call) stacked once per line-up: every TensorFlow op
        here would let the GIL go to one of thirty threads, and this thread would wait to
        get it back."""
        layout, count = self.layout, len(members)
        padded = members + [members[0]] * (self.capacity - count)
        states = [m["state"] for m in padded]

        def stacked(index: int):
            return np.stack([np.asarray(s[index]) for s in states])

        written = [*layout.params, *(i for slot in layout.slots for i in slot), layout.iterations]
        carried = self._carried(states[:count], written)
        if carried is not None:
            params, slots, iterations = carried
        else:
            params = [stacked(i) for i in layout.params]
            slots = [[stacked(i) for i in slot] for slot in layout.slots]
            iterations = stacked(layout.iterations)
        rates = stacked(layout.learning_rate)
        data = self._data(padded)
        args = (params, slots, iterations, rates, *data,
                np.array([bool(m["want_frame"]) for m in padded]))
        shapes = (tuple(data[3].shape), tuple(data[5].shape), tuple(data[6].shape))
        concrete = self._concrete.get(shapes)
        if concrete is None:
            concrete = self._concrete[shapes] = self._function_for(shapes).get_concrete_function(
                *tf.nest.map_structure(tf.convert_to_tensor, args))
        result, params, slots, iterations = call(concrete, args)
        result = tf.nest.map_structure(lambda t: t.numpy(), result)
        columns = [t.numpy() for t in (*params, *(v for slot in slots for v in slot), iterations)]
        boundary, maps, ranges = result.pop("frame")
        answers = []
        for k in range(count):
            state = list(states[k])
            for i, column in zip(written, columns):
                state[i] = column[k]
            # The rate goes back as numpy too (a run's first state holds a tensor): turning
            # thirty tensors to numpy at each call would let the GIL go thirty times.
            state[layout.learning_rate] = rates[k]
            out = {name: value[k] for name, value in result.items()}
            out["frame"] = (boundary[k], [m[k] for m in maps], [r[k] for r in ranges])
            answers.append((out, state))
        self._last = ([[a[1][i] for i in written] for a in answers], (params, slots, iterations))
        return answers

    def _carried(self, states: list, written: list[int]):
        """The last call's outputs (params, slots, iterations), as tensors, when every member
        comes back with exactly the state it was handed (the same line-up, nothing changed
        between; a member that went solo, or a newcomer, brings other objects): they go in
        again as they are, neither stacked nor converted. 30 runs at their steady state,
        alternating six times in one process: 15,800 -> 16,900 epochs/s (median)."""
        last = self._last
        if last is None or len(last[0]) != len(states):
            return None
        for state, handed in zip(states, last[0]):
            for i, value in zip(written, handed):
                if state[i] is not value:
                    return None
        return last[1]

    def _function_for(self, shapes: tuple):
        """What traces the call of these shapes: the traced program's graph of them, under
        XLA, when there is one; else this program's own function."""
        graph = self._traced._concrete.get(shapes) if self._traced is not None else None
        if graph is None:
            return self._function
        return tf.function(lambda *args: graph(*args), jit_compile=True, autograph=False)

    def _data(self, padded: list[dict]) -> tuple:
        """x, y, order, validation x, y, grid, thumbnails, output range, each stacked, and
        kept while the same tensors come again in the same order (every epoch, but for a
        shuffled order or a change of members)."""
        parts = [[m[name] for m in padded] for name in ("x", "y", "perm", "xv", "yv")]
        parts += [[m["inputs"][k] for m in padded] for k in range(3)]
        cache = self.__dict__.setdefault("_stacked_parts", [None] * len(parts))
        data = []
        for j, part in enumerate(parts):
            ids = tuple(map(id, part))
            if cache[j] is None or cache[j][0] != ids:
                cache[j] = (ids, part, tf.stack(part))  # `part` keeps the ids from being reused
            data.append(cache[j][2])
        return tuple(data)
