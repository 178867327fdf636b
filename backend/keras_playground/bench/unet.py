"""The U-Net row of the reference benchmark: the compiled epoch loop against `model.fit` on
the catalog's suggested `nuclei` run, in one process.

Workload: `nuclei` as the catalog suggests it (64x64 images, 24 training, 8 validation,
8 test; a U-Net of depth 2 with 8 base filters and batch normalization, foreground output,
64x64 patches; Adam 0.005, batch 8, loss bce_dice), with a frame every epoch: the network's
output map for the probe image. Both loops train on the same patches each epoch (drawn as
the session draws them: a random crop, quarter turns and flips of every training image, in
a shuffled order); fit is called once an epoch on them (a `keras.utils.PyDataset` would
serve them in one call, but Keras calls its `on_epoch_end` once more before the first
epoch, so its epochs would not line up with the session's), with an epoch-end callback
computing the probe's output map as a frame does.
"""

from __future__ import annotations

import time
from typing import Callable

import keras
import numpy as np

from ..data import DATASETS, network_inputs, probe_split
from ..engine.microscopy import patches
from ..engine.model import targets
from ..engine.session import TrainingSession
from ..specs import RunSpec, parse_spec
from .cnn import compiled_image_figures

UNET_WORKLOAD = ("nuclei 64x64, 24 train images, U-Net depth 2, 8 filters, batchnorm, 64x64 patches, "
                 "Adam, batch 8, a frame every epoch")


def unet_spec(**training) -> RunSpec:
    """The catalog's suggested `nuclei` run, with `training` overrides."""
    suggested = DATASETS["nuclei"].suggested
    return parse_spec({**suggested, "dataset": {"name": "nuclei", **suggested["dataset"]},
                       "training": {**suggested["training"], **training}})


def unet_train_arrays(session: TrainingSession) -> tuple[np.ndarray, np.ndarray]:
    """The whole training images and their targets (maps), as the session crops them."""
    data = session.data
    return (network_inputs(data.x_train, session.spec.features, data.input),
            targets(data.y_train, session.kind, session.n_classes))


def session_draws(session: TrainingSession) -> Callable[[], tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Each call: the next epoch's (patches, their targets, the order) as the session draws
    them, from generators of its own seeded as the session seeds its own."""
    spec = session.spec
    x, y = unet_train_arrays(session)
    order_rng = np.random.default_rng(spec.training.seed)
    patch_rng = np.random.default_rng(spec.training.seed + 1)

    def draw():
        n = spec.dataset.n_train
        perm = order_rng.permutation(n) if spec.training.shuffle else np.arange(n)
        return (*patches(x, y, spec.unet.patch, patch_rng), perm)

    return draw


class _OutputMapEveryEpoch(keras.callbacks.Callback):
    """What a notebook does to show a frame: the network's output for the probe image, as
    uint8 [channels][height][width], after each epoch."""

    def __init__(self, probe: np.ndarray, restoration: bool):
        super().__init__()
        self.probe, self.restoration, self.stamps = probe, restoration, [time.perf_counter()]

    def on_epoch_end(self, epoch, logs=None):
        out = np.transpose(self.model(self.probe, training=False).numpy()[0], (2, 0, 1))
        low, high = (float(out.min()), float(out.max())) if self.restoration else (0.0, 1.0)
        self.last = np.round(np.clip((out - low) / max(high - low, 1e-12), 0, 1) * 255).astype(np.uint8)
        self.stamps.append(time.perf_counter())


def fit_unet_figures(spec: RunSpec) -> dict:
    started = time.perf_counter()
    session = TrainingSession(spec)  # same data and same model construction
    data = session.data
    probe = network_inputs(probe_split(data)[0][:1], spec.features, data.input)  # the session's probe
    xv = network_inputs(data.x_val, spec.features, data.input)
    yv = targets(data.y_val, session.kind, session.n_classes)
    callback = _OutputMapEveryEpoch(probe, session.kind == "restoration")
    callback.stamps[0] = started
    draw = session_draws(session)
    for _ in range(spec.training.epochs):  # one fit call an epoch, on that epoch's patches in its order
        x, y, perm = draw()
        session.model.fit(x[perm], y[perm], batch_size=spec.training.batch_size, epochs=1, shuffle=False,
                          validation_data=(xv, yv), verbose=0, callbacks=[callback])
    gaps = np.diff(callback.stamps)
    return {"ms_per_epoch": 1000 * float(np.median(gaps[1:])), "first_epoch_seconds": float(gaps[0])}


def run_unet_benchmark(epochs: int = 8) -> dict:
    """The `unet` entry of `bench --json`."""
    spec = unet_spec(epochs=max(epochs, 2))
    ours = compiled_image_figures(spec)  # the CNN row's measure, on the U-Net
    fit = fit_unet_figures(spec)
    return {"workload": UNET_WORKLOAD, "epochs": spec.training.epochs,
            "ms_per_epoch": ours["ms_per_epoch"], "fit_ms_per_epoch": fit["ms_per_epoch"],
            "speedup": fit["ms_per_epoch"] / ours["ms_per_epoch"],
            "first_epoch_seconds": ours["first_epoch_seconds"],
            "fit_first_epoch_seconds": fit["first_epoch_seconds"],
            "frame_bytes": ours["frame_bytes"]}


def format_unet_report(r: dict) -> str:
    return "\n".join([
        f"U-Net workload: {r['workload']}, {r['epochs']} epochs",
        f"{'U-Net ms per epoch':22}{r['ms_per_epoch']:15.2f}{r['fit_ms_per_epoch']:12.2f}",
        f"{'U-Net first epoch (s)':22}{r['first_epoch_seconds']:15.3f}{r['fit_first_epoch_seconds']:12.3f}",
        f"U-Net speed-up (fit / compiled loop): {r['speedup']:.1f}x; a frame is "
        f"{r['frame_bytes']:,} bytes of JSON",
    ])
