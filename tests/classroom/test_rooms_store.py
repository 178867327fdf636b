"""Room stores on both backends (rooms kept by older versions too), a closed room's log,
and when opening a room needs the password."""

import json
import threading

import pytest

from keras_playground.classroom import Classroom, LocalScorer, Room, needs_password, room_log
from keras_playground.store import RedisRoomStore, SqliteRoomStore


def test_a_room_is_created_once_and_changed_atomically(rooms):
    assert rooms.create({"code": "ABC123", "closed": False, "names": []})
    assert not rooms.create({"code": "ABC123", "closed": False, "names": []})  # the code is taken
    assert rooms.open_count() == 1 and rooms.get("NOPE99") is None

    def add(i):
        rooms.update("ABC123", lambda room: room["names"].append(i))

    threads = [threading.Thread(target=add, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(rooms.get("ABC123")["names"]) == list(range(20))  # no join lost
    rooms.update("ABC123", lambda room: room.update(closed=True))
    assert rooms.open_count() == 0 and rooms.update("NOPE99", lambda room: None) is None


def test_a_refused_change_changes_nothing(rooms):
    rooms.create({"code": "ROOM22", "closed": False, "n": 1})

    def refuse(room):
        room["n"] = 2
        raise ValueError("no")

    with pytest.raises(ValueError):
        rooms.update("ROOM22", refuse)
    assert rooms.get("ROOM22")["n"] == 1


def test_rooms_closed_long_enough_ago_are_pruned(rooms):
    for code, closed_at in (("OLD111", 1000.0), ("NEW222", 5000.0), ("OPEN33", None)):
        rooms.create({"code": code, "created": 500.0, "closed": False})
        if closed_at is not None:
            rooms.update(code, lambda room, t=closed_at: room.update(closed=True, closed_at=t))
    assert rooms.prune_closed(closed_before=2000.0) == 1
    assert rooms.get("OLD111") is None and rooms.get("NEW222") and rooms.get("OPEN33")
    assert rooms.prune_closed(closed_before=2000.0) == 0 and rooms.open_count() == 1


def test_the_log_of_a_closed_room_expires(tmp_path, request):
    from keras_playground.config import Settings
    from keras_playground.jobs.bus import MemoryBus
    from keras_playground.jobs.redis_bus import RedisBus
    from keras_playground.store import SqliteRunStore

    settings = Settings(data_dir=tmp_path, keep_closed_rooms_hours=1, prune_every_seconds=600)
    now = [0.0]
    runs = SqliteRunStore(tmp_path)
    memory = MemoryBus(clock=lambda: now[0])
    classroom = Classroom(settings, SqliteRoomStore(tmp_path), runs, memory, scorer=LocalScorer(runs))
    opened = classroom.open("Monday")
    classroom.close(opened.code, opened.instructor_token)
    now[0] = 3600 + 600  # the room is pruned by then; its log goes a minute later
    assert memory.exists(room_log(opened.code))
    now[0] = 3600 + 600 + 61
    assert not memory.exists(room_log(opened.code))

    redis_url, ns = request.getfixturevalue("redis_url"), request.getfixturevalue("namespace")
    bus = RedisBus(redis_url, ns)
    classroom = Classroom(settings, RedisRoomStore(redis_url, ns), runs, bus, scorer=LocalScorer(runs))
    opened = classroom.open("Monday")
    stream = f"{ns}:log:{room_log(opened.code)}"
    assert bus.redis.ttl(stream) == -1  # an open room's log stays
    classroom.close(opened.code, opened.instructor_token)
    assert 3600 + 600 < bus.redis.ttl(stream) <= 3600 + 600 + 60
    bus.close()


def test_a_lab_server_needs_the_instructor_password_unless_turned_off(tmp_path):
    from keras_playground.config import Settings

    def needs(**settings):
        return needs_password(Settings(data_dir=tmp_path, **settings))

    assert needs(redis_url="redis://lab:6379/0") and not needs()  # a lab server; a laptop
    assert needs(instructor_password="s3cret")  # a laptop with a password set
    assert not needs(redis_url="redis://lab:6379/0", rooms_need_password=False)
    assert needs(rooms_need_password=True)


# A room as the version before the typed classroom kept it (no `locked`, no `closed_at`).
OLD_ROOM = {"code": "OLDV12", "title": "Monday", "created": 1700000000.5, "closed": False,
            "instructor_hash": "ih", "participants": {
                "p1": {"name": "Ada", "token_hash": "th", "joined": 1700000001.0, "run_id": "r1", "removed": False}},
            "follow": {"spec": None, "run_id": None, "lesson": {"id": "01-single-neuron", "step": 1},
                       "at": 1700000002.0},
            "challenge": {"id": "c1", "title": "Line", "dataset": {"name": "line"}, "max_parameters": 3,
                          "max_epochs": 30, "opened": 1700000003.0, "hidden_seed": 42},
            "submissions": [{"challenge": "c1", "participant": "p1", "name": "Ada", "run_id": "r1",
                             "parameters": 3, "epochs": 20, "accuracy": 0.95, "at": 1700000004.0}]}


def test_a_room_kept_by_the_version_before_is_read_and_kept_in_the_same_shape(rooms):
    assert rooms.create(json.loads(json.dumps(OLD_ROOM)))
    room = Room.model_validate(rooms.get("OLDV12"))
    assert room.participants["p1"].name == "Ada" and room.challenge.hidden_seed == 42
    assert room.locked is False and room.follow.lesson.step == 1 and room.submissions[0].accuracy == 0.95
    document = room.document()
    assert document["challenge"].pop("metric") == "accuracy"  # added with microscopy challenges
    assert {k: v for k, v in document.items() if k not in ("locked", "closed_at")} == OLD_ROOM
    assert document["locked"] is False and document["closed_at"] is None
