"""The lab-server benchmark: the same class of participants on one embedded server, on
one worker process and on two worker processes through Redis, side by side.

It starts a real redis-server (Debian's `redis-server` must be installed), a web server
and `keras-playground worker --processes P` for each configuration, then runs the
classroom benchmark's rounds (`loadbench`) against it: a cold round (fresh processes,
every program traced) and a warm one. Only loopback addresses; every wait has a timeout.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import redis

from .loadbench import _free_port, _round, rss_mb, start_server

# (label, worker processes, threads per process); None: the embedded server, no Redis.
CONFIGURATIONS = (("embedded (1 process)", None, None),
                  ("redis, 1 worker process", 1, 32),
                  ("redis, 2 worker processes", 2, 16))


def _start_redis(directory: str) -> tuple[subprocess.Popen, str]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("bench --lab needs redis-server (Debian: apt-get install redis-server)")
    port = _free_port()
    process = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", directory,
                                "--save", "", "--appendonly", "no"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + 30
    while True:
        try:
            client.ping()
            return process, url
        except redis.ConnectionError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise RuntimeError("redis-server did not start") from None
            time.sleep(0.05)


def _start_workers(url: str, processes: int, threads: int) -> subprocess.Popen:
    env = {**os.environ, "PLAYGROUND_REDIS_URL": url, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.Popen([sys.executable, "-m", "keras_playground.cli", "worker",
                             "--processes", str(processes), "--threads", str(threads)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _wait_for_workers(base: str, n: int) -> None:
    deadline = time.monotonic() + 180
    while httpx.get(f"{base}/api/health", timeout=10).json().get("workers") != n:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{n} worker processes did not report within 180 s")
        time.sleep(0.3)


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_ticks() -> tuple[int, int]:
    """(busy, total) CPU ticks of the whole machine so far (Linux /proc/stat)."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


def _measure(base: str, participants: int, epochs: int, web: int, workers: list[int]) -> list[dict]:
    """A cold round and a warm one, with the CPU time the web process and the workers took."""
    rounds = []
    for label in ("cold", "warm"):
        before = {pid: cpu_seconds(pid) for pid in [web, *workers]}
        busy_before, total_before = machine_ticks()
        figures = asyncio.run(_round(base, participants, epochs))
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
        redis_process, url = _start_redis(tmp)
        try:
            for label, processes, threads in CONFIGURATIONS:
                settings = {"PLAYGROUND_REDIS_URL": url} if processes else {}
                redis.Redis.from_url(url).flushall()
                data_dir = tempfile.mkdtemp(dir=tmp)
                web, base = start_server(data_dir, settings)
                workers = _start_workers(url, processes, threads) if processes else None
                try:
                    if workers is not None:
                        _wait_for_workers(base, processes)
                    rounds = _measure(base, participants, epochs, web.pid,
                                      _children(workers.pid) if workers else [])
                finally:
                    for process in (workers, web):
                        if process is not None:
                            process.terminate()
                            process.wait(120)
                results.append({"configuration": label, "worker_processes": processes,
                                "threads_per_process": threads, "rounds": rounds})
        finally:
            redis_process.terminate()
            redis_process.wait(30)
    return {"workload": "reference (parabola, 200 points, 2-8-8-1 tanh, SGD, batch 10, a frame every epoch)",
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
