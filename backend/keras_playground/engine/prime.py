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
  by XLA, as a class's is (XLA's one-time costs come with the first compile, whichever
  it is: a solo program's compile is left out, half a second of start-up);
- one run of it alone, on its solo program, traced;
- every run's end: its test figures and its `.keras` archive.

The architecture is of no lesson (warming the lessons' own programs is `warm`'s work), and
tiny: priming costs about a second of start-up on 2 cores (2-3 s on a busy machine).
"""

from __future__ import annotations

import threading
import time

PRIMER = {
    "dataset": {"name": "xor", "n_train": 20, "n_val": 10, "n_test": 10, "seed": 1},
    "features": ["x1", "x2"],
    "layers": [{"units": 3, "activation": "relu"}],
    "training": {"optimizer": "sgd", "learning_rate": 0.1, "batch_size": 10, "epochs": 40,
                 "seed": 1, "shuffle": True, "frame_every": 1},
}
COHORT_MEMBERS = 2
STRIDE = 4  # epochs trained between looks at the cohort
ASK_WITHIN = 32  # epochs within which the cohort asks for its XLA program (after a few calls together)
COMPILE_TIMEOUT = 60.0  # seconds priming waits for its XLA program on a busy machine
TRAIN_TIMEOUT = 120.0  # seconds a stride may take before priming gives up


def _primer(seed: int):
    from ..specs import parse_spec

    return parse_spec({**PRIMER, "training": {**PRIMER["training"], "seed": seed}})


def _train(sessions: list, epochs: int) -> None:
    """Train each session up to `epochs`, on a thread each (so a cohort's members meet);
    raises what a run raised, or TimeoutError when one has not finished in time."""
    errors: list[BaseException] = []

    def train(session):
        try:
            session.start_events()
            while session.epoch < epochs and not session.finished:
                session.train_epoch()
        except BaseException as error:  # told to the caller, not lost in a thread
            errors.append(error)

    threads = [threading.Thread(target=train, args=(s,), name="prime", daemon=True) for s in sessions]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + TRAIN_TIMEOUT
    for thread in threads:
        thread.join(max(deadline - time.monotonic(), 0.0))
    if any(thread.is_alive() for thread in threads):
        raise TimeoutError(f"a primer run did not train {epochs} epochs within {TRAIN_TIMEOUT:.0f} s")
    if errors:
        raise errors[0]


def prime_process(xla: bool = True, **session_options) -> dict:
    """Train and end the primer's runs; raises if one fails. What it did: the seconds it
    took, the tier the cohort ended on (`xla` False: no XLA compile, as the process's
    programs get none), and each run's end (its test loss, its archive's bytes)."""
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
    runs, cohort = [*members, alone], cohorts.get(members[0].cohort_key, {})
    # Traced, until the cohort has asked for its XLA program: after a few calls of one
    # size in a row, more when its members miss each other on a busy machine.
    epochs = STRIDE
    _train(runs, epochs)
    while xla and not cohort.compile_asked() and epochs < ASK_WITHIN:
        epochs += STRIDE
        _train(runs, epochs)
    if xla:
        COMPILER.wait_idle(COMPILE_TIMEOUT)
    _train(runs, epochs + STRIDE)  # the cohort on XLA, where it compiled
    ends = [(session.done_event(), session.model_file()) for session in runs]
    return {"seconds": time.perf_counter() - started, "cohort_tier": cohort.tier(COHORT_MEMBERS),
            "test_losses": [done.test_loss for done, _ in ends], "archive_bytes": [len(archive) for _, archive in ends]}
