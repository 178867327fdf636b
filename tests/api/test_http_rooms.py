"""The classroom over HTTP and WebSocket: each role, each refusal, the challenge, the wall."""

import pytest

from .conftest import create, read_until, receive, stream_to_end, tiny

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

    with pytest.raises(WebSocketDisconnect) as closed:
        with client.websocket_connect("/api/rooms/NOROOM/stream") as ws:
            ws.receive_text()
    assert closed.value.code == 4404
