"""Before a run exists the page shows its points and its Keras code, and reads a CSV."""

import pytest

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


def test_the_notebook_preview_is_a_valid_notebook_of_the_settings(client):
    import nbformat

    spec = {**tiny(), "layers": [{"units": 5, "activation": "relu"}]}
    answer = client.post("/api/preview/notebook", json=spec)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/x-ipynb+json")
    assert 'filename="playground.ipynb"' in answer.headers["content-disposition"]
    notebook = nbformat.reads(answer.text, as_version=4)
    nbformat.validate(notebook)
    code = "\n".join(c.source for c in notebook.cells if c.cell_type == "code")
    assert "layers.Dense(5, activation='relu')" in code and "model.fit(" in code
    assert client.post("/api/preview/notebook", json={"training": {"batch_size": 0}}).status_code == 422


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


def custom(points):
    return {"dataset": {"name": "custom", "points": points, "n_train": len(points) - 2, "n_val": 1,
                        "n_test": 1}, "training": {"batch_size": 1}}


HUGE = [[1e308, 1e308, 0], [-1e308, -1e308, 1], [3, 4, 0], [5, 6, 1]]  # the extent overflowed: a 500


@pytest.mark.parametrize("route", ["/api/preview/data", "/api/preview/code", "/api/runs"])
def test_points_far_out_are_refused_naming_the_point_and_the_bound(client, route):
    answer = client.post(route, json=custom(HUGE))
    assert answer.status_code == 422
    [problem] = answer.json()["detail"]
    assert problem["field"] == "dataset.points[0]"
    assert "[-1000000, 1000000]" in problem["msg"]


def test_points_at_the_bound_still_draw(client):
    points = [[1e6, -1e6, 0], [1, 2, 1], [3, 4, 0], [5, 6, 1]]
    preview = client.post("/api/preview/data", json=custom(points))
    assert preview.status_code == 200
    assert preview.json()["extent"][1] >= 1e6


def test_a_csv_with_coordinates_far_out_is_refused_naming_the_line(client):
    answer = client.post("/api/preview/csv", content="x1,x2,label\n0,0,0\n1e308,1,1\n",
                         headers={"content-type": "text/csv"})
    assert answer.status_code == 422
    assert answer.json()["detail"] == [{"field": "file", "msg": "Line 3: x1 and x2 must be within "
                                                                "[-1000000, 1000000]."}]


def test_a_csv_that_is_not_utf8_is_refused(client):
    answer = client.post("/api/preview/csv", content=b"x1,x2,label\n\xff0,0,0\n1,1,1\n",
                         headers={"content-type": "text/csv"})
    assert answer.status_code == 422
    assert answer.json()["detail"] == [{"field": "file", "msg": "The file is not UTF-8 text (byte 12)."}]


@pytest.mark.parametrize("body", [b'{"training": {"learning_rate": NaN}}',
                                  b'{"training": {"learning_rate": Infinity}}',
                                  b'{"training": {"learning_rate": 1e999}}',
                                  b'{"dataset": {"name": "parabola", "params": {"a": -Infinity}}}'])
def test_non_finite_numbers_are_refused_naming_the_field(client, body):
    answer = client.post("/api/runs", content=body, headers={"content-type": "application/json"})
    assert answer.status_code == 422
    [problem] = answer.json()["detail"]
    assert problem["field"] in ("training.learning_rate", "dataset.params.a")


@pytest.mark.parametrize("body, message", [
    (b'{"dataset": {"name": "\xff"}}', "The body is not valid UTF-8 (byte 22)."),
    (b"[" * 50_000 + b"]" * 50_000, "The body's JSON is nested too deeply."),
])
def test_unreadable_bodies_are_a_422_on_the_body(client, body, message):
    for route in ("/api/runs", "/api/preview/data", "/api/rooms"):
        answer = client.post(route, content=body, headers={"content-type": "application/json"})
        assert answer.status_code == 422, route
        assert answer.json()["detail"] == [{"field": "body", "msg": message}]


def _inside(extent, point):
    x_min, x_max, y_min, y_max = extent
    return x_min - 1e-4 <= point[0] <= x_max + 1e-4 and y_min - 1e-4 <= point[1] <= y_max + 1e-4


@pytest.mark.parametrize("name, params, curve", [
    ("line", {"a": 0.5, "b": 0.1}, lambda x: 0.5 * x + 0.1),
    ("line", {"a": -2.0, "b": 0.3}, lambda x: -2.0 * x + 0.3),
    ("parabola", {"a": 2.0, "b": 0.0, "c": -1.0}, lambda x: 2 * x ** 2 - 1),
    ("parabola", {"a": -1.5, "b": 0.5, "c": 0.2}, lambda x: -1.5 * x ** 2 + 0.5 * x + 0.2),
])
def test_the_data_preview_gives_the_true_boundary_of_the_spec(client, name, params, curve):
    preview = client.post("/api/preview/data", json={**tiny(), "dataset": {
        "name": name, "n_train": 40, "n_val": 10, "n_test": 10, "params": params}}).json()
    lines = preview["true_boundary"]
    assert lines and all(len(line) >= 2 for line in lines)
    for line in lines:
        for x, y in line:
            assert _inside(preview["extent"], (x, y))
            assert y == pytest.approx(curve(x), abs=2e-3)
    # it spans the plot: from its left edge (or where it enters) across
    xs = [x for line in lines for x, _ in line]
    assert max(xs) - min(xs) > 0.5


def test_a_data_set_with_no_true_boundary_says_null(client):
    for dataset in ({"name": "course_spiral"}, {"name": "plane"},
                    {"name": "custom", "points": [[0, 0, 0], [1, 1, 1], [0.5, 0, 1], [0, 0.5, 0], [1, 0, 1]]}):
        preview = client.post("/api/preview/data", json={**tiny(batch_size=2), "dataset": {
            **dataset, "n_train": 4, "n_val": 1, "n_test": 0}}).json()
        assert preview["true_boundary"] is None, dataset
