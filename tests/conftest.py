import itertools
import os

import pytest

# Quiet TensorFlow's start-up logs; tests read our own output.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

_namespaces = itertools.count()


def pytest_configure(config):
    # As the server and the CLI run it: one TensorFlow thread per pool.
    from keras_playground.engine.runtime import configure_threads

    configure_threads(1)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """A real redis-server for the whole session; tests keep apart by namespace."""
    from .redis_server import RedisServer

    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server.url
    server.stop()


@pytest.fixture
def namespace():
    """Redis key prefix of one test (runs, logs, queues), so tests never see each other's keys."""
    return f"test{next(_namespaces)}"
