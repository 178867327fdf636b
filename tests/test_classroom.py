"""Room stores on both backends, the leaderboard's order, and lesson files."""

import json
import threading

import pytest

from keras_playground.classroom import leaderboard
from keras_playground.lessons import LessonError, load_lessons
from keras_playground.specs import Limits
from keras_playground.store import RedisRoomStore, SqliteRoomStore


@pytest.fixture(params=["sqlite", "redis"])
def rooms(request, tmp_path):
    if request.param == "sqlite":
        store = SqliteRoomStore(tmp_path)
    else:
        store = RedisRoomStore(request.getfixturevalue("redis_url"), request.getfixturevalue("namespace"))
    yield store
    store.close()


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


def test_the_leaderboard_ranks_best_accuracy_then_fewer_parameters():
    def entry(pid, accuracy, parameters, at, challenge="c1"):
        return {"challenge": challenge, "participant": pid, "name": pid.title(), "run_id": f"{pid}{at}",
                "accuracy": accuracy, "parameters": parameters, "epochs": 10, "at": at}

    room = {"challenge": {"id": "c1"}, "submissions": [
        entry("ada", 0.90, 50, 1), entry("ada", 0.95, 80, 2),   # her best counts, once
        entry("bob", 0.95, 40, 3),                              # ties Ada, fewer parameters
        entry("cy", 0.99, 10, 4, challenge="old"),              # another challenge
        entry("dee", 0.95, 40, 5)]}                              # ties Bob exactly, later
    board = leaderboard(room)
    assert [(e["rank"], e["name"], e["accuracy"]) for e in board] == [
        (1, "Bob", 0.95), (2, "Dee", 0.95), (3, "Ada", 0.95)]
    assert leaderboard({"challenge": None, "submissions": room["submissions"]}) == []


def test_every_built_in_lesson_loads_and_a_bad_file_is_named(tmp_path):
    lessons = load_lessons(Limits())
    assert [l.exercise for l in lessons[:1]] == ["Ex1"] and len(lessons) >= 7
    good = json.loads(json.dumps(lessons[0].model_dump(mode="json", by_alias=True)))
    good.update(id="99-mine", title="My lesson", order=99)
    (tmp_path / "99-mine.json").write_text(json.dumps(good))
    assert load_lessons(Limits(), tmp_path)[-1].title == "My lesson"  # an instructor's own file

    good["steps"][1]["settings"]["layers"] = [{"units": 500}]
    (tmp_path / "99-mine.json").write_text(json.dumps(good))
    with pytest.raises(LessonError, match=r"99-mine.json, step 2 settings: layers\[0\].units: 500"):
        load_lessons(Limits(), tmp_path)


def test_rooms_closed_long_enough_ago_are_pruned(rooms):
    for code, closed_at in (("OLD111", 1000.0), ("NEW222", 5000.0), ("OPEN33", None)):
        rooms.create({"code": code, "created": 500.0, "closed": False})
        if closed_at is not None:
            rooms.update(code, lambda room, t=closed_at: room.update(closed=True, closed_at=t))
    assert rooms.prune_closed(closed_before=2000.0) == 1
    assert rooms.get("OLD111") is None and rooms.get("NEW222") and rooms.get("OPEN33")
    assert rooms.prune_closed(closed_before=2000.0) == 0 and rooms.open_count() == 1


def test_the_log_of_a_closed_room_expires(tmp_path, request):
    from keras_playground.classroom import Classroom, room_log
    from keras_playground.config import Settings
    from keras_playground.jobs.bus import MemoryBus
    from keras_playground.jobs.redis_bus import RedisBus
    from keras_playground.jobs.scoring import LocalScorer
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
    from keras_playground.classroom import needs_password
    from keras_playground.config import Settings

    def needs(**settings):
        return needs_password(Settings(data_dir=tmp_path, **settings))

    assert needs(redis_url="redis://lab:6379/0") and not needs()  # a lab server; a laptop
    assert needs(instructor_password="s3cret")  # a laptop with a password set
    assert not needs(redis_url="redis://lab:6379/0", rooms_need_password=False)
    assert needs(rooms_need_password=True)
