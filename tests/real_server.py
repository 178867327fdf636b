"""Real processes for the tests: `keras-playground serve` on a free loopback port, and
`keras-playground worker`s."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

TIMEOUT = 60
# The console script of this environment, as the Dockerfile and docker-compose.yml run it.
KERAS_PLAYGROUND = str(Path(sys.executable).with_name("keras-playground"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _environment(data_dir, settings) -> dict:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    if data_dir is not None:
        env["PLAYGROUND_DATA_DIR"] = str(data_dir)
    env.update({f"PLAYGROUND_{k.upper()}": str(v) for k, v in settings.items()})
    return env


def _stop(process, sig):
    if process and process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Server:
    def __init__(self, data_dir, command=None, **settings):
        """`settings`: PLAYGROUND_* variables, e.g. frames_per_second=60. `command`: the
        serve command's words (default `keras-playground serve`); host and port are set here."""
        self.data_dir, self.port, self.process = data_dir, free_port(), None
        self.command = command or [KERAS_PLAYGROUND, "serve"]
        self.env = _environment(data_dir, settings)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        self.process = subprocess.Popen(
            [*self.command, "--host", "127.0.0.1", "--port", str(self.port)],
            env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.process.stderr.read().decode()[-2000:]
            try:
                if httpx.get(f"{self.url}/api/health", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.2)
        raise AssertionError("the server did not answer within 60 s")

    def stop(self):
        _stop(self.process, signal.SIGINT)  # a clean shutdown, as Ctrl-C


class Worker:
    """`keras-playground worker` in its own process group (dramatiq's main process and
    the worker processes it forks), so a test can kill it all as a crash would."""

    def __init__(self, command=None, log_path=None, **settings):
        self.command = command or [KERAS_PLAYGROUND, "worker"]
        self.env = _environment(None, settings)
        self.log_path, self.process = log_path, None

    def start(self):
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        self.process = subprocess.Popen(self.command, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        return self

    def owns(self, pid: int) -> bool:
        """Whether process `pid` (named in a run's `worker`) is one of this worker's."""
        try:
            return os.getpgid(pid) == self.process.pid
        except ProcessLookupError:
            return False

    def kill(self):
        """kill -9, every process of it: no goodbye, no clean-up."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(TIMEOUT)

    def stop(self):
        """As `docker stop`: SIGTERM to the main process, which passes it on."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(TIMEOUT)
            except subprocess.TimeoutExpired:
                self.kill()
