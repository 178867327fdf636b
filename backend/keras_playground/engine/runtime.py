"""TensorFlow's own thread pools, set once before the first operation runs.

A playground epoch is hundreds of tiny operations. Spread over TensorFlow's pools they
cost more in hand-offs than they gain, and the runner already trains several runs at
once on its own threads. One thread each is faster on a small machine: 590 against 460
epochs a second for 30 concurrent runs on 2 cores (`keras-playground bench --runs 30`).
"""

from __future__ import annotations

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
