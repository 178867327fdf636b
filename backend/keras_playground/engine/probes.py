"""What a frame shows, computed in the graph: the plane (points) or the network's view of
images (its filters, the feature maps of a probe image, its predictions).

A probe is traced into the epoch program, behind a `tf.cond` on whether a frame is due,
so it must give tensors of the same shapes either way: `empty` gives zeros shaped as
`probe`'s results. Everything leaves as uint8 (or a few floats): a frame stays small.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers

from ..data.catalog import MICROSCOPY  # noqa: F401  (the program asks here which views need a map)

# What a frame carries, in bytes before base64, so that it stays under 64 KB of JSON
# whatever the network (tests/engine/test_session_images.py builds the largest).
MAX_FILTERS = 32  # filters of one conv layer sent in a frame
MAX_FILTER_CHANNELS = 8  # input channels of each filter sent
FILTER_BUDGET = 12_000  # bytes of filters in one frame, all conv layers together, first ones first
MAP_BUDGET = 20_000  # bytes of feature maps in one frame, all layers together
MAX_MAPS = 16  # channels of one layer's output sent


def quantize(values, low, high):
    """values in [low, high] as uint8 0..255 (clipped)."""
    scaled = (values - low) / tf.maximum(high - low, 1e-12)
    return tf.cast(tf.round(tf.clip_by_value(scaled, 0.0, 1.0) * 255.0), tf.uint8)


class PlaneProbe:
    """The output over the boundary grid and every hidden neuron over the thumbnail grid.
    Inputs: (grid, thumbs, output_range)."""

    def __init__(self, model: keras.Model, kind: str):
        self.kind = kind
        self._hidden = [layer for layer in model.layers if isinstance(layer, layers.Dense)][:-1]
        self._model = model

    def probe(self, grid, thumbs, output_range):
        out = self._model(grid, training=False)
        if self.kind == "binary":
            boundary = quantize(out[:, 0], 0.0, 1.0)
        elif self.kind == "multiclass":
            boundary = tf.cast(tf.argmax(out, -1), tf.uint8)
        else:
            boundary = quantize(out[:, 0], output_range[0], output_range[1])
        maps, ranges, h = [], [], thumbs
        for layer in self._hidden:
            h = layer(h)
            low, high = tf.reduce_min(h, 0), tf.reduce_max(h, 0)
            maps.append(tf.transpose(quantize(h, low, high)))  # [units][pixels]
            ranges.append(tf.stack([low, high], -1))
        return boundary, maps, ranges

    def empty(self, grid, thumbs, output_range):
        return (tf.zeros(tf.shape(grid)[:1], tf.uint8),
                [tf.zeros((layer.units, tf.shape(thumbs)[0]), tf.uint8) for layer in self._hidden],
                [tf.zeros((layer.units, 2)) for layer in self._hidden])


def _spec_index(layer: layers.Layer) -> int:
    """A Keras layer's index in the spec's layers (build_model names them layer{i})."""
    return int(layer.name.removeprefix("layer"))


class ImageProbe:
    """Each conv layer's filters, each conv and pooling layer's output for the probe image,
    the class probabilities of the probe and the predictions on the gallery's images.
    Inputs: (probe [1, h, w, c], gallery [g, h, w, c])."""

    def __init__(self, model: keras.Model, kind: str, input_shape: tuple[int, ...]):
        self.kind, self._model = kind, model
        self._layers = [layer for layer in model.layers if not layer.name.startswith("augment_")]
        self.convs, budget = [], FILTER_BUDGET  # (layer, filters sent, channels sent)
        for layer in self._layers:
            if isinstance(layer, layers.Conv2D):
                k, _, c_in, c_out = layer.kernel.shape
                channels = min(c_in, MAX_FILTER_CHANNELS)
                filters = min(c_out, MAX_FILTERS, budget // (channels * k * k))
                if filters > 0:
                    self.convs.append((layer, filters, channels))
                    budget -= filters * channels * k * k
        self.maps, budget, shape = [], MAP_BUDGET, tuple(input_shape)
        for layer in self._layers:  # which outputs fit the byte budget, in order
            shape = tuple(layer.compute_output_shape((1, *shape))[1:])
            if isinstance(layer, (layers.Conv2D, layers.MaxPooling2D)) and len(shape) == 3:
                channels = min(shape[2], MAX_MAPS, budget // (shape[0] * shape[1]))
                if channels > 0:
                    self.maps.append((layer, channels, shape[2]))
                    budget -= channels * shape[0] * shape[1]

    def probe(self, image, gallery):
        filters = []
        for conv, n_filters, channels in self.convs:
            kernel = conv.kernel[:, :, :channels, :n_filters]
            scale = tf.maximum(tf.reduce_max(tf.abs(kernel)), 1e-12)
            filters.append((quantize(tf.transpose(kernel, (3, 2, 0, 1)), -scale, scale), scale))
        maps, wanted, h = [], {id(layer): n for layer, n, _ in self.maps}, image
        for layer in self._layers[:-1]:
            h = layer(h, training=False)
            if id(layer) in wanted:
                out = tf.transpose(h[0, :, :, :wanted[id(layer)]], (2, 0, 1))  # [channels][h][w]
                low, high = tf.reduce_min(out, (1, 2)), tf.reduce_max(out, (1, 2))
                maps.append((quantize(out, low[:, None, None], high[:, None, None]), tf.stack([low, high], -1)))
        probabilities = self._probabilities(self._layers[-1](h, training=False))[0]
        return filters, maps, probabilities, self._probabilities(self._model(gallery, training=False))

    def _probabilities(self, out):
        return tf.concat([1.0 - out, out], -1) if self.kind == "binary" else out

    def empty(self, image, gallery):
        def zeros(t):
            return tf.zeros(t.shape, t.dtype)
        return tf.nest.map_structure(zeros, self._shapes(image, gallery))

    def _shapes(self, image, gallery):
        """The shapes of `probe`'s results, found once by running it eagerly (even when
        asked from inside a trace) on zeros of the inputs' shapes."""
        key = (tuple(image.shape), tuple(gallery.shape))
        if getattr(self, "_structure_key", None) != key:
            with tf.init_scope():
                self._structure = tf.nest.map_structure(
                    lambda t: tf.TensorSpec(t.shape, t.dtype),
                    self.probe(tf.zeros(image.shape), tf.zeros(gallery.shape)))
            self._structure_key = key
        return self._structure

    def layer_indices(self) -> tuple[list[int], list[tuple[int, str]], list[int]]:
        """The spec index of each conv layer (filters); of each layer with maps, and its type;
        and the channels each of those has in all."""
        kinds = {layers.Conv2D: "conv2d", layers.MaxPooling2D: "maxpool2d"}
        return ([_spec_index(conv) for conv, _, _ in self.convs],
                [(_spec_index(layer), kinds[type(layer)]) for layer, _, _ in self.maps],
                [total for _, _, total in self.maps])


class MapProbe:
    """A U-Net's output for the probe image: probabilities (segmentation, each channel from
    [0, 1]) or the restored image (from its own [low, high]). Inputs: (probe [1, h, w, 1])."""

    def __init__(self, model: keras.Model, kind: str):
        self._model, self.kind = model, kind

    def probe(self, image):
        out = tf.transpose(self._model(image, training=False)[0], (2, 0, 1))  # [channels][h][w]
        if self.kind == "restoration":
            low, high = tf.reduce_min(out), tf.reduce_max(out)
        else:
            low, high = tf.constant(0.0), tf.constant(1.0)
        return quantize(out, low, high), low, high

    def empty(self, image):
        channels = self._model.output_shape[-1]
        return (tf.zeros((channels, tf.shape(image)[1], tf.shape(image)[2]), tf.uint8),
                tf.constant(0.0), tf.constant(1.0))
