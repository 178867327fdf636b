"""Rate limits: at most N actions of one key (an address, a participant) in a sliding minute.

Two backends share one interface, as the stores do: `MemoryRateLimiter` (one process) and
`RedisRateLimiter` (every web replica of a lab server counts in one place). Each check
and count is one atomic step, so simultaneous requests cannot slip past the limit.
"""

from __future__ import annotations

import math
import threading
import time
import uuid
from abc import ABC, abstractmethod
from collections import deque

import redis

WINDOW = 60.0  # seconds


class RateLimiter(ABC):
    @abstractmethod
    def hit(self, scope: str, key: str, limit: int, window: float = WINDOW, count: bool = True) -> float:
        """Count one action of `key` in `scope` if it is within `limit` per `window` seconds.
        Returns 0 when counted, else the seconds until the oldest action leaves the window.
        `count=False` only asks: 0 if one more action would be within the limit."""

    def close(self) -> None:
        pass


class MemoryRateLimiter(RateLimiter):
    def __init__(self, clock=time.monotonic):
        self._clock = clock
        self._seen: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()
        self._next_sweep = clock() + WINDOW

    def hit(self, scope: str, key: str, limit: int, window: float = WINDOW, count: bool = True) -> float:
        now = self._clock()
        with self._lock:
            if now >= self._next_sweep:
                self._sweep(now)
            seen = self._seen.setdefault((scope, key), deque())
            while seen and seen[0] <= now - window:
                seen.popleft()
            if len(seen) >= limit:
                return seen[0] + window - now
            if not count:
                return 0.0
            seen.append(now)
            return 0.0

    def tracked(self) -> int:
        """Keys held in memory."""
        with self._lock:
            return len(self._seen)

    def _sweep(self, now: float) -> None:
        """Once a window: forget keys with nothing in the last window (many addresses, each
        seen once, must not grow memory), at a cost of one pass a minute, not one a hit."""
        for key in [k for k, seen in self._seen.items() if not seen or seen[-1] <= now - WINDOW]:
            del self._seen[key]
        self._next_sweep = now + WINDOW


# KEYS: the sorted set of one key's actions (score: time in ms). ARGV: window ms, limit, a
# unique member, "1" to count (else only ask). The clock is the server's (TIME), read inside
# the script, so replicas with skewed clocks, or callers that reach Redis in another order
# than they read a clock, count alike.
_HIT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window, limit = tonumber(ARGV[1]), tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= limit then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return math.max(1, tonumber(oldest[2]) + window - now)
end
if ARGV[4] ~= '1' then return 0 end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], window)
return 0
"""


class RedisRateLimiter(RateLimiter):
    def __init__(self, client: redis.Redis, namespace: str = "kp"):
        self.redis, self.ns = client, namespace
        self._hit = client.register_script(_HIT)

    def hit(self, scope: str, key: str, limit: int, window: float = WINDOW, count: bool = True) -> float:
        wait_ms = self._hit(keys=[f"{self.ns}:rate:{scope}:{key}"],
                            args=[int(window * 1000), limit, uuid.uuid4().hex, "1" if count else "0"])
        return int(wait_ms) / 1000

    def close(self) -> None:
        self.redis.close()


def retry_after(wait: float) -> int:
    """Seconds for a Retry-After header: whole, at least 1."""
    return max(1, math.ceil(wait))
