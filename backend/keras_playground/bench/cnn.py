"""The CNN row of the reference benchmark: the compiled epoch loop against `model.fit` on
the digits CNN, in one process.

Workload: digits on a 16x16 canvas, 1,000 training, 200 validation and 300 test images,
conv2d 8 -> maxpool2d -> conv2d 16 -> maxpool2d -> flatten -> dense 32 -> softmax 10,
Adam 0.001, batch 32, with what a frame needs after every epoch: the filters and feature
maps of the probe image and the predictions on the gallery's 100 images (for fit, an
epoch-end callback predicting the gallery and the probe).
"""

from __future__ import annotations

import statistics
import time

import keras
import numpy as np

from ..data import gallery_split, network_inputs
from ..engine.model import targets
from ..engine.pool import ProgramPool
from ..engine.session import TrainingSession
from ..specs import RunSpec, parse_spec
from .harness import PAIRS, median_pair

CNN_WORKLOAD = ("digits 16x16, 1000 train images, conv8-pool-conv16-pool-flatten-dense32, "
                "Adam, batch 32, a frame every epoch")

CNN_SPEC = {
    "dataset": {"name": "digits", "params": {"canvas": 16}, "n_train": 1000, "n_val": 200, "n_test": 300,
                "seed": 1},
    "layers": [{"type": "conv2d", "filters": 8}, {"type": "maxpool2d"},
               {"type": "conv2d", "filters": 16}, {"type": "maxpool2d"},
               {"type": "flatten"}, {"units": 32, "activation": "relu"}],
    "training": {"optimizer": "adam", "learning_rate": 0.001, "batch_size": 32, "epochs": 8,
                 "shuffle": False, "seed": 1},
}


def cnn_spec(**training) -> RunSpec:
    return parse_spec({**CNN_SPEC, "training": {**CNN_SPEC["training"], **training}})


def image_fit_inputs(session: TrainingSession):
    """The arrays model.fit trains on for an image session: (x, y) and the validation (x, y)."""
    spec, data = session.spec, session.data

    def arrays(x, labels):
        return (network_inputs(x, spec.features, data.input),
                targets(labels, session.kind, session.n_classes))

    return (*arrays(data.x_train, data.y_train), *arrays(data.x_val, data.y_val))


def _gallery(session: TrainingSession) -> np.ndarray:
    """The images a frame predicts (the first test images), as the session picks them."""
    x, _ = gallery_split(session.data)
    return network_inputs(x, session.spec.features, session.data.input)


def compiled_image_figures(spec: RunSpec) -> dict:
    """ms per epoch (median, after the first), the first epoch's seconds (build + trace)
    and the size of a frame's JSON, as a participant's page receives it."""
    started = time.perf_counter()
    # A pool of its own: the first epoch includes building and tracing the program.
    session = TrainingSession(spec, max_frames_per_second=None, pool=ProgramPool())
    session.train_epoch()
    first = time.perf_counter() - started
    times, frame = [], None
    while not session.finished:
        t = time.perf_counter()
        events = session.train_epoch()
        times.append(time.perf_counter() - t)
        frame = next(e for e in events if e.kind == "frame")  # a frame every epoch
    return {"ms_per_epoch": 1000 * statistics.median(times), "first_epoch_seconds": first,
            "frame_bytes": len(frame.model_dump_json())}


class _PredictEveryEpoch(keras.callbacks.Callback):
    """What a notebook does to show a frame: predict the gallery and the probe image (with
    the conv and pooling layers' outputs, the feature maps) after each epoch."""

    def __init__(self, gallery: np.ndarray):
        super().__init__()
        self.gallery, self.stamps = gallery, [time.perf_counter()]

    def on_epoch_end(self, epoch, logs=None):
        probabilities = self.model(self.gallery, training=False).numpy()
        h, maps = self.gallery[:1], []
        for layer in self.model.layers:
            h = layer(h, training=False)
            if isinstance(layer, (keras.layers.Conv2D, keras.layers.MaxPooling2D)):
                maps.append(np.asarray(h))
        self.last = (probabilities.argmax(-1), maps, [layer.kernel.numpy() for layer in self.model.layers
                                                      if isinstance(layer, keras.layers.Conv2D)])
        self.stamps.append(time.perf_counter())


def fit_cnn_figures(spec: RunSpec) -> dict:
    started = time.perf_counter()
    session = TrainingSession(spec)  # same data and same model construction
    x, y, xv, yv = image_fit_inputs(session)
    callback = _PredictEveryEpoch(_gallery(session))
    callback.stamps[0] = started
    session.model.fit(x, y, batch_size=spec.training.batch_size, epochs=spec.training.epochs,
                      validation_data=(xv, yv), shuffle=False, verbose=0, callbacks=[callback])
    gaps = np.diff(callback.stamps)
    return {"ms_per_epoch": 1000 * float(np.median(gaps[1:])), "first_epoch_seconds": float(gaps[0])}


def run_cnn_benchmark(epochs: int = 8) -> dict:
    """The `cnn` entry of `bench --json`: ours and model.fit trained in turns, `PAIRS`
    times (each pair within a few seconds, so the machine's swings touch both alike)."""
    spec = cnn_spec(epochs=max(epochs, 2))
    # Warm up TensorFlow's convolution kernels (about 0.8 s, once per process), so the first
    # epoch measures what every new architecture pays: building and tracing its program.
    compiled_image_figures(cnn_spec(epochs=2))
    pairs = []
    for _ in range(PAIRS):
        ours, fit = compiled_image_figures(spec), fit_cnn_figures(spec)
        pairs.append((fit["ms_per_epoch"] / ours["ms_per_epoch"], ours, fit))
    speedup, ours, fit = median_pair(pairs, lambda pair: pair[0])
    return {"workload": CNN_WORKLOAD, "epochs": spec.training.epochs,
            "ms_per_epoch": ours["ms_per_epoch"], "fit_ms_per_epoch": fit["ms_per_epoch"],
            "speedup": speedup, "pair_speedups": [pair[0] for pair in pairs],
            "first_epoch_seconds": ours["first_epoch_seconds"],
            "fit_first_epoch_seconds": fit["first_epoch_seconds"],
            "frame_bytes": ours["frame_bytes"]}


def format_cnn_report(r: dict) -> str:
    return "\n".join([
        f"CNN workload: {r['workload']}, {r['epochs']} epochs",
        f"{'CNN ms per epoch':22}{r['ms_per_epoch']:15.2f}{r['fit_ms_per_epoch']:12.2f}",
        f"{'CNN first epoch (s)':22}{r['first_epoch_seconds']:15.3f}{r['fit_first_epoch_seconds']:12.3f}",
        f"CNN speed-up (fit / compiled loop): {r['speedup']:.1f}x, the median of {len(r['pair_speedups'])} "
        f"pairs trained in turn (" + ", ".join(f"{x:.1f}x" for x in r["pair_speedups"]) + "); a frame is "
        f"{r['frame_bytes']:,} bytes of JSON",
    ])
