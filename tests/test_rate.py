"""Rate limiters, the same suite on both: one process's memory and a shared Redis."""

import threading
import time

from keras_playground.store import MemoryRateLimiter, retry_after

TIMEOUT = 30  # seconds any single wait may take


def test_a_key_is_counted_up_to_its_limit_then_told_how_long_to_wait(limiter):
    assert [limiter.hit("runs", "10.0.0.1", 3) for _ in range(3)] == [0, 0, 0]
    wait = limiter.hit("runs", "10.0.0.1", 3)
    assert 0 < wait <= 60 and retry_after(wait) >= 1
    assert limiter.hit("runs", "10.0.0.1", 3) > 0  # a refused action is not counted, still refused
    assert limiter.hit("runs", "10.0.0.2", 3) == 0  # another address has its own count
    assert limiter.hit("rooms", "10.0.0.1", 3) == 0  # and another scope


def test_an_action_leaves_the_count_after_the_window(limiter):
    window = 0.3  # seconds
    assert limiter.hit("runs", "a", 1, window) == 0
    wait = limiter.hit("runs", "a", 1, window)
    assert 0 < wait <= window
    deadline = time.monotonic() + TIMEOUT
    while limiter.hit("runs", "a", 1, window):  # polled: the window slides in real time
        assert time.monotonic() < deadline, "the action never left the window"
        time.sleep(0.02)


def test_simultaneous_actions_never_pass_the_limit(limiter):
    limit, callers = 5, 30
    start, results = threading.Barrier(callers), []

    def act():
        start.wait(TIMEOUT)
        results.append(limiter.hit("runs", "one-nat", limit))

    threads = [threading.Thread(target=act) for _ in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    assert len(results) == callers
    assert sum(1 for wait in results if wait == 0) == limit
    assert all(0 < wait <= 60 for wait in results if wait)


def test_retry_after_is_whole_seconds_and_at_least_one():
    assert [retry_after(w) for w in (0.001, 0.5, 1.0, 1.2, 59.01)] == [1, 1, 1, 2, 60]


def test_keys_idle_for_a_window_are_forgotten_in_memory():
    now = [0.0]
    limiter = MemoryRateLimiter(clock=lambda: now[0])
    for i in range(1000):  # a thousand addresses, each seen once
        limiter.hit("runs", f"10.0.{i // 250}.{i % 250}", 5)
    now[0] = 59.0
    limiter.hit("runs", "still-here", 5)
    assert limiter.tracked() == 1001
    now[0] = 61.0  # a window later: one sweep keeps only the key seen within it
    limiter.hit("runs", "still-here", 5)
    assert limiter.tracked() == 1
