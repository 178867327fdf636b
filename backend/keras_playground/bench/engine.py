"""The reference benchmark: the compiled epoch loop against `model.fit`, in one process.

Workload: parabola data, 200 training points, a 2-8-8-1 tanh network, SGD, batch 10,
with a 64x64 boundary grid computed after every epoch (by an epoch-end callback for fit).
"""

from __future__ import annotations

import statistics
import threading
import time

import keras
import numpy as np

from ..data import compute_features
from ..engine.model import targets
from ..engine.pool import ProgramPool
from ..engine.session import TrainingSession, plane_grid
from ..specs import RunSpec, parse_spec
from .harness import REFERENCE


def reference_spec(**training) -> RunSpec:
    raw = {**REFERENCE, "training": {**REFERENCE["training"], **training}}
    return parse_spec(raw)


def fit_inputs(session: TrainingSession):
    """The arrays model.fit trains on for a session: (x, y) and the validation (x, y)."""
    spec, data = session.spec, session.data
    x = compute_features(data.x_train, spec.features)
    y = targets(data.y_train, session.kind, session.n_classes)
    xv = compute_features(data.x_val, spec.features)
    yv = targets(data.y_val, session.kind, session.n_classes)
    return x, y, xv, yv


def compiled_loop_figures(spec: RunSpec) -> dict:
    """ms per epoch (median, after the first), and seconds from start to the first epoch."""
    started = time.perf_counter()
    # A pool of its own: the first epoch includes building and tracing the program.
    session = TrainingSession(spec, max_frames_per_second=None, pool=ProgramPool())
    session.train_epoch()
    first = time.perf_counter() - started
    times = []
    while not session.finished:
        t = time.perf_counter()
        events = session.train_epoch()
        times.append(time.perf_counter() - t)
        assert any(e.kind == "frame" for e in events)  # the workload includes a frame every epoch
    return {"ms_per_epoch": 1000 * statistics.median(times), "first_epoch_seconds": first}


class _GridEveryEpoch(keras.callbacks.Callback):
    """What a notebook does to draw the boundary: predict the grid after each epoch."""

    def __init__(self, grid: np.ndarray):
        super().__init__()
        self.grid, self.stamps = grid, [time.perf_counter()]

    def on_epoch_end(self, epoch, logs=None):
        probabilities = self.model(self.grid, training=False).numpy()
        self.last_grid = np.round(probabilities * 255).astype(np.uint8)
        self.stamps.append(time.perf_counter())


def fit_figures(spec: RunSpec) -> dict:
    started = time.perf_counter()
    session = TrainingSession(spec)  # same data and same model construction
    x, y, xv, yv = fit_inputs(session)
    grid = compute_features(plane_grid(session.data.extent, 64), spec.features)
    callback = _GridEveryEpoch(grid)
    callback.stamps[0] = started
    session.model.fit(x, y, batch_size=spec.training.batch_size, epochs=spec.training.epochs,
                      validation_data=(xv, yv), shuffle=False, verbose=0, callbacks=[callback])
    gaps = np.diff(callback.stamps)
    return {"ms_per_epoch": 1000 * float(np.median(gaps[1:])), "first_epoch_seconds": float(gaps[0])}


def equivalence(spec: RunSpec, epochs: int = 20) -> float:
    """Max |weight difference| after `epochs`: compiled loop vs model.fit(shuffle=False)."""
    spec = spec.model_copy(deep=True)
    spec.training.epochs, spec.training.shuffle = epochs, False
    ours = TrainingSession(spec)
    while not ours.finished:
        ours.train_epoch()
    theirs = TrainingSession(spec)
    x, y, _, _ = fit_inputs(theirs)
    theirs.model.fit(x, y, batch_size=spec.training.batch_size, epochs=epochs, shuffle=False, verbose=0)
    return max(float(np.max(np.abs(a - b)))
               for a, b in zip(ours.model.get_weights(), theirs.model.get_weights()))


def concurrent_figures(spec: RunSpec, runs: int = 8) -> dict:
    """`runs` sessions started at once on threads of one process (as the server trains them):
    aggregate epochs per second, and each run's time from start to its first epoch."""
    pool = ProgramPool()  # a fresh pool: the runs pay for their own tracing
    sessions: list[TrainingSession] = []
    firsts: list[float] = []

    def train(seed: int) -> None:
        s = spec.model_copy(deep=True)
        s.training.seed = seed
        session = TrainingSession(s, pool=pool)
        sessions.append(session)
        session.train_epoch()
        firsts.append(time.perf_counter() - started)
        while not session.finished:
            session.train_epoch()

    started = time.perf_counter()
    threads = [threading.Thread(target=train, args=(i + 1,)) for i in range(runs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - started
    epochs = sum(s.epoch for s in sessions)
    return {"runs": runs, "epochs": epochs, "seconds": seconds, "epochs_per_second": epochs / seconds,
            "programs_traced": pool.created,
            "first_epoch_p50_seconds": float(np.percentile(firsts, 50)),
            "first_epoch_p95_seconds": float(np.percentile(firsts, 95))}


def run_benchmarks(epochs: int = 200, concurrent_runs: int = 30) -> dict:
    spec = reference_spec(epochs=epochs)
    compiled_loop_figures(reference_spec(epochs=5))  # warm up TensorFlow itself, not our model
    ours = compiled_loop_figures(spec)
    fit = fit_figures(spec)
    return {
        "workload": "parabola, 200 train points, 2-8-8-1 tanh, SGD, batch 10, 64x64 grid every epoch",
        "epochs": epochs,
        "compiled_loop": ours,
        "model_fit": fit,
        "speedup": fit["ms_per_epoch"] / ours["ms_per_epoch"],
        "max_weight_difference_vs_fit": equivalence(spec),
        "concurrent": concurrent_figures(spec, concurrent_runs),
    }


def format_report(r: dict) -> str:
    ours, fit, c = r["compiled_loop"], r["model_fit"], r["concurrent"]
    return "\n".join([
        f"workload: {r['workload']}, {r['epochs']} epochs",
        f"{'':22}{'compiled loop':>15}{'model.fit':>12}",
        f"{'ms per epoch':22}{ours['ms_per_epoch']:15.2f}{fit['ms_per_epoch']:12.2f}",
        f"{'first epoch (s)':22}{ours['first_epoch_seconds']:15.3f}{fit['first_epoch_seconds']:12.3f}",
        f"speed-up (fit / compiled loop): {r['speedup']:.1f}x",
        f"max weight difference vs model.fit after 20 epochs: {r['max_weight_difference_vs_fit']:.2e}",
        f"{c['runs']} concurrent runs: {c['epochs']} epochs in {c['seconds']:.2f} s = "
        f"{c['epochs_per_second']:.0f} epochs/s aggregate; {c['programs_traced']} program(s) traced; "
        f"first epoch p50 {c['first_epoch_p50_seconds']:.2f} s, p95 {c['first_epoch_p95_seconds']:.2f} s",
    ])
