"""One image through a trained image model: the class probabilities and the feature maps,
as the draw-to-classify panel and a picked probe show them; and an ended microscopy run's
kept U-Net over an uploaded image. Eager: one image, at once."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict

import numpy as np
import tensorflow as tf

from .frames import b64, image_frame
from .probes import ImageProbe


def predict_image(model, kind: str, input_shape: tuple[int, ...], image: np.ndarray, epoch: int) -> dict:
    """`image` (height, width, channels) in [0, 1] through `model` (its current weights)."""
    probe = ImageProbe(model, kind, input_shape)
    x = tf.constant(np.asarray(image, np.float32)[None])
    out = tf.nest.map_structure(lambda t: t.numpy(), probe.probe(x, x))
    conv_layers, map_layers, totals = probe.layer_indices()
    frame = image_frame(epoch, out, conv_layers=conv_layers, map_layers=map_layers, map_totals=totals,
                        probe_index=0, probe_label=0, gallery_labels=np.zeros(1, np.int64))
    probabilities = out[2]
    return {"epoch": epoch, "probabilities": np.round(probabilities, 4).tolist(),
            "predicted": int(np.argmax(probabilities)),
            "image": b64(np.round(np.clip(image[..., 0], 0, 1) * 255)),
            "feature_maps": [m.model_dump() for m in frame.feature_maps]}


def load_saved(model_file: bytes):
    """A kept model (.keras bytes), uncompiled; a U-Net's custom layer is registered first.
    The last few loaded are kept: a participant drawing on an ended run asks again and again."""
    key = hashlib.sha256(model_file).hexdigest()
    with _LOADED_LOCK:
        if key in _LOADED:
            _LOADED.move_to_end(key)
            return _LOADED[key]
    model = _load(model_file)
    with _LOADED_LOCK:
        _LOADED[key] = model
        while len(_LOADED) > LOADED_MODELS:
            _LOADED.popitem(last=False)
    return model


LOADED_MODELS = 4
_LOADED: OrderedDict = OrderedDict()
_LOADED_LOCK = threading.Lock()


def _load(model_file: bytes):
    import tempfile
    from pathlib import Path

    import keras

    from . import unet  # noqa: F401  registers PercentileNormalization, the losses and metrics

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.keras"
        path.write_bytes(model_file)
        return keras.models.load_model(path, compile=False)


def predict_saved(model_file: bytes, spec, image: np.ndarray | None, index: int | None) -> dict:
    """The same answer from an ended run's kept model (.keras bytes): a drawn `image`, or
    gallery image `index` of the run's data."""
    from ..data import gallery_split, input_shape, make_dataset, problem_of

    model = load_saved(model_file)
    if index is not None:
        gallery, _ = gallery_split(make_dataset(spec.dataset))
        image = gallery[index]
    kind, _ = problem_of(spec.dataset)
    return predict_image(model, kind, input_shape(spec), image, epoch=-1)


def apply_saved(model_file: bytes, spec, image: np.ndarray) -> dict:
    """An ended microscopy run's kept U-Net over a whole uploaded image (`apply_unet`)."""
    from .microscopy import apply_unet

    return apply_unet(load_saved(model_file), spec.unet, image, epoch=-1)
