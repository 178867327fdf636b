"""What the benchmarks and the tests share: real processes on loopback, and their figures.

`Server` is `keras-playground serve` on a free port, started and waited for until it
answers; `Worker` is `keras-playground worker` in its own process group; `RedisServer` is
Debian's redis-server on a free port in a directory of its own. Then what a benchmark
reads of a process (resident memory, CPU time, its children), the reference workload the
classroom benchmarks train, and Debian's Chromium. Every wait has a timeout.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
import redis

CHROMIUM = "/usr/bin/chromium"  # Debian's package; never a downloaded browser
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
# The console script of this environment, as the Dockerfile and docker-compose.yml run it.
KERAS_PLAYGROUND = str(Path(sys.executable).with_name("keras-playground"))
START_TIMEOUT = 120.0  # seconds a server may take to answer (it imports TensorFlow)
STOP_TIMEOUT = 60.0  # seconds a process may take to exit before it is killed
RUN_TIMEOUT = 300.0  # seconds a benchmark run may take before it counts as not delivered

# The reference workload: what `bench` times against model.fit and what every benchmark
# participant trains (each with its own training seed).
REFERENCE = {
    "dataset": {"name": "parabola", "n_train": 200, "n_val": 50, "n_test": 50, "seed": 7},
    "features": ["x1", "x2"],
    "layers": [{"units": 8, "activation": "tanh"}, {"units": 8, "activation": "tanh"}],
    "training": {"optimizer": "sgd", "learning_rate": 0.1, "batch_size": 10, "epochs": 200,
                 "seed": 1, "shuffle": False, "frame_every": 1},
}
REFERENCE_WORKLOAD = "reference (parabola, 200 points, 2-8-8-1 tanh, SGD, batch 10, a frame every epoch)"

# A class from one loopback address: room for every run at once, and the per-address
# limits a NAT'd class would share lifted.
CLASS_SETTINGS = {"max_active_runs": 64, "max_runs_per_client": 3,
                  "runs_per_address_per_minute": 1_000_000, "joins_per_address_per_minute": 1_000_000}


def reference_run(seed: int, epochs: int) -> dict:
    """The reference workload as a participant posts it: its own seed, `epochs` epochs."""
    return {**REFERENCE, "training": {**REFERENCE["training"], "seed": seed, "epochs": epochs}}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def playground_command(*words: str) -> list[str]:
    """`keras-playground WORDS...`: the console script, or this interpreter if it has none."""
    if Path(KERAS_PLAYGROUND).exists():
        return [KERAS_PLAYGROUND, *words]
    return [sys.executable, "-m", "keras_playground.cli", *words]


def playground_environment(data_dir, settings: dict) -> dict[str, str]:
    """This process's environment with PLAYGROUND_DATA_DIR and `settings` as PLAYGROUND_*
    variables (`frames_per_second=60` -> PLAYGROUND_FRAMES_PER_SECOND=60)."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    if data_dir is not None:
        env["PLAYGROUND_DATA_DIR"] = str(data_dir)
    env.update({f"PLAYGROUND_{k.upper()}": str(v) for k, v in settings.items()})
    return env


def stop_process(process: subprocess.Popen | None, sig: int = signal.SIGTERM,
                 timeout: float = STOP_TIMEOUT) -> None:
    """Send `sig` and wait; kill it if it has not exited within `timeout` seconds."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class Server:
    """`keras-playground serve` on a free loopback port, in a process of its own."""

    def __init__(self, data_dir, command: list[str] | None = None, **settings):
        """`settings`: PLAYGROUND_* variables, e.g. frames_per_second=60. `command`: the
        serve command's words (default `keras-playground serve`); host and port are set here."""
        self.data_dir, self.port, self.process = data_dir, free_port(), None
        self.command = command or playground_command("serve")
        self.env = playground_environment(data_dir, settings)
        self._stderr = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def start(self, timeout: float = START_TIMEOUT) -> Server:
        """Start it and wait until /api/health answers 200."""
        # A file, not a pipe: nobody reads it while the server runs, and a full pipe would block it.
        self._stderr = tempfile.TemporaryFile()
        self.process = subprocess.Popen([*self.command, "--host", "127.0.0.1", "--port", str(self.port)],
                                        env=self.env, stdout=subprocess.DEVNULL, stderr=self._stderr)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited while starting:\n{self._stderr_tail()}")
            try:
                if httpx.get(f"{self.url}/api/health", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.2)
        self.process.kill()
        self.process.wait()
        raise RuntimeError(f"the server did not answer within {timeout:.0f} s:\n{self._stderr_tail()}")

    def _stderr_tail(self) -> str:
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")[-2000:]

    def stop(self) -> None:
        stop_process(self.process, signal.SIGINT)  # a clean shutdown, as Ctrl-C
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None


class Worker:
    """`keras-playground worker` in its own process group (dramatiq's main process and
    the worker processes it forks), so all of it can be killed as a crash would."""

    def __init__(self, command: list[str] | None = None, log_path=None, **settings):
        """`settings`: PLAYGROUND_* variables, e.g. redis_url=...; `log_path`: its output."""
        self.command = command or playground_command("worker")
        self.env = playground_environment(None, settings)
        self.log_path, self.process = log_path, None

    def start(self) -> Worker:
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        self.process = subprocess.Popen(self.command, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        if log is not subprocess.DEVNULL:
            log.close()  # the child has its own copy
        return self

    def owns(self, pid: int) -> bool:
        """Whether process `pid` (named in a run's `worker`) is one of this worker's."""
        try:
            return os.getpgid(pid) == self.process.pid
        except ProcessLookupError:
            return False

    def kill(self) -> None:
        """kill -9, every process of it: no goodbye, no clean-up."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(STOP_TIMEOUT)

    def stop(self) -> None:
        """As `docker stop`: SIGTERM to the main process, which passes it on."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.kill()


class RedisServer:
    """Debian's `redis-server` on a free loopback port, its files in `directory`."""

    def __init__(self, directory, persist: bool = True):
        """`persist`: append-only file in `directory`, so a restart (on the same port)
        keeps the data, as in docker-compose.yml."""
        self.directory, self.port, self.process = Path(directory), free_port(), None
        self.persist = persist

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 30.0) -> RedisServer:
        """Start it and wait until it answers PING."""
        if not Path(REDIS_SERVER).exists():
            raise RuntimeError("needs redis-server (Debian: apt-get install redis-server)")
        self.directory.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.directory),
             "--save", "", "--appendonly", "yes" if self.persist else "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + timeout
        try:
            while True:
                try:
                    client.ping()
                    return self
                except redis.ConnectionError:
                    if self.process.poll() is not None:
                        raise RuntimeError("redis-server exited at start") from None
                    if time.monotonic() > deadline:
                        self.process.kill()
                        self.process.wait()
                        raise RuntimeError(f"redis-server did not answer within {timeout:.0f} s") from None
                    time.sleep(0.05)
        finally:
            client.close()

    def stop(self) -> None:
        stop_process(self.process, signal.SIGTERM, 30)


def rss_mb(pid: int | None) -> float | None:
    """Resident memory of a process, in MiB (Linux); None without a process."""
    if pid is None:
        return None
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return None


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_ticks() -> tuple[int, int]:
    """(busy, total) CPU ticks of the whole machine so far (Linux /proc/stat)."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


def children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (Linux)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def percentile(values, q: float) -> float | None:
    """The q-th percentile of `values`, or None if there are none."""
    return float(np.percentile(values, q)) if len(values) else None


def ws_base(base: str) -> str:
    """The WebSocket address of an http:// server address."""
    return base.replace("http://", "ws://", 1)


PAIRS = 3  # ours and its reference measured in turns this many times; the median pair is reported


def median_pair(pairs: list, ratio):
    """The pair whose `ratio(pair)` is the median (the middle one of an odd count)."""
    return sorted(pairs, key=ratio)[len(pairs) // 2]
