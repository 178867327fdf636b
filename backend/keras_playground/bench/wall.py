"""The class-wall benchmark: N participants training in one room, the wall watching.

A real server, a room, N participants joined, each training the reference workload and
streaming its own run, and one demo screen on the room's stream. For every epoch of
every participant, the delay is the time from the participant's page receiving that
epoch to the wall first showing it or a later one (both clients in this process, one
clock). The wall sends at most one tile per participant every WALL_INTERVAL (0.25 s),
so this is also how fresh the wall is.
"""

from __future__ import annotations

import asyncio
import bisect
import json
import tempfile
import time

import httpx
from websockets.asyncio.client import connect

from ..classroom.wall import WALL_INTERVAL
from .harness import CLASS_SETTINGS, RUN_TIMEOUT, Server, percentile, reference_run, rss_mb, ws_base


async def _participant(http, ws_root, code, i, epochs, go, seen):
    joined = (await http.post(f"/api/rooms/{code}/join", json={"name": f"participant {i + 1}"})).json()
    await go.wait()
    created = await http.post("/api/runs", json=reference_run(i + 1, epochs), headers={"X-Client-Id": f"wall-{i}"})
    run = created.json()
    await http.post(f"/api/rooms/{code}/runs", json={"run_id": run["id"], "run_token": run["token"]},
                    headers={"Authorization": f"Bearer {joined['token']}"})
    async with connect(f"{ws_root}/api/runs/{run['id']}/stream", max_size=None) as ws:
        async for message in ws:
            now = time.perf_counter()
            for event in json.loads(message):
                if event["kind"] == "epoch":
                    seen[(joined["participant"], event["epoch"])] = now
                elif event["kind"] in ("done", "error"):
                    return


async def _wall(ws_root, code, tiles, stop):
    async with connect(f"{ws_root}/api/rooms/{code}/stream", max_size=None) as ws:
        while not stop.is_set():
            try:
                message = await asyncio.wait_for(ws.recv(), 0.5)
            except TimeoutError:
                continue
            now = time.perf_counter()
            for event in json.loads(message):
                if event["kind"] == "wall":
                    tiles.append((event["participant"], event["epoch"], now))


async def _bench(base, participants, epochs):
    ws = ws_base(base)
    seen, tiles, go, stop = {}, [], asyncio.Event(), asyncio.Event()
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        code = (await http.post("/api/rooms", json={"title": "wall bench"})).json()["code"]
        wall = asyncio.create_task(_wall(ws, code, tiles, stop))
        people = [asyncio.create_task(_participant(http, ws, code, i, epochs, go, seen))
                  for i in range(participants)]
        await asyncio.sleep(1.0)  # everyone has joined; the wall is connected
        started = time.perf_counter()
        go.set()
        await asyncio.wait_for(asyncio.gather(*people), RUN_TIMEOUT)
        await asyncio.sleep(2 * WALL_INTERVAL)  # the last tiles
        stop.set()
        await wall
    wall_seconds = time.perf_counter() - started
    delays = _delays(seen, tiles)
    per_participant = len(tiles) / max(participants, 1) / wall_seconds
    return {"participants": participants, "epochs": epochs, "tiles": len(tiles),
            "tiles_per_second_per_participant": per_participant,
            "latency_p50_seconds": percentile(delays, 50),
            "latency_p95_seconds": percentile(delays, 95),
            "latency_max_seconds": max(delays) if delays else None,
            "participants_on_wall": len({pid for pid, _, _ in tiles}),
            "last_epoch_on_wall": min((max(e for p, e, _ in tiles if p == pid)
                                       for pid in {p for p, _, _ in tiles}), default=0)}


def _delays(seen: dict, tiles: list) -> list[float]:
    """For every epoch a participant's page received: the time until the wall first showed
    that epoch or a later one. A tile can come before the participant's own page has the
    epoch (both read the same log): that counts as no delay, not as a negative one."""
    by_participant: dict[str, list[tuple[int, float]]] = {}
    for pid, epoch, at in tiles:  # in arrival order, so epochs only grow per participant
        by_participant.setdefault(pid, []).append((epoch, at))
    epochs_shown = {pid: [e for e, _ in shown] for pid, shown in by_participant.items()}
    delays = []
    for (pid, epoch), received in seen.items():
        shown = by_participant.get(pid, [])
        i = bisect.bisect_left(epochs_shown.get(pid, []), epoch)
        if i < len(shown):
            delays.append(max(0.0, shown[i][1] - received))
    return delays


def run_wall_bench(participants: int = 30, epochs: int = 200) -> dict:
    with tempfile.TemporaryDirectory() as data_dir:
        server = Server(data_dir, **CLASS_SETTINGS).start()
        try:
            report = asyncio.run(_bench(server.url, participants, epochs))
            report["server_rss_mb"] = rss_mb(server.pid)
        finally:
            server.stop()
    report["wall_interval_seconds"] = WALL_INTERVAL
    return report


def format_wall_report(r: dict) -> str:
    def s(value):
        return "-" if value is None else f"{value * 1000:.0f} ms"

    return "\n".join([
        f"class wall: {r['participants']} participants training at once in one room, "
        f"{r['epochs']} epochs each (reference workload)",
        f"tiles on the wall: {r['tiles']} ({r['tiles_per_second_per_participant']:.1f} a second per participant; "
        f"at most {1 / r['wall_interval_seconds']:.0f} by design), {r['participants_on_wall']} participants shown, "
        f"each up to epoch {r['last_epoch_on_wall']}",
        f"from a participant's epoch to its tile on the wall: p50 {s(r['latency_p50_seconds'])}, "
        f"p95 {s(r['latency_p95_seconds'])}, max {s(r['latency_max_seconds'])}",
    ])
