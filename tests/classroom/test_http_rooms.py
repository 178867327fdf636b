"""The classroom over HTTP and WebSocket: each role, each refusal, the challenge, the wall."""

import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from starlette.websockets import WebSocketDisconnect

from tests.api.conftest import create, read_until, receive, stream_to_end, tiny

LINE = {"name": "line", "n_train": 40, "n_val": 10, "n_test": 10}


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def room(client):
    response = client.post("/api/rooms", json={"title": "Monday class"})
    assert response.status_code == 201, response.text
    return response.json()


def join(client, code, name="Ada"):
    response = client.post(f"/api/rooms/{code}/join", json={"name": name})
    assert response.status_code == 201, response.text
    return response.json()


def trained_run(client, client_id="p", **training):
    run = create(client, tiny(**training), client_id=client_id)
    assert stream_to_end(client, run["id"])[-1]["kind"] == "done"
    return run


def challenge(client, room, **overrides):
    body = {"title": "Line", "dataset": LINE, "max_parameters": 3, "max_epochs": 30, **overrides}
    return client.post(f"/api/rooms/{room['code']}/challenge", json=body, headers=bearer(room["instructor_token"]))


def test_lessons_are_listed_by_the_catalog_and_served_whole(client):
    lessons = client.get("/api/catalog").json()["lessons"]
    assert len(lessons) >= 7 and lessons[0]["id"] == "01-single-neuron"
    assert "A single neuron" in lessons[0]["title"] and len(lessons[0]["steps"]) >= 3
    first = client.get("/api/lessons/01-single-neuron").json()
    step = first["steps"][0]
    assert step["settings"]["training"]["batch_size"] == 4 and step["settings"]["layers"] == []
    assert step["try"] and step["watch"] and step["text"]
    assert client.get("/api/lessons/nope").status_code == 404


def test_opening_a_room_gives_a_short_code_and_an_instructor_token(client, room):
    assert len(room["code"]) == 6 and room["code"].isalnum() and room["code"].isupper()
    view = client.get(f"/api/rooms/{room['code']}").json()
    assert view["title"] == "Monday class" and view["participants"] == [] and not view["closed"]
    assert "instructor_hash" not in view and room["instructor_token"] not in str(view)
    assert client.get(f"/api/rooms/{room['code'].lower()}").status_code == 200  # codes ignore case
    assert client.get("/api/rooms/NOROOM").status_code == 404


def test_an_instructor_password_setting_guards_opening_a_room(make_client):
    client = make_client(instructor_password="s3cret")
    assert client.post("/api/rooms", json={}).status_code == 403
    assert client.post("/api/rooms", json={"password": "wrong"}).status_code == 403
    assert client.post("/api/rooms", json={"password": "s3cret"}).status_code == 201


def test_open_rooms_are_limited_by_a_setting(make_client):
    client = make_client(max_rooms=1)
    first = client.post("/api/rooms", json={}).json()
    refused = client.post("/api/rooms", json={})
    assert refused.status_code == 429 and "1 open rooms" in refused.json()["detail"]
    client.delete(f"/api/rooms/{first['code']}", headers=bearer(first["instructor_token"]))
    assert client.post("/api/rooms", json={}).status_code == 201


def test_participants_join_with_a_name_kept_as_plain_text(client, room):
    code = room["code"]
    ada = join(client, code, "  Ada   Lovelace ")
    assert ada["name"] == "Ada Lovelace" and ada["token"]
    join(client, code, "<img src=x onerror=alert(1)>")
    names = [p["name"] for p in client.get(f"/api/rooms/{code}").json()["participants"]]
    assert names == ["Ada Lovelace", "<img src=x onerror=alert(1)>"]  # as typed: pages render text
    too_long = client.post(f"/api/rooms/{code}/join", json={"name": "x" * 41})
    assert too_long.status_code == 422
    assert too_long.json()["detail"][0] == {"field": "name", "msg": "41 characters is too long (at most 40)"}
    assert client.post(f"/api/rooms/{code}/join", json={"name": "   "}).status_code == 422
    assert client.post("/api/rooms/NOROOM/join", json={"name": "Bob"}).status_code == 404


def test_only_the_instructor_token_shares_sets_challenges_removes_and_closes(client, room):
    code, other = room["code"], client.post("/api/rooms", json={}).json()
    ada = join(client, code)
    actions = [("post", f"/api/rooms/{code}/follow", {"spec": tiny()}),
               ("post", f"/api/rooms/{code}/challenge",
                {"dataset": LINE, "max_parameters": 3, "max_epochs": 30}),
               ("delete", f"/api/rooms/{code}/participants/{ada['participant']}", None),
               ("delete", f"/api/rooms/{code}", None)]
    for method, url, body in actions:
        kwargs = {"json": body} if body is not None else {}
        assert client.request(method, url, **kwargs).status_code == 401, url
        for token in (ada["token"], other["instructor_token"], "made-up"):
            response = client.request(method, url, headers=bearer(token), **kwargs)
            assert response.status_code == 403, (url, response.text)
    assert client.get(f"/api/rooms/{code}").json()["participants"][0]["name"] == "Ada"  # nothing changed


def test_follow_mode_shares_valid_settings_and_a_live_run(client, room):
    code, token = room["code"], room["instructor_token"]
    bad = client.post(f"/api/rooms/{code}/follow", headers=bearer(token),
                      json={"spec": {"layers": [{"units": 500}]}})
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "layers[0].units"
    assert client.post(f"/api/rooms/{code}/follow", headers=bearer(token),
                       json={"run_id": "nope"}).json()["detail"][0]["field"] == "run_id"
    for lesson, field in (({"id": "nope", "step": 0}, "lesson.id"), ({"id": "01-single-neuron", "step": 9}, "lesson.step"),
                          ({"id": "01-single-neuron", "step": -1}, "lesson.step")):
        refused = client.post(f"/api/rooms/{code}/follow", headers=bearer(token), json={"lesson": lesson})
        assert refused.status_code == 422 and refused.json()["detail"][0]["field"] == field, refused.text
    run = create(client, tiny(epochs=5), client_id="instructor")
    shared = client.post(f"/api/rooms/{code}/follow", headers=bearer(token),
                         json={"spec": tiny(epochs=5), "run_id": run["id"],
                               "lesson": {"id": "01-single-neuron", "step": 1}})
    assert shared.status_code == 200, shared.text
    follow = client.get(f"/api/rooms/{code}").json()["follow"]
    assert follow["run_id"] == run["id"] and follow["spec"]["training"]["epochs"] == 5
    assert follow["lesson"] == {"id": "01-single-neuron", "step": 1}
    ada = join(client, code)  # watching the shared run does not let her control it
    for credential in (ada["token"], token):
        response = client.post(f"/api/runs/{run['id']}/control", json={"action": "stop"}, headers=bearer(credential))
        assert response.status_code == 403


def test_a_participant_registers_only_its_own_run(client, room):
    code = room["code"]
    ada = join(client, code, "Ada")
    join(client, code, "Bob")
    mine, theirs = create(client, client_id="ada"), create(client, client_id="bob")
    url = f"/api/rooms/{code}/runs"
    stolen = client.post(url, headers=bearer(ada["token"]), json={"run_id": theirs["id"], "run_token": "guess"})
    assert stolen.status_code == 403
    assert client.post(url, json={"run_id": mine["id"], "run_token": mine["token"]}).status_code == 401
    ok = client.post(url, headers=bearer(ada["token"]), json={"run_id": mine["id"], "run_token": mine["token"]})
    assert ok.status_code == 200
    other_room = client.post("/api/rooms", json={}).json()["code"]
    assert client.post(f"/api/rooms/{other_room}/runs", headers=bearer(ada["token"]),
                       json={"run_id": mine["id"], "run_token": mine["token"]}).status_code == 403
    people = {p["name"]: p["run_id"] for p in client.get(f"/api/rooms/{code}").json()["participants"]}
    assert people == {"Ada": mine["id"], "Bob": None}  # Bob joined and has no run yet


def test_a_challenge_refuses_what_it_cannot_rank(client, room):
    for overrides, field in (({"dataset": {"name": "plane"}}, "dataset.name"),
                             ({"dataset": {"name": "custom", "n_train": 2, "n_val": 0, "n_test": 0,
                                           "points": [[0, 0, 0], [1, 1, 1]]}}, "dataset.name"),
                             ({"max_epochs": 100000}, "max_epochs"),
                             ({"max_parameters": 0}, "max_parameters"),
                             ({"dataset": {"name": "line", "n_train": 1}}, "dataset.n_train")):
        response = challenge(client, room, **overrides)
        assert response.status_code == 422 and response.json()["detail"][0]["field"] == field, response.text


def test_a_challenge_without_a_title_is_titled_by_its_data_set(client, room):
    from keras_playground.data import DATASETS

    for dataset, title in (({"name": "course_spiral"}, DATASETS["course_spiral"].title), (LINE, "Line (Ex1)")):
        response = challenge(client, room, title="   ", dataset=dataset)
        assert response.status_code == 200, response.text
        shown = client.get(f"/api/rooms/{room['code']}").json()["challenge"]["title"]
        assert shown.startswith(title) and shown.lower().count("challenge") == 1, shown  # "... challenge"
    assert challenge(client, room, title=" Spiral  race ").json()["challenge"]["title"] == "Spiral race"


def test_submissions_are_scored_on_the_hidden_set_and_refused_over_the_limits(client, room):
    code = room["code"]
    assert challenge(client, room).status_code == 200
    view = client.get(f"/api/rooms/{code}").json()
    assert view["challenge"]["max_parameters"] == 3 and "hidden_seed" not in view["challenge"]
    ada, bob = join(client, code, "Ada"), join(client, code, "Bob")
    url = f"/api/rooms/{code}/submissions"

    def submit(person, run):
        return client.post(url, headers=bearer(person["token"]), json={"run_id": run["id"], "run_token": run["token"]})

    good = trained_run(client, "ada", epochs=20)
    scored = submit(ada, good)
    assert scored.status_code == 201, scored.text
    assert scored.json()["accuracy"] > 0.85 and scored.json()["parameters"] == 3 and scored.json()["best_rank"] == 1

    too_long = trained_run(client, "bob1", epochs=40)
    too_big = create(client, {**tiny(epochs=10), "layers": [{"units": 2, "activation": "relu"}]}, client_id="bob2")
    other_data = create(client, {**tiny(epochs=10), "dataset": {**LINE, "noise": 0.1}}, client_id="bob3")
    for run in (too_big, other_data):
        stream_to_end(client, run["id"])
    unfinished = create(client, tiny(epochs=5000), client_id="bob4")
    for run, field, words in ((too_long, "training.epochs", "trained 40 epochs, over the challenge's limit of 30"),
                              (too_big, "parameters", "has 9 parameters, over the challenge's limit of 3"),
                              (other_data, "dataset.noise", "0.1 is not the challenge's 0.0"),
                              (unfinished, "run_id", "submit it once it has finished")):
        response = submit(bob, run)
        assert response.status_code == 422, response.text
        problem = response.json()["detail"][0]
        assert problem["field"] == field and words in problem["msg"], problem
    client.post(f"/api/runs/{unfinished['id']}/control", json={"action": "stop"}, headers=bearer(unfinished["token"]))
    stolen = client.post(url, headers=bearer(bob["token"]), json={"run_id": good["id"], "run_token": "guess"})
    assert stolen.status_code == 403  # Ada's run: Bob cannot show its token
    board = client.get(f"/api/rooms/{code}/leaderboard").json()["leaderboard"]
    assert [(e["rank"], e["name"]) for e in board] == [(1, "Ada")]


def test_a_removed_participant_and_a_closed_room_are_refused(client, room):
    code, token = room["code"], room["instructor_token"]
    ada = join(client, code)
    run = create(client, client_id="ada")
    removed = client.delete(f"/api/rooms/{code}/participants/{ada['participant']}", headers=bearer(token))
    assert removed.status_code == 200 and removed.json()["participants"] == []
    again = client.post(f"/api/rooms/{code}/runs", headers=bearer(ada["token"]),
                        json={"run_id": run["id"], "run_token": run["token"]})
    assert again.status_code == 403
    assert client.delete(f"/api/rooms/{code}", headers=bearer(token)).json()["closed"] is True
    assert client.post(f"/api/rooms/{code}/join", json={"name": "Late"}).status_code == 410
    assert client.post(f"/api/rooms/{code}/follow", headers=bearer(token), json={}).status_code == 410


def test_rooms_and_leaderboards_survive_a_restart(make_client):
    client = make_client()
    room = client.post("/api/rooms", json={"title": "Kept"}).json()
    challenge(client, room)
    ada = join(client, room["code"])
    run = trained_run(client, "ada", epochs=20)
    client.post(f"/api/rooms/{room['code']}/submissions", headers=bearer(ada["token"]),
                json={"run_id": run["id"], "run_token": run["token"]})
    client.__exit__(None, None, None)

    restarted = make_client()
    view = restarted.get(f"/api/rooms/{room['code']}").json()
    assert view["title"] == "Kept" and [p["name"] for p in view["participants"]] == ["Ada"]
    assert [e["name"] for e in view["leaderboard"]] == ["Ada"] and view["challenge"]["title"] == "Line"
    assert restarted.post(f"/api/rooms/{room['code']}/runs", headers=bearer(ada["token"]),
                          json={"run_id": run["id"], "run_token": run["token"]}).status_code == 200


def test_the_room_stream_sends_the_room_then_changes_and_wall_tiles(client, room):
    code = room["code"]
    with client.websocket_connect(f"/api/rooms/{code}/stream") as ws:
        first = receive(ws)[0]
        assert first["kind"] == "room" and first["code"] == code
        ada = join(client, code, "Ada")
        joined = read_until(ws, lambda e: e["kind"] == "room" and e["participants"])
        assert joined[-1]["participants"][0]["name"] == "Ada"
        run = create(client, tiny(epochs=60), client_id="ada")
        client.post(f"/api/rooms/{code}/runs", headers=bearer(ada["token"]),
                    json={"run_id": run["id"], "run_token": run["token"]})
        tiles = read_until(ws, lambda e: e["kind"] == "wall" and e["state"] == "finished")
    walls = [e for e in tiles if e["kind"] == "wall"]
    assert all(t["participant"] == ada["participant"] and t["run_id"] == run["id"] for t in walls)
    epochs = [t["epoch"] for t in walls]
    assert epochs == sorted(epochs) and epochs[-1] == 60
    assert walls[-1]["val_metric"] is not None and walls[-1]["resolution"] == 32
    assert len(walls[-1]["boundary"]) > 0


def test_an_unknown_room_stream_is_closed(client):
    from starlette.websockets import WebSocketDisconnect

    with client.websocket_connect("/api/rooms/NOROOM/stream") as ws:  # accepted, then closed
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_text()
    assert (closed.value.code, closed.value.reason) == (4404, "unknown room")


def submit(client, code, person, run):
    return client.post(f"/api/rooms/{code}/submissions", headers=bearer(person["token"]),
                       json={"run_id": run["id"], "run_token": run["token"]})


def test_a_run_counts_once_per_challenge_and_is_scored_off_the_request_threads(client, room, monkeypatch):
    from keras_playground.engine import scoring

    scored_on, score = [], scoring.hidden_set_accuracy
    monkeypatch.setattr(scoring, "hidden_set_accuracy",
                        lambda *args: scored_on.append(threading.current_thread().name) or score(*args))
    code = room["code"]
    challenge(client, room)
    ada = join(client, code)
    run = trained_run(client, "ada", epochs=20)
    first = submit(client, code, ada, run)
    assert first.status_code == 201, first.text
    for _ in range(3):
        again = submit(client, code, ada, run)
        assert again.status_code == 200 and again.json() == first.json()  # its first result
    assert len(scored_on) == 1 and scored_on[0].startswith("scoring")  # once, on the scorer's own thread
    assert len(client.app.state.classroom.room(code).submissions) == 1


def test_submissions_are_limited_per_participant(make_client):
    client = make_client(submissions_per_minute=1)
    room = client.post("/api/rooms", json={}).json()
    challenge(client, room)
    ada = join(client, room["code"])
    first, second = trained_run(client, "ada1", epochs=20), trained_run(client, "ada2", epochs=21)
    assert submit(client, room["code"], ada, first).status_code == 201
    refused = submit(client, room["code"], ada, second)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    assert "PLAYGROUND_SUBMISSIONS_PER_MINUTE" in refused.json()["detail"]
    assert submit(client, room["code"], ada, first).status_code == 200  # a resubmission is answered


def test_a_removed_participants_entries_leave_the_leaderboard(client, room):
    code = room["code"]
    challenge(client, room)
    ada, bob = join(client, code, "Ada"), join(client, code, "Bob")
    assert submit(client, code, ada, trained_run(client, "ada", epochs=30)).status_code == 201
    assert submit(client, code, bob, trained_run(client, "bob", epochs=5)).status_code == 201
    assert len(client.get(f"/api/rooms/{code}/leaderboard").json()["leaderboard"]) == 2
    removed = client.delete(f"/api/rooms/{code}/participants/{ada['participant']}",
                            headers=bearer(room["instructor_token"]))
    assert [(e["rank"], e["name"]) for e in removed.json()["leaderboard"]] == [(1, "Bob")]
    board = client.get(f"/api/rooms/{code}/leaderboard").json()["leaderboard"]
    assert [(e["rank"], e["name"]) for e in board] == [(1, "Bob")]


def test_the_instructor_locks_a_room_to_new_participants(client, room):
    code, token = room["code"], room["instructor_token"]
    ada = join(client, code, "Ada")
    url = f"/api/rooms/{code}/lock"
    assert client.post(url, json={"locked": True}).status_code == 401
    assert client.post(url, json={"locked": True}, headers=bearer(ada["token"])).status_code == 403
    locked = client.post(url, json={"locked": True}, headers=bearer(token))
    assert locked.status_code == 200 and locked.json()["locked"] is True
    assert client.get(f"/api/rooms/{code}").json()["locked"] is True
    refused = client.post(f"/api/rooms/{code}/join", json={"name": "Bob"})
    assert refused.status_code == 423 and "locked this room" in refused.json()["detail"]
    run = create(client, client_id="ada")  # those already in carry on
    assert client.post(f"/api/rooms/{code}/runs", headers=bearer(ada["token"]),
                       json={"run_id": run["id"], "run_token": run["token"]}).status_code == 200
    assert client.post(url, json={"locked": False}, headers=bearer(token)).json()["locked"] is False
    join(client, code, "Bob")


def test_room_changes_are_limited_per_caller(make_client):
    client = make_client(room_changes_per_minute=2, joins_per_address_per_minute=2)
    room = client.post("/api/rooms", json={}).json()
    code, token = room["code"], room["instructor_token"]
    ada = join(client, code, "Ada")
    join(client, code, "Bob")
    run = create(client, client_id="ada")
    changes = {"join": lambda: client.post(f"/api/rooms/{code}/join", json={"name": "Cy"}),
               "run": lambda: client.post(f"/api/rooms/{code}/runs", headers=bearer(ada["token"]),
                                          json={"run_id": run["id"], "run_token": run["token"]}),
               "follow": lambda: client.post(f"/api/rooms/{code}/follow", headers=bearer(token), json={})}
    assert changes["run"]().status_code == changes["follow"]().status_code == 200
    assert changes["run"]().status_code == changes["follow"]().status_code == 200
    for name, change in changes.items():
        refused = change()
        assert refused.status_code == 429, (name, refused.text)
        setting = "JOINS_PER_ADDRESS" if name == "join" else "ROOM_CHANGES"
        assert f"PLAYGROUND_{setting}_PER_MINUTE" in refused.json()["detail"] and refused.headers["Retry-After"]
    assert [p["name"] for p in client.get(f"/api/rooms/{code}").json()["participants"]] == ["Ada", "Bob"]


def test_rooms_closed_long_ago_are_pruned_on_a_schedule(make_client):
    client = make_client(keep_closed_rooms_hours=0, prune_every_seconds=0.1)
    room = client.post("/api/rooms", json={}).json()
    kept = client.post("/api/rooms", json={}).json()
    client.delete(f"/api/rooms/{room['code']}", headers=bearer(room["instructor_token"]))
    deadline = time.monotonic() + 30
    while client.get(f"/api/rooms/{room['code']}").status_code != 404:
        assert time.monotonic() < deadline, "the closed room was not pruned within 30 s"
        time.sleep(0.05)
    assert client.get(f"/api/rooms/{kept['code']}").status_code == 200  # an open room stays


def test_a_lab_server_needs_the_instructor_password_to_open_a_room(make_client, redis_url):
    unset = make_client(redis_url=redis_url).post("/api/rooms", json={})
    assert unset.status_code == 403 and "PLAYGROUND_INSTRUCTOR_PASSWORD" in unset.json()["detail"]
    guarded = make_client(redis_url=redis_url, instructor_password="s3cret")
    assert guarded.post("/api/rooms", json={}).status_code == 403
    assert guarded.post("/api/rooms", json={"password": "s3cret"}).status_code == 201
    assert make_client(redis_url=redis_url, rooms_need_password=False).post("/api/rooms", json={}).status_code == 201


@pytest.mark.parametrize("backend", ["embedded", "redis"])
def test_a_room_stream_follows_a_room_after_more_changes_than_one_read_holds(make_client, backend, request):
    """A room's log is all views: after 10,050 changes a new stream still gets each new one."""
    from keras_playground.jobs.redis_bus import BATCH

    lab = {"redis_url": request.getfixturevalue("redis_url"), "instructor_password": "pw"} if backend == "redis" else {}
    client = make_client(**lab)
    room = client.post("/api/rooms", json={"password": "pw"}).json()
    code, classroom = room["code"], client.app.state.classroom
    for change in range(BATCH + 50):  # cheap changes, straight to the classroom (no rate limit)
        classroom.lock(code, room["instructor_token"], locked=change % 2 == 0)
    with client.websocket_connect(f"/api/rooms/{code}/stream") as ws:
        assert receive(ws)[0]["locked"] is False
        join(client, code, "Ada")
        joined = read_until(ws, lambda e: e["kind"] == "room" and e["participants"], timeout=15)
    assert joined[-1]["participants"][0]["name"] == "Ada"


@pytest.fixture
def lab(make_client, redis_url):
    """A lab server's web app and one worker in this process (the default namespace, as the app's)."""
    import dramatiq

    from keras_playground.jobs.distributed import make_broker
    from keras_playground.backends import worker_context
    from keras_playground.jobs.worker import attach

    client = make_client(redis_url=redis_url, instructor_password="pw")
    broker = make_broker(redis_url)
    attach(broker, worker_context(client.app.state.settings, name="test-worker"))
    worker = dramatiq.Worker(broker, queues={"training"}, worker_threads=2)
    worker.start()
    yield client, worker
    worker.stop(timeout=30_000)
    broker.close()


def test_on_a_lab_server_a_worker_scores_submissions_and_a_late_answer_is_a_503(lab):
    client, worker = lab
    room = client.post("/api/rooms", json={"password": "pw"}).json()
    code = room["code"]
    challenge(client, room)
    ada = join(client, code)
    good, other = trained_run(client, "lab-ada", epochs=20), trained_run(client, "lab-ada2", epochs=21)
    scored = submit(client, code, ada, good)
    assert scored.status_code == 201 and scored.json()["accuracy"] > 0.85, scored.text
    assert submit(client, code, ada, good).json() == scored.json()
    worker.stop(timeout=30_000)  # no worker left to score
    client.app.state.classroom.scorer.timeout = 0.5
    late = submit(client, code, ada, other)
    assert late.status_code == 503 and "No worker scored the run" in late.json()["detail"]
    assert int(late.headers["Retry-After"]) > 0
    assert [e["run_id"] for e in client.get(f"/api/rooms/{code}/leaderboard").json()["leaderboard"]] == [good["id"]]


def test_room_codes_cannot_be_tried_one_by_one(make_client):
    client = make_client(room_misses_per_address_per_minute=3)
    room = client.post("/api/rooms", json={}).json()
    code = room["code"]
    ada = join(client, code)
    assert client.get(f"/api/rooms/{code}").status_code == 200  # a known code costs nothing
    guesses = [client.get(f"/api/rooms/ZZZZZ{i}") for i in range(2, 6)]
    assert [g.status_code for g in guesses] == [404, 404, 404, 429]  # counted as they come
    for refused in (client.get(f"/api/rooms/{code}"), client.post(f"/api/rooms/{code}/join", json={"name": "Eve"}),
                    client.get("/api/rooms/ZZZZZ9/leaderboard")):  # even the right code, for a minute
        assert refused.status_code == 429
        assert "PLAYGROUND_ROOM_MISSES_PER_ADDRESS_PER_MINUTE" in refused.json()["detail"]
        assert int(refused.headers["Retry-After"]) >= 1
    with client.websocket_connect(f"/api/rooms/{code}/stream") as ws:
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_text()
    assert closed.value.code == 1013 and "PLAYGROUND_ROOM_MISSES_PER_ADDRESS_PER_MINUTE" in closed.value.reason
    # Those who hold a token of the room (behind the same address as the guesser) carry on.
    for token in (room["instructor_token"], ada["token"]):
        assert client.get(f"/api/rooms/{code}", headers=bearer(token)).status_code == 200
    assert client.post(f"/api/rooms/{code}/lock", json={"locked": True},
                       headers=bearer(room["instructor_token"])).status_code == 200
    assert client.get(f"/api/rooms/{code}", headers=bearer("not-a-token")).status_code == 429


def test_simultaneous_guesses_never_pass_the_limit(make_client):
    client = make_client(room_misses_per_address_per_minute=5)
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda i: client.get(f"/api/rooms/Q{i:05d}").status_code, range(40)))
    assert answers.count(404) == 5 and answers.count(429) == 35


def test_a_model_that_cannot_be_scored_is_refused_plainly_with_an_error_id(client, room, tmp_path, caplog):
    code = room["code"]
    challenge(client, room)
    ada = join(client, code)
    run = trained_run(client, "ada", epochs=20)
    model = tmp_path / "data" / "models" / f"{run['id']}.keras"
    model.write_bytes(b"PK\x03\x04 not a model any more")  # e.g. damaged on disk
    answer = submit(client, code, ada, run)
    assert answer.status_code == 422
    [problem] = answer.json()["detail"]
    error_id = re.search(r"could not be scored \(error ([0-9a-f]{8})\)", problem["msg"]).group(1)
    assert problem["field"] == "run_id" and str(tmp_path) not in problem["msg"]
    assert any(error_id in r.getMessage() and r.exc_info for r in caplog.records)  # the details are logged
