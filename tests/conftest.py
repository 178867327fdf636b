import os

# Quiet TensorFlow's start-up logs; tests read our own output.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")


def pytest_configure(config):
    # As the server and the CLI run it: one TensorFlow thread per pool.
    from keras_playground.engine.runtime import configure_threads

    configure_threads(1)
