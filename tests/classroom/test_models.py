"""The typed room: the leaderboard's order, and a public view that cannot hold a secret."""

import json
import subprocess
import sys

from keras_playground.classroom import (Challenge, Participant, Room, RoomView, Submission, WallTile, leaderboard,
                                        public_view)
from keras_playground.classroom.events import ChallengeView, ParticipantView


def entry(pid, accuracy, parameters, at, challenge="c1"):
    return Submission(challenge=challenge, participant=pid, name=pid.title(), run_id=f"{pid}{at}",
                      accuracy=accuracy, parameters=parameters, epochs=10, at=at)


def a_room(**fields):
    challenge = Challenge(id="c1", title="Line", dataset={"name": "line", "noise": 0.0}, max_parameters=3,
                          max_epochs=30, opened=3.0, hidden_seed=987654)
    people = {pid: Participant(name=pid.title(), token_hash=f"hash-of-{pid}", joined=2.0, run_id=f"run-{pid}")
              for pid in ("ada", "bob")}
    return Room(**{"code": "ROOM22", "title": "Monday", "created": 1.0, "instructor_hash": "hash-of-instructor",
                   "participants": people, "challenge": challenge, **fields})


def test_the_leaderboard_ranks_best_accuracy_then_fewer_parameters():
    room = a_room(participants={}, submissions=[
        entry("ada", 0.90, 50, 1), entry("ada", 0.95, 80, 2),   # her best counts, once
        entry("bob", 0.95, 40, 3),                              # ties Ada, fewer parameters
        entry("cy", 0.99, 10, 4, challenge="old"),              # another challenge
        entry("dee", 0.95, 40, 5)])                             # ties Bob exactly, later
    board = leaderboard(room)
    assert [(e.rank, e.name, e.accuracy) for e in board] == [(1, "Bob", 0.95), (2, "Dee", 0.95), (3, "Ada", 0.95)]
    assert leaderboard(room.model_copy(update={"challenge": None})) == []


def test_a_removed_participant_leaves_the_view_and_the_board():
    room = a_room(submissions=[entry("ada", 0.9, 3, 1), entry("bob", 0.8, 3, 2)])
    room.participants["ada"].removed = True
    view = public_view(room)
    assert [p.id for p in view.participants] == ["bob"] and [e.name for e in view.leaderboard] == ["Bob"]


def test_the_public_view_has_no_field_for_a_secret_and_keeps_the_documented_shape():
    room = a_room(submissions=[entry("ada", 0.9, 3, 1)])
    text = public_view(room).model_dump_json()
    for secret in ("hash-of", "hidden_seed", "987654", "token_hash", "instructor_hash"):
        assert secret not in text
    view = json.loads(text)
    assert list(view) == ["kind", "code", "title", "closed", "locked", "created", "participants", "follow",
                          "challenge", "leaderboard"]  # docs/api.md, "The room's view"
    assert view["kind"] == "room" and list(view["participants"][0]) == ["id", "name", "run_id", "joined"]
    assert list(view["follow"]) == ["spec", "run_id", "lesson", "at"]
    assert list(view["challenge"]) == ["id", "title", "dataset", "max_parameters", "max_epochs", "opened",
                                       "metric"]
    assert list(view["leaderboard"][0]) == ["rank", "participant", "name", "run_id", "accuracy", "parameters",
                                            "epochs", "at", "metric", "score"]
    assert view["challenge"]["metric"] == view["leaderboard"][0]["metric"] == "accuracy"  # a room kept before Dice
    assert view["leaderboard"][0]["score"] == view["leaderboard"][0]["accuracy"] == 0.9
    # By construction: the view models have no such fields, so nothing given to them is kept.
    for model in (RoomView, ChallengeView, ParticipantView):
        assert not {"hidden_seed", "token_hash", "instructor_hash"} & set(model.model_fields)
    leaked = ChallengeView(**room.challenge.model_dump())
    assert "hidden_seed" not in leaked.model_dump_json()


def test_a_view_read_back_from_the_bus_carries_its_seq_and_parses():
    text = public_view(a_room()).model_dump_json()
    logged = f'{{"seq":7,{text[1:]}'  # as the bus splices it in
    assert RoomView.model_validate_json(logged).participants[0].run_id == "run-ada"


def test_a_wall_tile_sends_its_picture_only_once_it_has_one():
    tile = WallTile(participant="p", run_id="r", epochs=5, problem="binary")
    assert list(json.loads(tile.as_json())) == ["kind", "participant", "run_id", "epoch", "epochs", "metric",
                                                "val_metric", "state", "at", "problem"]
    tile.resolution, tile.boundary = 2, "AAAA"
    assert json.loads(tile.as_json())["resolution"] == 2


def test_the_classroom_and_its_routes_import_no_tensorflow():
    """The web path stays light: scoring imports TensorFlow only when it first scores."""
    code = ("import sys, keras_playground.classroom, keras_playground.api.rooms; "
            "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
