"""XLA's options (`engine/xla_options.py`): given before the first compile, the user's own
win, and the TensorFlow installed here is the one they were measured on and accepts them."""

import os
import subprocess
import sys

from keras_playground.engine.xla_options import MEASURED_ON, OPTIONS, tensorflow_release, xla_flags

OURS = " ".join(f"{option}={value}" for option, value in OPTIONS.items())


def test_the_options_are_added_to_the_users_own():
    assert xla_flags("", MEASURED_ON) == OURS
    assert xla_flags("--xla_dump_to=/tmp/dump", MEASURED_ON) == f"--xla_dump_to=/tmp/dump {OURS}"


def test_an_option_the_user_sets_wins():
    assert xla_flags("--xla_cpu_use_fusion_emitters=true", MEASURED_ON) == "--xla_cpu_use_fusion_emitters=true"


def test_a_tensorflow_they_were_not_measured_on_gets_none():
    # XLA aborts the process on an option it does not know: only the measured release gets them.
    for release in [(2, 16), (2, 20), (2, 22), (3, 0), None]:
        assert xla_flags("", release) == ""
        assert xla_flags("--xla_dump_to=/tmp/dump", release) == "--xla_dump_to=/tmp/dump"


def test_a_fresh_process_compiles_with_them():
    # The installed TensorFlow is the release measured (else re-measure, docs/performance.md),
    # the engine gives the options at import, and XLA accepts them in a compile.
    assert tensorflow_release() == MEASURED_ON
    program = (
        "import os\n"
        "import keras_playground.engine.program\n"
        "import tensorflow as tf\n"
        "print(os.environ['XLA_FLAGS'])\n"
        "f = tf.function(lambda x: tf.tanh(x) * 2.0, jit_compile=True)\n"
        "print(float(f(tf.constant(0.5))))\n")
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    done = subprocess.run([sys.executable, "-c", program], env={**env, "TF_CPP_MIN_LOG_LEVEL": "3"},
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    flags, value = done.stdout.split("\n")[:2]
    assert flags == OURS
    assert abs(float(value) - 2 * 0.46211716) < 1e-6
