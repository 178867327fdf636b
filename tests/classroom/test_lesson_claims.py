"""Lesson claims: what a step says, checked on a finished run; a bad claim stops the load."""

import json

import pytest
from pydantic import TypeAdapter

from keras_playground.classroom.check import check_lessons, format_report, seeded
from keras_playground.classroom.claims import Claim, RunResult, describe, evaluate
from keras_playground.classroom.lessons import LessonError, load_lessons
from keras_playground.specs import Limits

CLAIM = TypeAdapter(Claim)


def run(val_losses, *, test_metric=0.8, state="finished", epochs=None, start_loss=0.7):
    history = [{"epoch": i + 1, "loss": 0.5 / (i + 1), "metric": 0.9, "val_loss": v, "val_metric": 0.8}
               for i, v in enumerate(val_losses)]
    done = {"state": state, "epochs": epochs or len(history), "loss": history[-1]["loss"], "metric": 0.9,
            "val_loss": val_losses[-1], "val_metric": 0.8, "test_loss": 0.4, "test_metric": test_metric,
            "metric_name": "accuracy", "parameters": 21, "best_epoch": None}
    return RunResult(done=done, history=history, start={"epoch": 0, "loss": start_loss, "metric": 0.5})


def test_a_comparison_with_a_number_holds_or_not():
    claim = CLAIM.validate_python({"metric": "test_metric", "op": ">=", "value": 0.9})
    assert describe(claim) == "test accuracy >= 0.900"
    low, high = evaluate(claim, run([0.5], test_metric=0.85)), evaluate(claim, run([0.5], test_metric=0.95))
    assert (low.holds, low.measured) == (False, "0.850")
    assert (high.holds, high.measured) == (True, "0.950")


def test_near_and_epoch_0_read_the_untrained_network():
    claim = CLAIM.validate_python({"metric": "loss", "epoch": 0, "op": "near", "value": 0.69, "within": 0.05})
    assert describe(claim) == "training loss at epoch 0 (untrained) is near 0.690 (within 0.050)"
    assert evaluate(claim, run([0.5], start_loss=0.73)).holds
    assert not evaluate(claim, run([0.5], start_loss=0.80)).holds


def test_a_comparison_with_another_step_uses_that_steps_run():
    claim = CLAIM.validate_python({"metric": "test_metric", "op": ">", "step": 1})
    outcome = evaluate(claim, run([0.5], test_metric=0.62), {1: run([0.5], test_metric=0.73)})
    assert not outcome.holds and outcome.measured == "0.620 (step 1: 0.730)"
    assert evaluate(claim, run([0.5], test_metric=0.8), {1: run([0.5], test_metric=0.73)}).holds
    assert not evaluate(claim, run([0.5])).holds  # no run of step 1: not shown to hold


def test_a_margin_over_another_step_is_added_to_that_steps_figure():
    claim = CLAIM.validate_python({"metric": "test_metric", "op": ">=", "step": 1, "by": 0.1})
    assert describe(claim) == "test accuracy >= step 1's + 0.100"
    dense = {1: run([0.5], test_metric=0.62)}
    holds = evaluate(claim, run([0.5], test_metric=0.75), dense)
    assert holds.holds and holds.measured == "0.750 (step 1: 0.620; difference +0.130)"
    assert not evaluate(claim, run([0.5], test_metric=0.70), dense).holds  # higher, but by less than 0.1
    assert not evaluate(claim, run([0.5], test_metric=0.75)).holds  # no run of step 1
    lower = CLAIM.validate_python({"metric": "val_loss", "op": "<=", "step": 1, "by": -0.5})
    assert describe(lower) == "validation loss <= step 1's - 0.500"
    assert evaluate(lower, run([1.0]), {1: run([1.6])}).holds
    assert not evaluate(lower, run([1.2]), {1: run([1.6])}).holds


def test_shape_claims():
    minimum = CLAIM.validate_python({"shape": "val_loss_minimum_before", "fraction": 0.67})
    early = run([0.9, 0.5, 0.6, 0.7, 0.8, 0.9])  # lowest at epoch 2 of 6
    late = run([0.9, 0.8, 0.7, 0.6, 0.5, 0.4])
    assert evaluate(minimum, early).holds and evaluate(minimum, early).measured == "lowest at epoch 2 of 6"
    assert not evaluate(minimum, late).holds
    stopped = CLAIM.validate_python({"shape": "stopped_early", "before": 100})
    assert evaluate(stopped, run([0.5] * 40, state="early_stopped")).holds
    assert not evaluate(stopped, run([0.5] * 40, state="finished")).holds
    assert not evaluate(stopped, run([0.5] * 120, state="early_stopped")).holds
    rise = CLAIM.validate_python({"metric": "val_loss_rise", "op": "<=", "value": 0.1})
    assert evaluate(rise, late).holds and not evaluate(rise, early).holds


@pytest.mark.parametrize("claim, message", [
    ({"metric": "test_metric", "op": "≥", "value": 0.9}, r"step 2 claims\[0\]\.op: Input should be"),
    ({"metric": "accuracy", "op": ">", "value": 0.9}, r"step 2 claims\[0\]\.metric: Input should be"),
    ({"metric": "test_metric", "op": ">"}, r"step 2 claims\[0\]: .*exactly one of value"),
    ({"metric": "loss", "op": "near", "value": 0.69}, r"step 2 claims\[0\]: .*within"),
    ({"metric": "parameters", "op": "==", "value": 3, "epoch": 1}, r"step 2 claims\[0\]: .*epoch applies"),
    ({"shape": "stopped_early", "befor": 30}, r"step 2 claims\[0\]\.before: Field required; .*claims\[0\]\.befor: Extra inputs"),
    ({"metric": "test_metric", "op": ">", "step": 2}, r"step 2 claims\[0\]\.step: 2 is not another step"),
    ({"metric": "test_metric", "op": ">", "value": 0.5, "by": 0.1}, r"step 2 claims\[0\]: .*by \(a margin\) applies"),
    ({"metric": "test_metric", "op": ">", "step": 1, "by": "inf"}, r"step 2 claims\[0\]\.by: Input should be a finite"),
])
def test_a_bad_claim_stops_the_load_naming_the_file_step_and_field(tmp_path, claim, message):
    lesson = load_lessons(Limits())[0].model_dump(mode="json", by_alias=True)
    lesson.update(id="99-mine")
    lesson["steps"][1]["claims"] = [claim]
    (tmp_path / "99-mine.json").write_text(json.dumps(lesson))
    with pytest.raises(LessonError, match="^99-mine.json, " + message):
        load_lessons(Limits(), tmp_path)


def test_every_built_in_step_that_says_something_measurable_has_claims():
    for lesson in load_lessons(Limits()):
        for number, step in enumerate(lesson.steps, start=1):
            assert step.claims, f"{lesson.id} step {number} has no claims"


def test_the_check_reports_a_claim_that_does_not_hold_with_every_seed(tmp_path):
    lesson = load_lessons(Limits())[0].model_dump(mode="json", by_alias=True)
    lesson.update(id="99-mine")
    lesson["steps"] = lesson["steps"][:2]
    lesson["steps"][0]["claims"] = [{"metric": "test_metric", "op": ">=", "value": 0.9}]
    lesson["steps"][1]["claims"] = [{"metric": "test_metric", "op": ">", "step": 1}]
    (tmp_path / "99-mine.json").write_text(json.dumps(lesson))
    mine = [l for l in load_lessons(Limits(), tmp_path) if l.id == "99-mine"]
    seen = []

    def fake_train(settings):  # seed index 1 of step 2 is worse than step 1
        seen.append((settings["dataset"]["n_train"], settings["dataset"]["seed"], settings["training"]["seed"]))
        good = settings["dataset"]["n_train"] == 100 or settings["training"]["seed"] == 1
        return run([0.5], test_metric=0.95 if good else 0.5)

    report = check_lessons(mine, seeds=2, train=fake_train)
    assert sorted(seen) == [(100, 7, 1), (100, 1007, 1001), (500, 7, 1), (500, 1007, 1001)]
    assert [(r.step, r.holds) for r in report.rows] == [(1, True), (2, False)]
    assert report.rows[1].measured == ["0.950 (step 1: 0.950)", "0.500 (step 1: 0.950)"]
    assert not report.all_hold
    text = format_report(report)
    assert "test accuracy > step 1's" in text and "NO" in text and "1 claim do not hold" in text


def test_seeds_after_the_first_are_derived_from_the_steps_own():
    settings = {"dataset": {"seed": 7}, "training": {"seed": 1}}
    assert seeded(settings, 0) == settings
    assert seeded(settings, 2) == {"dataset": {"seed": 2007}, "training": {"seed": 2001}}


def test_the_microscopy_lessons_state_and_claim_their_unets_parameter_counts():
    """Lessons 12-15: each step's U-Net, counted as Keras counts it (specs.unet_shapes),
    is the count its text states (with a thousands comma) and its claim checks."""
    from keras_playground.specs import UNetSpec, unet_shapes

    steps = [(lesson.id, number, step) for lesson in load_lessons(Limits())
             for number, step in enumerate(lesson.steps, start=1) if step.settings.get("unet")]
    assert {lesson for lesson, _, _ in steps} >= {"12-dice-not-accuracy", "13-touching-nuclei", "14-few-images",
                                                  "15-denoising"}
    for lesson, number, step in steps:
        counted = sum(s.parameters for s in unet_shapes(UNetSpec.model_validate(step.settings["unet"]), 64))
        claimed = [c.value for c in step.claims if getattr(c, "metric", None) == "parameters"]
        assert claimed == [counted], (lesson, number, claimed, counted)
        assert f"{counted:,}" in step.text, (lesson, number, counted)


@pytest.mark.slow
def test_every_lesson_claim_holds_over_three_seeds():
    report = check_lessons(load_lessons(Limits()), seeds=3)
    failing = [f"{r.lesson} step {r.step}: {r.claim}: {r.measured}" for r in report.rows if not r.holds]
    assert not failing, "\n".join(failing)
    assert len(report.rows) >= 100  # 28 of them on the microscope (lessons 12-15)
