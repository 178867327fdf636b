import itertools
import os

import pytest
import redis
from fastapi.testclient import TestClient

from keras_playground.app import create_app
from keras_playground.config import Settings

from keras_playground.store import (MemoryRateLimiter, RedisRateLimiter, RedisRoomStore, RedisRunStore,
                                    SqliteRoomStore, SqliteRunStore)

# Quiet TensorFlow's start-up logs; tests read our own output.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
# Servers started by tests do not trace every lesson at start (seconds of CPU each time);
# tests/engine/test_warm.py turns it on where it is the subject.
os.environ.setdefault("PLAYGROUND_WARM_LESSONS", "false")
# Nor do they prime the process (a second of start-up each; tests/engine/test_prime.py
# and the server benchmark's test cover it).
os.environ.setdefault("PLAYGROUND_PRIME", "false")
# Nor do they compile XLA tiers in the background (seconds of CPU competing with the other
# tests); tests/engine/test_tiers.py and test_cohort.py test the tier, `bench` measures it.
os.environ.setdefault("PLAYGROUND_XLA_TIER", "false")


@pytest.fixture(autouse=True)
def _traced_tier_only(request):
    """In-process runs stay on the traced tier (exact, and no compile competing for the
    CPU), unless a test is marked `xla_tier`: tests/engine/test_tiers.py and test_cohort.py
    bring their own pools and cohorts where the tier is the subject."""
    from keras_playground.engine.cohort import COHORTS
    from keras_playground.engine.pool import PROGRAMS
    from keras_playground.engine.tiers import COMPILER

    on = request.node.get_closest_marker("xla_tier") is not None
    PROGRAMS.tiered = COHORTS.compile_in_background = on
    # No budget of compiles for the whole suite's process (an app built by a test sets the
    # server's): tests/engine/test_tiers.py tests the budget on a compiler of its own.
    COMPILER.max_programs = None
    COHORTS.clear()  # a cohort keeps the tier it was made with, and its programs
    yield

_namespaces = itertools.count()


# Parts of the suite to run alone (`make test-fast` leaves them out; `make test` runs all):
# the browser, a real redis-server, the benchmarks, and the long trainings.
GROUPS = {"e2e": "tests/e2e", "bench": "tests/test_load_bench.py"}


def pytest_collection_modifyitems(config, items):
    root = config.rootpath
    for item in items:
        where = item.path.relative_to(root).as_posix()
        for marker, prefix in GROUPS.items():
            if where.startswith(prefix):
                item.add_marker(marker)
        params = item.callspec.params.values() if hasattr(item, "callspec") else ()
        if "redis_url" in item.fixturenames or where.startswith("tests/distributed") or "redis" in params:
            item.add_marker("redis")


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


# ----- the app, as the API and classroom tests drive it (the lifespan running) -----

@pytest.fixture
def make_client(tmp_path):
    """make_client(**settings) -> a TestClient with the app's lifespan running."""
    opened = []

    def make(**overrides):
        settings = Settings(data_dir=tmp_path / "data", **overrides)
        client = TestClient(create_app(settings))
        client.__enter__()
        opened.append(client)
        return client

    yield make
    for client in opened:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client):
    return make_client()


# ----- the stores, each on both backends: a test that takes one runs twice -----

@pytest.fixture(params=["sqlite", "redis"])
def store(request, tmp_path):
    """A run store: an SQLite file, or a shared Redis."""
    if request.param == "sqlite":
        made = SqliteRunStore(tmp_path)
    else:
        made = RedisRunStore(request.getfixturevalue("redis_url"), request.getfixturevalue("namespace"))
    yield made
    made.close()


@pytest.fixture(params=["sqlite", "redis"])
def rooms(request, tmp_path):
    """A room store: SQLite, or Redis."""
    if request.param == "sqlite":
        store = SqliteRoomStore(tmp_path)
    else:
        store = RedisRoomStore(request.getfixturevalue("redis_url"), request.getfixturevalue("namespace"))
    yield store
    store.close()


@pytest.fixture(params=["memory", "redis"])
def limiter(request):
    """A rate limiter: in memory, or counted in Redis."""
    if request.param == "memory":
        made = MemoryRateLimiter()
        yield made
        made.close()
        return
    client = redis.Redis.from_url(request.getfixturevalue("redis_url"))
    made = RedisRateLimiter(client, request.getfixturevalue("namespace"))
    yield made
    made.close()
    client.close()
