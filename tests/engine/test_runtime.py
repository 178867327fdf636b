"""The training process's runtime: `freeze_long_lived` takes what TensorFlow and Keras
loaded out of the collector's walks, collects garbage first, and leaves later garbage to it."""

import subprocess
import sys

PROGRAM = """
import gc, weakref
import keras
from keras_playground.engine.runtime import freeze_long_lived

class Node:
    pass

def cycle():
    a, b = Node(), Node()
    a.other, b.other = b, a
    return weakref.ref(a)

before = cycle()  # garbage already: collected, not frozen
freeze_long_lived()
print(before() is None, gc.get_freeze_count())
after = cycle()  # garbage made later: the collector still finds it
gc.collect()
print(after() is None)
"""


def test_what_is_loaded_is_frozen_and_garbage_is_still_collected():
    done = subprocess.run([sys.executable, "-c", PROGRAM], capture_output=True, text=True, timeout=300,
                          env={"TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-2000:]
    first, second = done.stdout.split("\n")[:2]
    collected_before, frozen = first.split()
    assert collected_before == "True"
    assert int(frozen) > 100_000  # TensorFlow's and Keras's modules
    assert second == "True"
