"""Build and compile the Keras model a run spec describes.

The output layer follows from the problem: sigmoid (binary), softmax (multi-class),
linear (regression). `layers: []` is the course's single neuron. Weights start from
seeded Glorot-uniform values and biases from 0, so a run is reproducible from its seeds.
"""

from __future__ import annotations

import threading

import keras
import numpy as np
from keras import layers

from ..specs import RunSpec
from .names import LOSS_NAMES

# Keras names layers from process-wide counters; building from several training
# threads at once must not interleave.
BUILD_LOCK = threading.Lock()


def _metric(kind: str) -> keras.metrics.Metric:
    if kind == "binary":
        return keras.metrics.BinaryAccuracy(name="accuracy")
    if kind == "multiclass":
        return keras.metrics.CategoricalAccuracy(name="accuracy")
    return keras.metrics.MeanAbsoluteError(name="mae")


def make_optimizer(spec: RunSpec) -> keras.optimizers.Optimizer:
    t = spec.training
    if t.optimizer == "sgd":
        return keras.optimizers.SGD(learning_rate=t.learning_rate, momentum=t.momentum)
    if t.optimizer == "adam":
        return keras.optimizers.Adam(learning_rate=t.learning_rate)
    if t.optimizer == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate=t.learning_rate)
    return keras.optimizers.Adagrad(learning_rate=t.learning_rate)


def _regularizer(spec: RunSpec):
    t = spec.training
    if t.regularization == "none" or t.regularization_rate == 0:
        return None
    return keras.regularizers.L1(t.regularization_rate) if t.regularization == "l1" \
        else keras.regularizers.L2(t.regularization_rate)


OUTPUT_LAYER = 99  # the output layer's index in the seeding scheme


def kernel_seed(seed: int, index: int) -> int:
    """The seed of hidden layer `index`'s kernel (OUTPUT_LAYER for the output layer)."""
    return seed * 101 + index


def dropout_seed(seed: int, index: int) -> int:
    """The seed of the dropout after hidden layer `index`."""
    return seed * 103 + index


def output_units(kind: str, n_classes: int) -> int:
    return n_classes if kind == "multiclass" else 1


def build_model(spec: RunSpec, kind: str, n_classes: int, loss: str) -> keras.Sequential:
    """A compiled Sequential for the spec; `loss` is one of specs.LOSSES."""
    seed = spec.training.seed
    regularizer = _regularizer(spec)
    with BUILD_LOCK:
        model = keras.Sequential(name="playground")
        model.add(keras.Input(shape=(len(spec.features),)))
        for i, layer in enumerate(spec.layers):
            model.add(layers.Dense(
                layer.units, activation=layer.activation,
                kernel_initializer=keras.initializers.GlorotUniform(seed=kernel_seed(seed, i)),
                kernel_regularizer=regularizer))
            if layer.dropout > 0:
                model.add(layers.Dropout(layer.dropout, seed=dropout_seed(seed, i)))
        activation = {"binary": "sigmoid", "multiclass": "softmax"}.get(kind, "linear")
        model.add(layers.Dense(
            output_units(kind, n_classes), activation=activation,
            kernel_initializer=keras.initializers.GlorotUniform(seed=kernel_seed(seed, OUTPUT_LAYER))))
        model.compile(optimizer=make_optimizer(spec), loss=LOSS_NAMES[loss],
                      metrics=[_metric(kind)], jit_compile=False)
    return model


def targets(labels: np.ndarray, kind: str, n_classes: int) -> np.ndarray:
    """Labels as the model's targets: one-hot for multi-class, a column otherwise."""
    if kind == "multiclass":
        return np.eye(n_classes, dtype="float32")[labels.astype(int)]
    return labels.astype("float32").reshape(-1, 1)


def dense_layers(model: keras.Sequential) -> list[layers.Dense]:
    return [layer for layer in model.layers if isinstance(layer, layers.Dense)]


def initial_weights(model: keras.Sequential, seed: int) -> list:
    """The values `build_model` would give `model.variables` for training seed `seed`,
    computed without building a model (a shared program's run starts from these)."""
    dense = dense_layers(model)
    values, hidden = [], 0
    for layer in model.layers:
        if isinstance(layer, layers.Dense):
            index = OUTPUT_LAYER if layer is dense[-1] else hidden
            init = keras.initializers.GlorotUniform(seed=kernel_seed(seed, index))
            values += [init(layer.kernel.shape, dtype=layer.kernel.dtype),
                       np.zeros(layer.bias.shape, layer.bias.dtype)]
            hidden += layer is not dense[-1]
        elif isinstance(layer, layers.Dropout):
            state = layer.seed_generator.state
            values.append(np.array([dropout_seed(seed, hidden - 1), 0], dtype=state.dtype))
    assert len(values) == len(model.variables), "a layer kind the seeding scheme does not know"
    return values
