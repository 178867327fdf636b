"""A real `keras-playground serve` process on a free loopback port, for the tests."""

import os
import signal
import socket
import subprocess
import sys
import time

import httpx

TIMEOUT = 60


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, data_dir, **settings):
        """`settings`: PLAYGROUND_* variables, e.g. frames_per_second=60."""
        self.data_dir, self.port, self.process = data_dir, free_port(), None
        self.env = {f"PLAYGROUND_{k.upper()}": str(v) for k, v in settings.items()}

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        env = {**os.environ, "PLAYGROUND_DATA_DIR": str(self.data_dir), "TF_CPP_MIN_LOG_LEVEL": "3", **self.env}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "keras_playground.cli", "serve", "--port", str(self.port)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
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
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # a clean shutdown, as Ctrl-C
            try:
                self.process.wait(TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
