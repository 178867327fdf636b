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
    """The seed of the dropout after (or of) hidden layer `index`."""
    return seed * 103 + index


def augment_seed(seed: int, index: int) -> int:
    """The seed of augmentation `index` (0 shift, 1 flip, 2 rotate)."""
    return seed * 107 + index


def output_units(kind: str, n_classes: int) -> int:
    return n_classes if kind == "multiclass" else 1


def _kernel_init(seed: int, index: int):
    return keras.initializers.GlorotUniform(seed=kernel_seed(seed, index))


def _augmentation(spec: RunSpec) -> list[layers.Layer]:
    """Keras's random image layers: they change training images only (inference passes
    them through), drawn anew every batch from their own seeded generators."""
    a, seed = spec.training.augment, spec.training.seed
    out = []
    if a.shift:
        out.append(layers.RandomTranslation(a.shift, a.shift, fill_mode="constant",
                                            seed=augment_seed(seed, 0), name="augment_shift"))
    if a.flip:
        out.append(layers.RandomFlip("horizontal", seed=augment_seed(seed, 1), name="augment_flip"))
    if a.rotate:
        out.append(layers.RandomRotation(a.rotate / 360.0, fill_mode="constant",
                                         seed=augment_seed(seed, 2), name="augment_rotate"))
    return out


def _hidden(layer, i: int, seed: int, regularizer) -> list[layers.Layer]:
    """The Keras layers of spec layer `i`, named `layer{i}` so their seeds can be found again."""
    name = f"layer{i}"
    if layer.type == "dense":
        out = [layers.Dense(layer.units, activation=layer.activation, kernel_initializer=_kernel_init(seed, i),
                            kernel_regularizer=regularizer, name=name)]
        if layer.dropout > 0:
            out.append(layers.Dropout(layer.dropout, seed=dropout_seed(seed, i), name=f"{name}_dropout"))
        return out
    if layer.type == "conv2d":
        return [layers.Conv2D(layer.filters, layer.kernel_size, strides=layer.strides, padding=layer.padding,
                              activation=layer.activation, kernel_initializer=_kernel_init(seed, i),
                              kernel_regularizer=regularizer, name=name)]
    if layer.type == "maxpool2d":
        return [layers.MaxPooling2D(layer.pool_size, name=name)]
    if layer.type == "flatten":
        return [layers.Flatten(name=name)]
    if layer.type == "global_avg_pool":
        return [layers.GlobalAveragePooling2D(name=name)]
    if layer.type == "dropout":
        return [layers.Dropout(layer.rate, seed=dropout_seed(seed, i), name=name)]
    return [layers.BatchNormalization(name=name)]


def build_model(spec: RunSpec, kind: str, n_classes: int, loss: str,
                input_shape: tuple[int, ...] | None = None) -> keras.Model:
    """A compiled Sequential for the spec (a U-Net for microscopy); `loss` is one of
    specs.LOSSES; `input_shape` (height, width, channels) for images, else the features' count."""
    seed = spec.training.seed
    regularizer = _regularizer(spec)
    if spec.unet is not None:
        from .unet import build_unet, unet_loss, unet_metric  # microscopy only

        with BUILD_LOCK:
            model = build_unet(spec, lambda k: _kernel_init(seed, OUTPUT_LAYER if k is None else k),
                               lambda k: dropout_seed(seed, k))
            model.compile(optimizer=make_optimizer(spec), loss=unet_loss(loss),
                          metrics=[unet_metric(spec.unet.output)], jit_compile=False)
        return model
    with BUILD_LOCK:
        model = keras.Sequential(name="playground")
        model.add(keras.Input(shape=input_shape or (len(spec.features),)))
        if input_shape is not None and len(input_shape) == 3:
            for layer in _augmentation(spec):
                model.add(layer)
        for i, layer in enumerate(spec.layers):
            for keras_layer in _hidden(layer, i, seed, regularizer):
                model.add(keras_layer)
        activation = {"binary": "sigmoid", "multiclass": "softmax"}.get(kind, "linear")
        model.add(layers.Dense(
            output_units(kind, n_classes), activation=activation,
            kernel_initializer=_kernel_init(seed, OUTPUT_LAYER), name="output"))
        model.compile(optimizer=make_optimizer(spec), loss=LOSS_NAMES[loss],
                      metrics=[_metric(kind)], jit_compile=False)
    return model


def targets(labels: np.ndarray, kind: str, n_classes: int) -> np.ndarray:
    """Labels as the model's targets: one-hot for multi-class, a column otherwise. Microscopy:
    a class map (segmentation) as the foreground (n_classes 2) or one-hot over background,
    interior, boundary (3); a clean image (restoration) as it is."""
    if kind == "segmentation":
        if n_classes == 3:
            return np.eye(3, dtype="float32")[labels.astype(int)]
        return (labels > 0).astype("float32")[..., None]
    if kind == "restoration":
        return np.asarray(labels, dtype="float32")
    if kind == "multiclass":
        return np.eye(n_classes, dtype="float32")[labels.astype(int)]
    return labels.astype("float32").reshape(-1, 1)


def dense_layers(model: keras.Sequential) -> list[layers.Dense]:
    return [layer for layer in model.layers if isinstance(layer, layers.Dense)]


def _seed_of(layer: layers.Layer, seed: int) -> int:
    """The seed `build_model` gave a random layer (dropout, augmentation), from its name."""
    if layer.name.startswith("augment_"):
        return augment_seed(seed, ("shift", "flip", "rotate").index(layer.name.removeprefix("augment_")))
    return dropout_seed(seed, int(layer.name.removeprefix("layer").removesuffix("_dropout")))


def _initial(layer: layers.Layer, variable, seed: int):
    """The value `build_model` gives one variable of `layer` for training seed `seed`."""
    name = variable.path.rsplit("/", 1)[-1]
    if name == "kernel":
        index = OUTPUT_LAYER if layer.name == "output" else int(layer.name.removeprefix("layer"))
        return _kernel_init(seed, index)(variable.shape, dtype=variable.dtype)
    if name in ("gamma", "moving_variance"):
        return np.ones(variable.shape, variable.dtype)
    if name in ("bias", "beta", "moving_mean"):
        return np.zeros(variable.shape, variable.dtype)
    if name.endswith("seed_generator_state"):
        return np.array([_seed_of(layer, seed), 0], dtype=variable.dtype)
    raise AssertionError(f"the seeding scheme does not know {variable.path}")


def initial_weights(model: keras.Model, seed: int) -> list:
    """The values `build_model` would give `model.variables` for training seed `seed`,
    computed without building a model (a shared program's run starts from these)."""
    values = {id(variable): _initial(layer, variable, seed) for layer in model.layers
              for variable in layer.variables}
    assert len(values) == len(model.variables), "a layer kind the seeding scheme does not know"
    return [values[id(variable)] for variable in model.variables]
