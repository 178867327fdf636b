"""Priming: a training process pays its one-time costs before it says it is ready.

The first program a process traces, the first it compiles with XLA and the first run it
ends each cost far more than the ones after: XLA pages in its compiler (about 43 MiB of
library code and 26 MiB of its own), and the first end loads what the test figures and
saving a `.keras` archive need (about 37 MiB). Left to the first class, they land inside
its first minute, and the memory its thirty runs seem to take is mostly them (+150 MiB
over the idle server; the same class again: +6 to +11). So at start, before the server
answers or the worker takes a job, the process trains a throwaway class on private pools,
through every path a class takes, and throws all of it away:

- two runs of one architecture, in a cohort: its stacked program, traced, then compiled
  by XLA, as a class's is (a solo program's compile pays no more that is one-time: it
  is left out, half a second of start-up);
- one run of it alone, on its solo program, traced;
- every run's end: its test figures and its `.keras` archive.

The architecture is of no lesson (warming the lessons' own programs is `warm`'s work), and
tiny: priming costs under a second of start-up on 2 cores.
"""

from __future__ import annotations

import threading
import time

PRIMER = {
    "dataset": {"name": "xor", "n_train": 20, "n_val": 10, "n_test": 10, "seed": 1},
    "features": ["x1", "x2"],
    "layers": [{"units": 3, "activation": "relu"}],
    "training": {"optimizer": "sgd", "learning_rate": 0.1, "batch_size": 10, "epochs": 12,
                 "seed": 1, "shuffle": True, "frame_every": 1},
}
COHORT_MEMBERS = 2
COMPILE_TIMEOUT = 60.0  # seconds priming waits for its XLA programs on a busy machine


def _primer(seed: int):
    from ..specs import parse_spec

    return parse_spec({**PRIMER, "training": {**PRIMER["training"], "seed": seed}})


def _train(sessions: list, epochs: int) -> None:
    """Train each session up to `epochs`, on a thread each (so a cohort's members meet)."""
    def train(session):
        session.start_events()
        while session.epoch < epochs and not session.finished:
            session.train_epoch()

    threads = [threading.Thread(target=train, args=(s,), name="prime") for s in sessions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def prime_process(xla: bool = True, **session_options) -> dict:
    """Train and end the primer's runs; what it did: the seconds it took, the tier the
    cohort ended on (`xla` False: no XLA compile, as the process's programs get none), and
    the runs ended."""
    from .cohort import Cohorts
    from .pool import ProgramPool
    from .session import TrainingSession
    from .tiers import COMPILER

    started = time.perf_counter()
    pool, cohorts = ProgramPool(tiered=False), Cohorts(compile_in_background=xla)
    members = [TrainingSession(_primer(seed), max_frames_per_second=None, pool=pool, cohorts=cohorts,
                               **session_options) for seed in range(1, COHORT_MEMBERS + 1)]
    alone = TrainingSession(_primer(COHORT_MEMBERS + 1), max_frames_per_second=None, pool=pool, cohorts=None,
                            **session_options)
    half = PRIMER["training"]["epochs"] // 2
    _train([*members, alone], half)  # traced; the cohort asks for its XLA program on the way
    if xla:
        COMPILER.wait_idle(COMPILE_TIMEOUT)
    _train([*members, alone], PRIMER["training"]["epochs"])  # the cohort on XLA
    ends = [(session.done_event(), session.model_file()) for session in [*members, alone]]
    return {"seconds": time.perf_counter() - started,
            "cohort_tier": cohorts.get(members[0].cohort_key, {}).tier(COHORT_MEMBERS), "ends": len(ends)}
