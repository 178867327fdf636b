"""Real processes for the tests: `keras-playground serve` on a free loopback port, and
`keras-playground worker`s. The benchmarks' harness is the one implementation."""

from keras_playground.bench.harness import KERAS_PLAYGROUND, Server, Worker, free_port

TIMEOUT = 60  # seconds a test waits for a request or a process

__all__ = ["KERAS_PLAYGROUND", "TIMEOUT", "Server", "Worker", "free_port"]
