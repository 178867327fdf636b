"""The reference benchmark: the compiled epoch loop against `model.fit`, in one process.

Workload: parabola data, 200 training points, a 2-8-8-1 tanh network, SGD, batch 10,
with a 64x64 boundary grid computed after every epoch (by an epoch-end callback for fit).

The compiled loop is measured as a run sees it once its architecture's XLA tier is ready
(see `engine.tiers`): the first epoch on the traced program (tracing included), then a
wait for the background compile, then the steady state on the XLA program. The traced
tier alone (tiering off) is measured beside it, the before and after of tiering.
"""

from __future__ import annotations

import statistics
import threading
import time
from contextlib import contextmanager

import keras
import numpy as np

from ..config import Settings
from ..data import compute_features
from ..engine.cohort import Cohorts
from ..engine.model import targets
from ..engine.pool import ProgramPool
from ..engine.runtime import freeze_long_lived
from ..engine.tiers import COMPILER
from ..engine.session import TrainingSession, plane_grid
from ..specs import RunSpec, parse_spec
from .harness import PAIRS, REFERENCE, median_pair


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


TIER_TIMEOUT = 300.0  # seconds the background XLA compile may take on a busy machine


class _TimedProgram:
    """A lent program whose `run` (the TensorFlow call and its results as numpy) is timed."""

    def __init__(self, program, seconds: list[float]):
        self._program, self._seconds = program, seconds

    def __getattr__(self, name):
        return getattr(self._program, name)

    def run(self, *args, **kwargs):
        started = time.perf_counter()
        try:
            return self._program.run(*args, **kwargs)
        finally:
            self._seconds.append(time.perf_counter() - started)


class TimingPool(ProgramPool):
    """A pool that notes how long each epoch's `program.run` took and on which tier."""

    def __init__(self, **options):
        super().__init__(**options)
        self.run_seconds: list[float] = []
        self.run_tiers: list[str] = []

    @contextmanager
    def borrow(self, key, factory):
        with super().borrow(key, factory) as program:
            runs = len(self.run_seconds)
            yield _TimedProgram(program, self.run_seconds)
            if len(self.run_seconds) > runs:
                self.run_tiers.append(program.tier)


def compiled_loop_figures(spec: RunSpec, *, tiered: bool = True, pool: ProgramPool | None = None,
                          max_frames_per_second: float | None = None) -> dict:
    """ms per epoch (median of the epochs after the first, on the tier reached), seconds to
    the first epoch, the tier, and how much of an epoch is the TensorFlow call (`run_ms`)
    against the session's Python around it (`python_ms`: borrowing, events, the frame)."""
    started = time.perf_counter()
    # A pool of its own: the first epoch includes building and tracing the program.
    pool = pool if pool is not None else TimingPool(tiered=tiered)
    session = TrainingSession(spec, max_frames_per_second=max_frames_per_second, pool=pool)
    session.train_epoch()
    first = time.perf_counter() - started
    tier = pool.wait_for_tier(session.key, TIER_TIMEOUT)  # the traced tier at once when untiered
    tier_ready = time.perf_counter() - started
    times, frames = [], 0
    pool.run_seconds.clear(), pool.run_tiers.clear()
    while not session.finished:
        t = time.perf_counter()
        events = session.train_epoch()
        times.append(time.perf_counter() - t)
        frames += any(e.kind == "frame" for e in events)
    if max_frames_per_second is None:
        assert frames == len(times)  # the workload includes a frame every epoch
    ms, run_ms = 1000 * statistics.median(times), 1000 * statistics.median(pool.run_seconds)
    return {"ms_per_epoch": ms, "first_epoch_seconds": first, "tier": tier,
            "epochs_on_tier": pool.run_tiers.count(tier), "tier_ready_seconds": tier_ready,
            "run_ms": run_ms, "python_ms": ms - run_ms}


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


def equivalence(spec: RunSpec, epochs: int = 20, pool: ProgramPool | None = None) -> tuple[float, list[str]]:
    """Max |weight difference| after `epochs`: compiled loop vs model.fit(shuffle=False),
    and the tiers the compiled loop's epochs ran on (`pool`'s, the XLA one once ready)."""
    spec = spec.model_copy(deep=True)
    spec.training.epochs, spec.training.shuffle = epochs, False
    pool = pool if pool is not None else TimingPool()
    pool.run_tiers.clear()
    ours = TrainingSession(spec, pool=pool)
    while not ours.finished:
        ours.train_epoch()
    theirs = TrainingSession(spec)
    x, y, _, _ = fit_inputs(theirs)
    theirs.model.fit(x, y, batch_size=spec.training.batch_size, epochs=epochs, shuffle=False, verbose=0)
    difference = max(float(np.max(np.abs(a - b)))
                     for a, b in zip(ours.model.get_weights(), theirs.model.get_weights()))
    return difference, list(pool.run_tiers)


def frame_share(runs: int) -> float:
    """Frames a second each of `runs` runs gets, as the server's Trainer shares its budget."""
    settings = Settings()
    return min(settings.frames_per_second, settings.frame_budget / max(runs, 1))


def concurrent_figures(spec: RunSpec, runs: int = 8, *, pool: ProgramPool | None = None,
                       cohorts: Cohorts | None = None) -> dict:
    """`runs` sessions started at once on threads of one process (as the server trains them,
    frames shared as it shares them): aggregate epochs per second, and each run's time from
    start to its first epoch. A fresh pool and cohorts (the default): the runs pay for their
    own tracing and compiles."""
    pool = pool if pool is not None else ProgramPool()
    cohorts = cohorts if cohorts is not None else Cohorts()
    sessions: list[TrainingSession] = []
    firsts: list[float] = []

    def train(seed: int) -> None:
        s = spec.model_copy(deep=True)
        s.training.seed = seed
        session = TrainingSession(s, pool=pool, cohorts=cohorts, max_frames_per_second=frame_share(runs))
        sessions.append(session)
        session.start_events()
        session.train_epoch()
        firsts.append(time.perf_counter() - started)
        while not session.finished:
            session.train_epoch()

    before = cohorts.figures()["member_epochs"]
    started = time.perf_counter()
    threads = [threading.Thread(target=train, args=(i + 1,)) for i in range(runs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - started
    epochs = sum(s.epoch for s in sessions)
    # The steady state, as the single run's figure is: from the moment every run has its
    # first epoch to the end, the epochs after the first ones.
    steady = seconds - max(firsts)
    return {"runs": runs, "epochs": epochs, "seconds": seconds, "epochs_per_second": epochs / seconds,
            "steady_epochs_per_second": (epochs - runs) / steady if steady > 0 else None,
            "programs_traced": pool.created,
            "in_cohorts": (cohorts.figures()["member_epochs"] - before) / max(epochs, 1),
            "first_epoch_p50_seconds": float(np.percentile(firsts, 50)),
            "first_epoch_p95_seconds": float(np.percentile(firsts, 95))}


def run_benchmarks(epochs: int = 200, concurrent_runs: int = 30) -> dict:
    spec = reference_spec(epochs=epochs)
    compiled_loop_figures(reference_spec(epochs=5), tiered=False)  # warm up TensorFlow itself, not our model
    freeze_long_lived()  # as a server does once it has loaded TensorFlow
    pool = TimingPool()
    ours = compiled_loop_figures(spec, pool=pool)
    traced = compiled_loop_figures(spec, tiered=False)
    fit = fit_figures(spec)
    difference, tiers = equivalence(spec, pool=pool)  # on the tier `ours` reached
    # One run alone as the concurrent runs train (frames capped as the server caps them),
    # at its steady state; its own pool, traced and compiled here, before the class.
    alone = TimingPool()
    compiled_loop_figures(spec, pool=alone, max_frames_per_second=frame_share(1))
    pool, cohorts = ProgramPool(), Cohorts()
    concurrent = concurrent_figures(spec, concurrent_runs, pool=pool, cohorts=cohorts)  # cold
    COMPILER.wait_idle(TIER_TIMEOUT)  # the cohort's XLA program, if the round was shorter than its compile
    # The same class again against one run alone, in turns: each pair measured within a
    # second or two, so the machine's swings (2x over an hour) touch both sides alike.
    pairs = []
    for _ in range(PAIRS):
        single = compiled_loop_figures(spec, pool=alone, max_frames_per_second=frame_share(1))
        warm = concurrent_figures(spec, concurrent_runs, pool=pool, cohorts=cohorts)
        rate = 1000 / single["ms_per_epoch"]
        pairs.append({"single_epochs_per_second": rate, "single_tier": single["tier"],
                      "warm": warm, "ratio": warm["steady_epochs_per_second"] / rate})
    middle = median_pair(pairs, lambda pair: pair["ratio"])
    warm, single_rate = middle["warm"], middle["single_epochs_per_second"]
    concurrent.update(single_epochs_per_second=single_rate, single_tier=middle["single_tier"],
                      warm_epochs_per_second=warm["epochs_per_second"], warm_in_cohorts=warm["in_cohorts"],
                      warm_steady_epochs_per_second=warm["steady_epochs_per_second"],
                      warm_first_epoch_p95_seconds=warm["first_epoch_p95_seconds"],
                      speedup_over_single=middle["ratio"],
                      pair_ratios=[pair["ratio"] for pair in pairs],
                      cold_speedup_over_single=concurrent["epochs_per_second"] / single_rate)
    return {
        "workload": "parabola, 200 train points, 2-8-8-1 tanh, SGD, batch 10, 64x64 grid every epoch",
        "epochs": epochs,
        "compiled_loop": ours,
        "traced_loop": traced,
        "model_fit": fit,
        "speedup": fit["ms_per_epoch"] / ours["ms_per_epoch"],
        "traced_speedup": fit["ms_per_epoch"] / traced["ms_per_epoch"],
        "max_weight_difference_vs_fit": difference,
        "weight_difference_tiers": sorted(set(tiers)),
        "concurrent": concurrent,
    }


def format_report(r: dict) -> str:
    ours, traced, fit, c = r["compiled_loop"], r["traced_loop"], r["model_fit"], r["concurrent"]
    return "\n".join([
        f"workload: {r['workload']}, {r['epochs']} epochs",
        f"{'':22}{'compiled loop':>15}{'traced only':>13}{'model.fit':>12}",
        f"{'tier':22}{ours['tier']:>15}{traced['tier']:>13}{'':>12}",
        f"{'ms per epoch':22}{ours['ms_per_epoch']:15.2f}{traced['ms_per_epoch']:13.2f}{fit['ms_per_epoch']:12.2f}",
        f"{'  of which TF call':22}{ours['run_ms']:15.2f}{traced['run_ms']:13.2f}",
        f"{'  of which Python':22}{ours['python_ms']:15.2f}{traced['python_ms']:13.2f}",
        f"{'first epoch (s)':22}{ours['first_epoch_seconds']:15.3f}{traced['first_epoch_seconds']:13.3f}"
        f"{fit['first_epoch_seconds']:12.3f}",
        f"compiled loop: steady state on the {ours['tier']} tier ({ours['epochs_on_tier']} epochs), "
        f"measured after the tier was ready {ours['tier_ready_seconds']:.2f} s from the start",
        f"speed-up (fit / compiled loop): {r['speedup']:.1f}x; traced tier only: {r['traced_speedup']:.1f}x",
        f"max weight difference vs model.fit after 20 epochs on the "
        f"{'+'.join(r['weight_difference_tiers'])} tier: {r['max_weight_difference_vs_fit']:.2e}",
        f"{c['runs']} concurrent runs: {c['epochs']} epochs in {c['seconds']:.2f} s = "
        f"{c['epochs_per_second']:.0f} epochs/s aggregate; {c['programs_traced']} program(s) traced; "
        f"first epoch p50 {c['first_epoch_p50_seconds']:.2f} s, p95 {c['first_epoch_p95_seconds']:.2f} s",
        f"  {c['in_cohorts']:.0%} of their epochs trained in cohorts; the same class again (programs "
        f"traced and compiled): {c['warm_epochs_per_second']:.0f} epochs/s from Train to the last end, "
        f"{c['warm_steady_epochs_per_second']:.0f} once every run had its first epoch (p95 "
        f"{c['warm_first_epoch_p95_seconds']:.2f} s)",
        f"concurrent speed-up over one run alone: {c['speedup_over_single']:.1f}x = the class again at "
        f"its steady state {c['warm_steady_epochs_per_second']:.0f} epochs/s / one run trained alone "
        f"{c['single_epochs_per_second']:.0f} epochs/s (1000 / its median ms per epoch on the "
        f"{c['single_tier']} tier, frames as the server shares them), the median of "
        f"{len(c['pair_ratios'])} pairs measured in turn ("
        + ", ".join(f"{ratio:.1f}x" for ratio in c["pair_ratios"]) + "); from cold: "
        f"{c['cold_speedup_over_single']:.1f}x",
    ])
