"""The lab-server benchmark: the same class of participants on one embedded server, on
one worker process and on two worker processes through Redis, side by side.

It starts a real redis-server (Debian's `redis-server` must be installed), a web server
and `keras-playground worker --processes P` for each configuration, then runs the
classroom benchmark's rounds (`bench.server`) against it: a cold round (fresh processes,
every program traced) and a warm one. Only loopback addresses; every wait has a timeout.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time

import httpx
import redis

from .harness import (CLASS_SETTINGS, REFERENCE_WORKLOAD, RedisServer, Server, Worker, children, cpu_seconds,
                      machine_ticks, playground_command, rss_mb)
from .server import class_round

# (label, worker processes, threads per process); None: the embedded server, no Redis.
CONFIGURATIONS = (("embedded (1 process)", None, None),
                  ("redis, 1 worker process", 1, 32),
                  ("redis, 2 worker processes", 2, 16))


def _wait_for_workers(base: str, n: int) -> None:
    deadline = time.monotonic() + 180
    while httpx.get(f"{base}/api/health", timeout=10).json().get("workers") != n:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{n} worker processes did not report within 180 s")
        time.sleep(0.3)


def _measure(base: str, participants: int, epochs: int, web: int, workers: list[int]) -> list[dict]:
    """A cold round and a warm one, with the CPU time the web process and the workers took."""
    rounds = []
    for label in ("cold", "warm"):
        before = {pid: cpu_seconds(pid) for pid in [web, *workers]}
        busy_before, total_before = machine_ticks()
        figures = asyncio.run(class_round(base, participants, epochs))
        busy, total = machine_ticks()
        figures["machine_busy"] = (busy - busy_before) / max(total - total_before, 1)
        figures["round"] = label
        figures["rss_mb"] = sum(rss_mb(pid) or 0 for pid in [web, *workers])
        figures["web_cpu_seconds"] = cpu_seconds(web) - before[web]
        figures["workers_cpu_seconds"] = sum(cpu_seconds(pid) - before[pid] for pid in workers)
        rounds.append(figures)
    return rounds


def run_lab_bench(participants: int = 30, epochs: int = 200) -> dict:
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        store = RedisServer(os.path.join(tmp, "redis"), persist=False)
        try:
            store.start()
        except RuntimeError as exc:
            raise RuntimeError(f"bench --lab: {exc}") from None
        try:
            for label, processes, threads in CONFIGURATIONS:
                settings = {"redis_url": store.url} if processes else {}
                with redis.Redis.from_url(store.url) as client:
                    client.flushall()
                web = Server(tempfile.mkdtemp(dir=tmp), **CLASS_SETTINGS, **settings).start()
                workers = None
                if processes:
                    command = playground_command("worker", "--processes", str(processes), "--threads", str(threads))
                    workers = Worker(command, redis_url=store.url).start()
                try:
                    if workers is not None:
                        _wait_for_workers(web.url, processes)
                    rounds = _measure(web.url, participants, epochs, web.pid,
                                      children(workers.process.pid) if workers else [])
                finally:
                    for process in (workers, web):
                        if process is not None:
                            process.stop()
                results.append({"configuration": label, "worker_processes": processes,
                                "threads_per_process": threads, "rounds": rounds})
        finally:
            store.stop()
    return {"workload": REFERENCE_WORKLOAD,
            "participants": participants, "epochs": epochs, "cpus": os.cpu_count(), "results": results}


def format_lab_report(report: dict) -> str:
    lines = [f"workload: {report['workload']}; {report['participants']} participants at once, "
             f"{report['epochs']} epochs each; {report['cpus']} CPUs",
             f"{'configuration':<27} {'round':<5} {'done':>6} {'1st epoch p50':>14} {'p95':>6} "
             f"{'aggregate ep/s':>15} {'RSS MiB':>8} {'CPU s web':>9} {'workers':>8} {'machine busy':>12}"]
    for result in report["results"]:
        for r in result["rounds"]:
            p50, p95 = r["first_epoch_p50_seconds"], r["first_epoch_p95_seconds"]
            lines.append(f"{result['configuration']:<27} {r['round']:<5} "
                         f"{r['done_delivered']:>3}/{r['participants']:<2} "
                         f"{'-' if p50 is None else format(p50, '.2f'):>14} "
                         f"{'-' if p95 is None else format(p95, '.2f'):>6} "
                         f"{r['aggregate_epochs_per_second']:>15.0f} {r['rss_mb']:>8.0f} "
                         f"{r['web_cpu_seconds']:>9.1f} {r['workers_cpu_seconds']:>8.1f} "
                         f"{r['machine_busy']:>12.0%}")
            if r["errors"]:
                lines.append(f"{'':<27} errors: {r['errors']}")
    by_label = {r["configuration"]: r["rounds"][-1]["aggregate_epochs_per_second"] for r in report["results"]}
    one, two = by_label.get("redis, 1 worker process"), by_label.get("redis, 2 worker processes")
    if one and two:
        lines.append(f"2 worker processes / 1 (warm, aggregate epochs/s): {two / one:.2f}x")
    return "\n".join(lines)
