"""Health on a lab server counts the live workers without scanning Redis's keyspace."""

import redis

from keras_playground.backends import worker_context
from keras_playground.config import Settings
from keras_playground.jobs.distributed import DramatiqRunner, make_broker
from keras_playground.jobs.redis_bus import RedisBus
from keras_playground.store import RedisRunStore


def scans(client: redis.Redis) -> int:
    """Calls of SCAN and KEYS the server has answered since its statistics were reset."""
    stats = client.info("commandstats")
    return sum(stats.get(f"cmdstat_{name}", {}).get("calls", 0) for name in ("scan", "keys"))


def test_live_workers_are_counted_from_their_heartbeats_without_a_scan(redis_url, namespace, tmp_path):
    settings = Settings(redis_url=redis_url, data_dir=tmp_path, worker_timeout=30)
    runner = DramatiqRunner(RedisBus(redis_url, namespace), RedisRunStore(redis_url, namespace),
                            make_broker(redis_url, namespace), url=redis_url, namespace=namespace)
    contexts = [worker_context(settings, namespace=namespace, name=f"{namespace}-w{i}") for i in range(2)]
    for context in contexts:
        context._beat()
    for i in range(500):  # a busy keyspace: what a scan would have to walk
        runner.redis.set(f"{namespace}:filler:{i}", i)
    runner.redis.config_resetstat()

    assert sorted(w["name"] for w in runner.workers()) == [f"{namespace}-w0", f"{namespace}-w1"]
    contexts[0].stop_heartbeat()  # a clean stop: gone at once
    assert [w["name"] for w in runner.workers()] == [f"{namespace}-w1"]
    runner.redis.delete(contexts[1].keys.worker(contexts[1].name))  # a heartbeat that expired
    assert runner.workers() == []
    assert runner.redis.scard(contexts[1].keys.workers) == 0  # the registry forgets the dead
    assert scans(runner.redis) == 0
