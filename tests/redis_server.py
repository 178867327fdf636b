"""A real `redis-server` (Debian's) on a free loopback port, for the distributed tests.
The benchmarks' harness is the one implementation."""

from keras_playground.bench.harness import REDIS_SERVER, RedisServer

__all__ = ["REDIS_SERVER", "RedisServer"]
