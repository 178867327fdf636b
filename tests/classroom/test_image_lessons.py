"""The image lessons (08 to 11, issue 15): they load, their parameter claims are what the
network's shapes give (no training: the same count the layer preview shows), and the text
states the counts it claims."""

import pytest

from keras_playground.classroom.claims import Compare
from keras_playground.classroom.lessons import load_lessons
from keras_playground.data.validate import network_shapes
from keras_playground.specs import Limits, parse_spec, total_parameters

IMAGE_LESSONS = ("08-dense-vs-cnn", "09-first-filters", "10-pooling", "11-augmentation")


def lessons():
    by_id = {lesson.id: lesson for lesson in load_lessons(Limits())}
    return [by_id[i] for i in IMAGE_LESSONS]


def count(step) -> int:
    shapes, problems = network_shapes(parse_spec(step.settings), Limits())
    assert not problems, problems
    return total_parameters(shapes)


@pytest.mark.parametrize("lesson", lessons(), ids=lambda l: l.id)
def test_every_parameter_claim_is_the_networks_count_and_is_stated_in_words(lesson):
    for number, step in enumerate(lesson.steps, start=1):
        assert step.claims, f"{lesson.id} step {number} has no claims"
        claimed = [c for c in step.claims if isinstance(c, Compare) and c.metric == "parameters"]
        assert claimed, f"{lesson.id} step {number} does not claim its parameter count"
        for claim in claimed:
            value = claim.value
            assert claim.op == "==", f"{lesson.id} step {number}: parameter claims are exact"
            assert value == count(step), f"{lesson.id} step {number}: claims {value}, the network has {count(step)}"
            assert f"{int(value):,}" in step.text + step.watch, f"{lesson.id} step {number} does not state {int(value):,}"


def test_lesson_08_compares_networks_of_a_similar_size_and_claims_a_ten_point_win():
    dense, cnn = lessons()[0].steps
    assert [layer["type"] for layer in dense.settings["layers"]] == ["flatten", "dense"]
    assert "conv2d" in [layer["type"] for layer in cnn.settings["layers"]]
    assert dense.settings["dataset"] == cnn.settings["dataset"] and dense.settings["training"] == cnn.settings["training"]
    small, large = sorted((count(dense), count(cnn)))
    assert large <= 1.25 * small
    wins = [c for c in cnn.claims if isinstance(c, Compare) and c.metric == "test_metric" and c.step == 1]
    assert [(c.op, c.by) for c in wins] == [(">=", 0.1)]


def test_pooling_shrinks_the_network_and_augmentation_changes_nothing_else():
    pooled, unpooled = lessons()[2].steps
    assert count(unpooled) > 10 * count(pooled)
    few, augmented = lessons()[3].steps
    assert few.settings["training"]["augment"]["shift"] == 0
    assert augmented.settings["training"]["augment"]["shift"] > 0
    plain = {**augmented.settings["training"], "augment": few.settings["training"]["augment"]}
    assert plain == few.settings["training"] and augmented.settings["dataset"] == few.settings["dataset"]
    assert augmented.settings["layers"] == few.settings["layers"]


def test_the_image_lessons_train_little_enough_for_the_check():
    # lessons --check trains every step with 3 seeds in CI: keep each step short.
    for lesson in lessons():
        for step in lesson.steps:
            d, t = step.settings["dataset"], step.settings["training"]
            assert d["n_train"] * t["epochs"] <= 20_000, (lesson.id, step.title)
