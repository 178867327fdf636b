"""Redis clients that ride out a short Redis outage: a restart, a failover, the AOF loading.

Every Redis client of the app is built here. A command that meets a refused or dropped
connection, or Redis still loading its data (`LOADING`), is sent again with exponential
backoff for about `retry_seconds`, then raises. Workers retry for the whole
`redis_outage_seconds` (training pauses meanwhile); web replicas retry only briefly and
answer 503 with Retry-After, so a browser request never hangs through an outage.
Lua scripts survive a restart: redis-py's `Script` loads a script again on `NOSCRIPT`.
"""

from __future__ import annotations

import asyncio
import math

import redis
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import ExponentialBackoff
from redis.exceptions import BusyLoadingError, ConnectionError, ReadOnlyError, TimeoutError
from redis.retry import Retry

# What an outage looks like to a client; anything else is a real error, never retried.
# ReadOnlyError: a replica promoted in a failover still refuses writes for a moment.
OUTAGE_ERRORS = (ConnectionError, TimeoutError, BusyLoadingError, ReadOnlyError)
WEB_RETRY_SECONDS = 1.0  # a web replica's request waits this long for Redis, then answers 503
BASE, CAP = 0.05, 0.5  # seconds: the first pause and the longest one between attempts
CONNECT_TIMEOUT = 2.0  # seconds: a host that does not answer at all counts as an attempt
# Seconds a sync command may wait for its answer: a Redis that accepts connections but stops
# answering (paused, a dropped link) must not hold a request thread for ever. Sync clients
# send no long blocking commands (a run's control list blocks 0.5 s at most); the asyncio
# clients block on purpose (XREAD, BLPOP) and bound each call themselves.
COMMAND_TIMEOUT = 10.0


def attempts_for(seconds: float) -> int:
    """Retries whose pauses (BASE doubling up to CAP) add up to about `seconds`."""
    total, retries = 0.0, 0
    while total < seconds:
        retries += 1
        total += min(CAP, BASE * 2 ** retries)
    return max(retries, 1)


OPTIONS = {"retry_on_error": list(OUTAGE_ERRORS), "socket_connect_timeout": CONNECT_TIMEOUT,
           "socket_keepalive": True}


def connect(url: str, retry_seconds: float = WEB_RETRY_SECONDS) -> redis.Redis:
    """A client whose commands retry through an outage of about `retry_seconds`."""
    retry = Retry(ExponentialBackoff(cap=CAP, base=BASE), attempts_for(retry_seconds))
    return redis.Redis.from_url(url, retry=retry, socket_timeout=COMMAND_TIMEOUT, **OPTIONS)


def connect_async(url: str, retry_seconds: float = WEB_RETRY_SECONDS) -> aioredis.Redis:
    """The asyncio client of `connect` (one per event loop)."""
    retry = AsyncRetry(ExponentialBackoff(cap=CAP, base=BASE), attempts_for(retry_seconds))
    return aioredis.Redis.from_url(url, retry=retry, **OPTIONS)


class AsyncClients:
    """The asyncio client of the running event loop, made on first use: a connection
    belongs to one loop, and the app, its tests and the bench each run their own."""

    def __init__(self, url: str, retry_seconds: float = WEB_RETRY_SECONDS):
        self.url, self.retry_seconds = url, retry_seconds
        self._clients: dict[asyncio.AbstractEventLoop, aioredis.Redis] = {}

    def __call__(self) -> aioredis.Redis:
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            for old in [l for l in self._clients if l.is_closed()]:
                del self._clients[old]
            client = self._clients[loop] = connect_async(self.url, self.retry_seconds)
        return client


def retry_after(retry_seconds: float = WEB_RETRY_SECONDS) -> int:
    """Seconds a client is told to wait (Retry-After) when Redis is out."""
    return max(2, math.ceil(retry_seconds * 2))
