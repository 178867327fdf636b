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
