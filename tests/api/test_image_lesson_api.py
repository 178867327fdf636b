"""Lesson 08 through the real HTTP API: the CNN step beats the dense step by 10 points or more
at a comparable parameter count (issue 15, "Done when"). Two short trainings: about 3 s on
2 idle cores."""

from .conftest import create, stream_to_end


def test_lesson_08s_cnn_beats_its_dense_network_by_ten_points_at_a_similar_size(client):
    lesson = client.get("/api/lessons/08-dense-vs-cnn").json()
    dense_step, cnn_step = lesson["steps"][:2]
    assert [layer["type"] for layer in dense_step["settings"]["layers"]] == ["flatten", "dense"]
    assert "conv2d" in [layer["type"] for layer in cnn_step["settings"]["layers"]]

    done = {}
    for name, step in (("dense", dense_step), ("cnn", cnn_step)):
        run = create(client, step["settings"], client_id=f"lesson-08-{name}")
        events = stream_to_end(client, run["id"])
        assert events[-1]["kind"] == "done", events[-1]
        done[name] = events[-1]

    dense, cnn = done["dense"], done["cnn"]
    assert dense["state"] == cnn["state"] == "finished"
    assert cnn["test_metric"] >= dense["test_metric"] + 0.10, (cnn["test_metric"], dense["test_metric"])
    small, large = sorted((dense["parameters"], cnn["parameters"]))
    assert large <= 1.25 * small, (dense["parameters"], cnn["parameters"])
    # The counts the lesson's text states.
    assert (dense["parameters"], cnn["parameters"]) == (2146, 1898)
