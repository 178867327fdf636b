"""The event bus, in memory and on Redis streams: what a reader gets, and when."""

import asyncio
import json
import threading
import time

import pytest

from keras_playground.jobs.bus import MemoryBus
from keras_playground.jobs.redis_bus import RedisBus


@pytest.fixture(params=["memory", "redis"])
def make_bus(request):
    """make_bus() -> a fresh bus of the backend under test."""
    if request.param == "memory":
        yield MemoryBus
        return
    url, ns = request.getfixturevalue("redis_url"), request.getfixturevalue("namespace")
    buses = []

    def make():
        buses.append(RedisBus(url, ns))
        return buses[-1]

    yield make
    for bus in buses:
        bus.close()


def publish_epochs(bus, run_id, n, frames=True):
    for epoch in range(1, n + 1):
        bus.publish(run_id, {"kind": "epoch", "epoch": epoch})
        if frames:
            bus.publish(run_id, {"kind": "frame", "epoch": epoch}, retain="latest")


def read(bus, run_id, after, timeout=0.01):
    found, closed = asyncio.run(bus.read(run_id, after, timeout))
    return [json.loads(item.json) for item in found], closed


def test_every_epoch_is_kept_but_only_the_newest_frame(make_bus):
    bus = make_bus()
    bus.open("r")
    publish_epochs(bus, "r", 5)
    events, closed = read(bus, "r", 0)
    assert [e["epoch"] for e in events if e["kind"] == "epoch"] == [1, 2, 3, 4, 5]
    assert [e["epoch"] for e in events if e["kind"] == "frame"] == [5]
    assert [e["seq"] for e in events] == sorted(e["seq"] for e in events) and not closed


def test_a_reader_gets_exactly_what_came_after_its_position(make_bus):
    bus = make_bus()
    bus.open("r")
    publish_epochs(bus, "r", 3, frames=False)
    first, _ = read(bus, "r", 0)
    bus.publish("r", {"kind": "epoch", "epoch": 4})
    rest, _ = read(bus, "r", first[-1]["seq"])
    assert [e["epoch"] for e in rest] == [4]
    assert read(bus, "r", rest[-1]["seq"]) == ([], False)


def test_a_frame_older_than_the_position_is_not_sent_again(make_bus):
    bus = make_bus()
    bus.open("r")
    publish_epochs(bus, "r", 2)
    seen, _ = read(bus, "r", 0)
    bus.publish("r", {"kind": "epoch", "epoch": 3})
    rest, _ = read(bus, "r", seen[-1]["seq"])
    assert [e["kind"] for e in rest] == ["epoch"]


def test_done_closes_the_log(make_bus):
    bus = make_bus()
    bus.open("r")
    publish_epochs(bus, "r", 2)
    bus.publish("r", {"kind": "done", "state": "finished"})
    events, closed = read(bus, "r", 0)
    assert closed and events[-1]["kind"] == "done"
    assert bus.replay("r")[-1]["kind"] == "done"
    assert [e["kind"] for e in bus.replay("r")] == ["epoch", "epoch", "done"]


def test_a_log_ends_once_an_end_told_again_is_dropped(make_bus):
    bus = make_bus()
    bus.open("r")
    publish_epochs(bus, "r", 1)
    bus.publish("r", {"kind": "done", "state": "finished"})
    bus.publish("r", {"kind": "done", "state": "finished"})  # a retry whose first reply was lost
    bus.publish("r", {"kind": "error", "message": "a watchdog, late"})
    assert [e["kind"] for e in bus.replay("r")] == ["epoch", "done"]
    kinds = [e["kind"] for e in read(bus, "r", 0)[0]]
    assert kinds[-1] == "done" and kinds.count("done") == 1 and "error" not in kinds


def test_a_reader_past_the_end_is_told_the_log_is_closed(make_bus):
    bus = make_bus()
    bus.open("r")
    bus.publish("r", {"kind": "epoch", "epoch": 1})
    bus.publish("r", {"kind": "error", "message": "lost"})
    events, closed = read(bus, "r", 0)
    assert closed and [e["kind"] for e in events] == ["epoch", "error"]
    assert read(bus, "r", events[-1]["seq"]) == ([], True)


def test_a_publish_from_another_thread_wakes_a_waiting_reader(make_bus):
    bus = make_bus()
    bus.open("r")

    async def wait_for_it():
        if isinstance(bus, MemoryBus):
            bus.bind_loop(asyncio.get_running_loop())
        publisher = threading.Timer(0.2, lambda: bus.publish("r", {"kind": "epoch", "epoch": 1}))
        publisher.start()
        loop = asyncio.get_running_loop()
        started = loop.time()
        found, _ = await bus.read("r", 0, timeout=30)
        waited = loop.time() - started
        publisher.join()  # its reply may still be on the way when the reader wakes
        return found, waited

    found, waited = asyncio.run(wait_for_it())
    assert len(found) == 1 and waited < 10  # woken by the publish, not by the 30 s timeout


def test_a_reader_on_another_bus_of_the_same_redis_sees_the_run(redis_url, namespace):
    """Web replicas: a run published through one connection is read through another."""
    writer, reader = RedisBus(redis_url, namespace), RedisBus(redis_url, namespace)
    writer.open("r")
    publish_epochs(writer, "r", 3)
    writer.publish("r", {"kind": "done", "state": "finished"})
    assert reader.exists("r") and reader.closed("r")
    events, closed = read(reader, "r", 0)
    assert [e["kind"] for e in events] == ["epoch", "epoch", "epoch", "frame", "done"] and closed


def test_logs_of_ended_runs_are_forgotten_beyond_a_bound():
    bus = MemoryBus(keep_ended=2)
    for run_id in ("a", "b", "c"):
        bus.publish(run_id, {"kind": "done", "state": "finished"})
    assert not bus.exists("a") and bus.exists("b") and bus.exists("c")


def test_logs_of_ended_runs_expire_on_redis(redis_url, namespace):
    bus = RedisBus(redis_url, namespace, keep_ended_seconds=1)
    bus.open("r")
    bus.publish("r", {"kind": "done", "state": "finished"})
    assert bus.exists("r")
    time.sleep(1.5)
    assert not bus.exists("r")


def test_unknown_runs_read_as_closed_and_empty(make_bus):
    assert read(make_bus(), "ghost", 0) == ([], True)


def test_a_reader_gets_the_newest_of_more_views_than_one_read_holds(make_bus):
    """A room's log is all views kept latest: after more changes than one read's batch,
    a new reader still gets the newest at once."""
    from keras_playground.jobs.redis_bus import BATCH

    bus = make_bus()
    bus.open("room:R")
    for change in range(1, BATCH + 51):
        bus.publish_json("room:R", "room", f'{{"kind":"room","change":{change}}}', retain="latest")
    found, closed = asyncio.run(bus.read("room:R", 0, 0.01))
    assert [item.kind for item in found] == ["room"] and not closed
    assert [json.loads(item.json)["change"] for item in found] == [BATCH + 50]


def test_retain_latest_keeps_the_newest_of_each_kind_beside_the_events_kept_all(make_bus):
    bus = make_bus()
    bus.open("r")
    for n in range(1, 4):
        bus.publish("r", {"kind": "epoch", "epoch": n})
        bus.publish("r", {"kind": "note", "n": n}, retain="latest")
        bus.publish("r", {"kind": "view", "n": n}, retain="latest")
    events, _ = read(bus, "r", 0)
    assert [(e["kind"], e.get("epoch", e.get("n"))) for e in events] == [
        ("epoch", 1), ("epoch", 2), ("epoch", 3), ("note", 3), ("view", 3)]
    assert [e["seq"] for e in events] == sorted(e["seq"] for e in events)
    assert [e["kind"] for e in bus.replay("r")] == ["epoch"] * 3  # a replay holds what is kept all
    seen = events[-1]["seq"]
    bus.publish("r", {"kind": "note", "n": 4}, retain="latest")
    assert [(e["kind"], e["n"]) for e in read(bus, "r", seen)[0]] == [("note", 4)]


def test_frames_published_latest_keep_only_the_newest_and_no_kind_is_special(make_bus):
    bus = make_bus()
    bus.open("r")
    for n in range(1, 4):
        bus.publish_json("r", "frame", f'{{"kind":"frame","epoch":{n}}}', retain="latest")  # the trainers' way
        bus.publish_json("r", "status", f'{{"kind":"status","n":{n}}}')
    kinds = [(e["kind"], e.get("epoch", e.get("n"))) for e in read(bus, "r", 0)[0]]
    assert kinds == [("status", 1), ("status", 2), ("frame", 3), ("status", 3)]
    bus.open("all")
    for n in range(1, 3):
        bus.publish_json("all", "frame", f'{{"kind":"frame","epoch":{n}}}')  # unsaid: kept, like any event
    assert [e["epoch"] for e in read(bus, "all", 0)[0]] == [1, 2]
    with pytest.raises(ValueError):  # a log's end is always kept
        bus.publish("r", {"kind": "done", "state": "finished"}, retain="latest")
    with pytest.raises(ValueError):
        bus.publish("r", {"kind": "epoch", "epoch": 1}, retain="newest")


def test_a_frame_replaces_the_previous_marker_and_a_reader_midway_misses_nothing(redis_url, namespace):
    bus = RedisBus(redis_url, namespace)
    bus.open("r")
    publish_epochs(bus, "r", 3)
    seen, _ = read(bus, "r", 0)
    frame_seq = [e["seq"] for e in seen if e["kind"] == "frame"][0]
    publish_epochs(bus, "r", 100)
    assert bus.redis.xlen(bus._keys("r")["stream"]) == 103 + 1  # every epoch, one frame marker
    # Its position is the marker the newer frames deleted: it gets every later epoch, the newest frame.
    rest, _ = read(bus, "r", frame_seq)
    assert [e["epoch"] for e in rest if e["kind"] == "epoch"] == list(range(1, 101))
    assert [e["epoch"] for e in rest if e["kind"] == "frame"] == [100]
    bus.close()


def test_an_expiring_log_goes_when_its_time_comes_in_memory():
    now = [0.0]
    bus = MemoryBus(clock=lambda: now[0])
    bus.publish_json("room:R", "room", '{"kind":"room"}', retain="latest")
    bus.expire("room:R", 60)
    now[0] = 59.0
    assert bus.exists("room:R") and read(bus, "room:R", 0)[0][0]["kind"] == "room"
    now[0] = 61.0
    assert not bus.exists("room:R")


def test_an_expiring_log_goes_when_its_time_comes_on_redis(redis_url, namespace):
    bus = RedisBus(redis_url, namespace)
    bus.publish_json("room:R", "room", '{"kind":"room"}', retain="latest")
    bus.expire("room:R", 60)
    keys = [k for k in bus._keys("room:R").values() if bus.redis.exists(k)]
    assert len(keys) == 4 and all(0 < bus.redis.ttl(k) <= 60 for k in keys)  # stream, seq, latest, last
    bus.close()


def test_a_reader_of_an_unknown_or_expired_log_hears_it_is_closed_only_after_its_timeout(make_bus):
    """A room's stream reads on whatever it hears: a gone log must not make it spin."""
    bus = make_bus()

    async def timed():
        loop = asyncio.get_running_loop()
        started = loop.time()
        result = await bus.read("room:GONE", 0, timeout=0.3)
        return result, loop.time() - started

    (found, closed), waited = asyncio.run(timed())
    assert found == [] and closed and waited >= 0.25
