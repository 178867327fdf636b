"""The lab-server topology as processes: what docker-compose.yml runs, without Docker.

A real redis-server (Debian's), two web replicas and two workers, each started with the
command and the environment its service has in docker-compose.yml (only the Redis
address, the port and a few test-speed settings differ)."""

import re
import time
from pathlib import Path

import httpx
import pytest
import yaml

from ..real_server import KERAS_PLAYGROUND, TIMEOUT, Server, Worker
from ..redis_server import RedisServer

COMPOSE = yaml.safe_load((Path(__file__).parents[2] / "docker-compose.yml").read_text())

# Faster than production so a test sees a dead worker in seconds, and small enough that
# four runs need both workers.
TEST_SETTINGS = {"worker_threads": 2, "heartbeat_seconds": 0.5, "worker_timeout": 3}


# What a lab's admin puts in .env; docker compose substitutes ${VAR...} in the file.
ADMIN_ENV = {"PLAYGROUND_INSTRUCTOR_PASSWORD": "lab-password"}


def substituted(value) -> str:
    """A compose value with `${VAR}`, `${VAR:-default}` and `${VAR:?error}` filled from ADMIN_ENV."""
    def fill(match: re.Match) -> str:
        name, operator, rest = match.groups()
        if ADMIN_ENV.get(name):
            return ADMIN_ENV[name]
        assert operator != ":?", f"docker-compose.yml needs {name}: {rest}"
        return rest or ""

    return re.sub(r"\$\{(\w+)(?:(:[?-])([^}]*))?\}", fill, str(value))


def service(name: str) -> tuple[list[str], dict[str, str]]:
    """A compose service's command (our console script in place of the image's) and its
    PLAYGROUND_* settings, minus what a test machine sets itself."""
    spec = COMPOSE["services"][name]
    command = [KERAS_PLAYGROUND if word == "keras-playground" else word for word in spec["command"]]
    settings = {k.removeprefix("PLAYGROUND_").lower(): substituted(v) for k, v in spec.get("environment", {}).items()
                if k.startswith("PLAYGROUND_") and k not in ("PLAYGROUND_REDIS_URL", "PLAYGROUND_DATA_DIR")}
    return command, settings


def serve_command() -> list[str]:
    command, _ = service("web")
    assert command[:2] == [KERAS_PLAYGROUND, "serve"] and "--host" in command
    return command[:2]  # the test server binds loopback on a free port


class Topology:
    def __init__(self, root: Path):
        self.root = root
        self.redis = RedisServer(root / "redis").start()
        self.webs = [self._web(i) for i in range(2)]
        self.workers = [self._worker(i) for i in range(2)]
        for web in self.webs:
            web.start()
        for worker in self.workers:
            worker.start()
        self.wait_for_workers(2)

    def _web(self, i: int) -> Server:
        _, settings = service("web")
        return Server(self.root / f"web{i}", serve_command(), redis_url=self.redis.url,
                      **{**settings, **TEST_SETTINGS})

    def _worker(self, i: int) -> Worker:
        command, settings = service("worker")
        return Worker(command, self.root / f"worker{i}.log", redis_url=self.redis.url,
                      **{**settings, **TEST_SETTINGS})

    def health(self, web=0) -> dict:
        return httpx.get(f"{self.webs[web].url}/api/health", timeout=TIMEOUT).json()

    def wait_for_workers(self, n: int) -> None:
        deadline = time.monotonic() + 120  # each imports TensorFlow
        while self.health()["workers"] != n:
            assert time.monotonic() < deadline, f"{n} workers did not report within 120 s"
            time.sleep(0.3)

    def replace_worker(self, i: int) -> None:
        self.workers[i] = self._worker(i).start()

    def restart_webs(self) -> None:
        for web in self.webs:
            web.stop()
        for web in self.webs:
            web.start()

    def stop(self) -> None:
        for process in [*self.workers, *self.webs, self.redis]:
            process.stop()


@pytest.fixture(scope="module")
def topology(tmp_path_factory):
    running = Topology(tmp_path_factory.mktemp("lab"))
    yield running
    running.stop()
