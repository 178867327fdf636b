"""The in-memory event bus: what a reader gets, and when it is woken."""

import asyncio
import json
import threading

from keras_playground.jobs.bus import MemoryBus


def publish_epochs(bus, run_id, n, frames=True):
    for epoch in range(1, n + 1):
        bus.publish(run_id, {"kind": "epoch", "epoch": epoch})
        if frames:
            bus.publish(run_id, {"kind": "frame", "epoch": epoch})


def read(bus, run_id, after, timeout=0.01):
    found, closed = asyncio.run(bus.read(run_id, after, timeout))
    return [json.loads(item.json) for item in found], closed


def test_every_epoch_is_kept_but_only_the_newest_frame():
    bus = MemoryBus()
    publish_epochs(bus, "r", 5)
    events, closed = read(bus, "r", 0)
    assert [e["epoch"] for e in events if e["kind"] == "epoch"] == [1, 2, 3, 4, 5]
    assert [e["epoch"] for e in events if e["kind"] == "frame"] == [5]
    assert [e["seq"] for e in events] == sorted(e["seq"] for e in events) and not closed


def test_a_reader_gets_exactly_what_came_after_its_position():
    bus = MemoryBus()
    publish_epochs(bus, "r", 3, frames=False)
    first, _ = read(bus, "r", 0)
    bus.publish("r", {"kind": "epoch", "epoch": 4})
    rest, _ = read(bus, "r", first[-1]["seq"])
    assert [e["epoch"] for e in rest] == [4]
    assert read(bus, "r", rest[-1]["seq"]) == ([], False)


def test_done_closes_the_log():
    bus = MemoryBus()
    publish_epochs(bus, "r", 2)
    bus.publish("r", {"kind": "done", "state": "finished"})
    events, closed = read(bus, "r", 0)
    assert closed and events[-1]["kind"] == "done"
    assert bus.replay("r")[-1]["kind"] == "done"
    assert all(e["kind"] != "frame" for e in bus.replay("r"))


def test_a_publish_from_another_thread_wakes_a_waiting_reader():
    bus = MemoryBus()
    bus.open("r")

    async def wait_for_it():
        bus.bind_loop(asyncio.get_running_loop())
        threading.Timer(0.05, lambda: bus.publish("r", {"kind": "epoch", "epoch": 1})).start()
        loop = asyncio.get_running_loop()
        started = loop.time()
        found, _ = await bus.read("r", 0, timeout=30)
        return found, loop.time() - started

    found, waited = asyncio.run(wait_for_it())
    assert len(found) == 1 and waited < 10  # woken by the publish, not by the 30 s timeout


def test_logs_of_ended_runs_are_forgotten_beyond_a_bound():
    bus = MemoryBus(keep_ended=2)
    for run_id in ("a", "b", "c"):
        bus.publish(run_id, {"kind": "done", "state": "finished"})
    assert not bus.exists("a") and bus.exists("b") and bus.exists("c")


def test_unknown_runs_read_as_closed_and_empty():
    assert read(MemoryBus(), "ghost", 0) == ([], True)
