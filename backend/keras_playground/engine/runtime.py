"""The process that trains: TensorFlow's own thread pools, set once before the first
operation runs, and the garbage collector kept off what lives as long as the process.

A playground epoch is hundreds of tiny operations. Spread over TensorFlow's pools they
cost more in hand-offs than they gain, and the runner already trains several runs at
once on its own threads. One thread each is faster on a small machine: 590 against 460
epochs a second for 30 concurrent runs on 2 cores (`keras-playground bench --runs 30`).
"""

from __future__ import annotations

import gc

import tensorflow as tf


def configure_threads(threads: int = 1) -> bool:
    """Give TensorFlow's intra- and inter-op pools `threads` threads (0: TensorFlow's choice).
    False if TensorFlow had already started, when the pools can no longer change."""
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:
        return False
    return True


def freeze_long_lived() -> None:
    """Take every object alive now out of the cyclic garbage collector's reach (`gc.freeze`),
    after collecting what is garbage already. Called once TensorFlow and Keras are loaded.

    Their modules hold about 370,000 objects that live as long as the process; a full
    collection walks them all (210 ms under the GIL on 2 cores), in which no run trains and
    no event is sent, a few times a class. Frozen, the collector walks only what the runs
    made. 30 runs of the reference workload at their steady state, alternating three times
    in one process: 10,500-14,300 epochs/s unfrozen, 16,700 frozen; one run alone the same
    (2,700-2,970). What is frozen is never collected: only objects that live as long as
    the process belong there, hence once, at start (a process that starts several apps,
    as the tests do, freezes at the first only)."""
    global _frozen
    if _frozen:
        return
    _frozen = True
    gc.collect()
    gc.freeze()


_frozen = False  # whether this process has frozen its long-lived objects
