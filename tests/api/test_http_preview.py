"""Before a run exists the page shows its points and its Keras code, and reads a CSV."""

from .conftest import tiny


def test_the_data_preview_draws_the_same_points_as_the_run(client):
    spec = tiny()
    preview = client.post("/api/preview/data", json=spec).json()
    assert (len(preview["train"]), len(preview["val"]), len(preview["test"])) == (40, 10, 10)
    assert preview["kind"] == "binary" and preview["n_classes"] == 2
    run = client.post("/api/runs", json=spec).json()
    csv_rows = client.get(f"/api/runs/{run['id']}/data").text.splitlines()[1:]
    first = csv_rows[0].split(",")
    assert first[0] == "train"
    assert abs(float(first[1]) - preview["train"][0][0]) < 1e-3
    assert abs(float(first[2]) - preview["train"][0][1]) < 1e-3
    assert int(first[3]) == preview["train"][0][2]


def test_a_data_preview_of_an_invalid_spec_names_the_field(client):
    response = client.post("/api/preview/data", json={"dataset": {"name": "parabola", "params": {"a": 99}}})
    assert response.status_code == 422
    [problem] = response.json()["detail"]
    assert problem["field"] == "dataset.params.a" and "out of range" in problem["msg"]


def test_the_code_preview_is_the_script_of_the_settings(client):
    spec = {**tiny(), "layers": [{"units": 5, "activation": "relu"}]}
    script = client.post("/api/preview/code", json=spec)
    assert script.status_code == 200
    assert "layers.Dense(5, activation='relu')" in script.text and "model.fit(" in script.text
    assert client.post("/api/preview/code", json={"training": {"batch_size": 0}}).status_code == 422


def test_an_uploaded_csv_becomes_points(client):
    csv = "x1,x2,label\n0,0,0\n1,1,1\n0.5,-0.5,1\n"
    answer = client.post("/api/preview/csv", content=csv, headers={"content-type": "text/csv"})
    assert answer.status_code == 200
    assert answer.json() == {"points": [[0, 0, 0], [1, 1, 1], [0.5, -0.5, 1]], "classes": 2}


def test_a_bad_csv_is_refused_naming_the_line(client):
    answer = client.post("/api/preview/csv", content="x1,x2,label\n0,0,0\n1,oops,1\n",
                         headers={"content-type": "text/csv"})
    assert answer.status_code == 422
    [problem] = answer.json()["detail"]
    assert problem["field"] == "file" and problem["msg"].startswith("Line 3")
