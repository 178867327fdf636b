"""Claims on a microscopy run's figures: Dice, IoU, instance F1, PSNR, SSIM from `done`,
against a number, another step or a classical baseline (Otsu, Gaussian, median), and the
epoch extras. Pure: made-up runs, no training."""

import json

import pytest
from pydantic import TypeAdapter

from keras_playground.classroom.check import check_lessons
from keras_playground.classroom.claims import Claim, RunResult, describe, evaluate, measure
from keras_playground.classroom.lessons import LessonError, load_lessons
from keras_playground.specs import Limits

CLAIM = TypeAdapter(Claim)


def segmentation(dice=0.9, otsu=0.85, instance_f1=0.6, pixel_accuracy=0.95, background=0.78,
                 val_ious=(0.5, 0.7, 0.8), best_epoch=None):
    history = [{"epoch": i + 1, "loss": 0.3, "metric": 0.9, "val_loss": 0.3, "val_metric": 0.9,
                "extras": {"val_iou": v, "val_pixel_accuracy": 0.9, "background_accuracy": background}}
               for i, v in enumerate(val_ious)]
    done = {"state": "finished", "epochs": len(history), "metric_name": "dice", "parameters": 6617,
            "loss": 0.3, "metric": 0.9, "val_loss": 0.3, "val_metric": 0.9, "test_loss": 0.3, "test_metric": dice,
            "best_epoch": best_epoch, "dice": dice, "iou": dice / (2 - dice), "pixel_accuracy": pixel_accuracy,
            "background_accuracy": background, "instance_f1": instance_f1, "instances": 30, "true_instances": 33,
            "baselines": {"otsu": {"dice": otsu}}}
    return RunResult(done=done, history=history, start={"epoch": 0, "loss": 1.2, "metric": 0.3})


def restoration(psnr=28.0, ssim=0.8, gaussian=(25.0, 0.7), median=(24.0, 0.65), noisy=(20.0, 0.4)):
    history = [{"epoch": 1, "loss": 0.01, "metric": psnr, "val_loss": 0.01, "val_metric": psnr,
                "extras": {"val_ssim": ssim - 0.01}}]
    done = {"state": "finished", "epochs": 1, "metric_name": "psnr", "parameters": 6601, "psnr": psnr,
            "ssim": ssim, "baselines": {name: {"psnr": p, "ssim": s} for name, (p, s) in
                                        (("noisy", noisy), ("gaussian", gaussian), ("median", median))}}
    return RunResult(done=done, history=history)


def test_done_figures_are_claimed_against_a_number():
    claim = CLAIM.validate_python({"metric": "dice", "op": ">=", "value": 0.8})
    assert describe(claim) == "test Dice >= 0.800"
    assert evaluate(claim, segmentation(dice=0.91)).measured == "0.910"
    assert evaluate(claim, segmentation(dice=0.91)).holds
    assert not evaluate(claim, segmentation(dice=0.75)).holds
    background = CLAIM.validate_python({"metric": "background_accuracy", "op": ">=", "value": 0.7})
    assert evaluate(background, segmentation(background=0.78)).holds
    assert describe(background) == 'test pixel accuracy of "all background" >= 0.700'
    # A figure the run does not have (a classifier's run has no Dice) does not hold.
    classifier = RunResult(done={"state": "finished", "epochs": 3, "test_metric": 0.9}, history=[])
    outcome = evaluate(claim, classifier)
    assert not outcome.holds and outcome.measured == "none"


def test_a_figure_against_another_figure_of_the_same_step_is_a_claim_against_a_step_or_baseline():
    """pixel_accuracy > background_accuracy compares two figures of one run: with `step` it
    is the other step's; the baseline form compares with a classical method's."""
    psnr = CLAIM.validate_python({"metric": "psnr", "op": ">", "baseline": "gaussian"})
    assert describe(psnr) == "test PSNR (dB) > the Gaussian filter's"
    outcome = evaluate(psnr, restoration(psnr=28.0, gaussian=(25.5, 0.7)))
    assert outcome.holds and outcome.measured == "28 (gaussian: 25.500)"
    assert not evaluate(psnr, restoration(psnr=25.0, gaussian=(25.5, 0.7))).holds
    ssim = CLAIM.validate_python({"metric": "ssim", "op": ">=", "baseline": "median", "by": 0.05})
    assert describe(ssim) == "test SSIM >= the median filter's + 0.050"
    held = evaluate(ssim, restoration(ssim=0.8, median=(24.0, 0.7)))
    assert held.holds and held.measured == "0.800 (median: 0.700; difference +0.100)"
    assert not evaluate(ssim, restoration(ssim=0.8, median=(24.0, 0.78))).holds  # higher, by less than 0.05
    otsu = CLAIM.validate_python({"metric": "dice", "op": ">", "baseline": "otsu"})
    assert describe(otsu, "Dice") == "test Dice > Otsu's threshold's"
    assert evaluate(otsu, segmentation(dice=0.9, otsu=0.85)).holds
    assert not evaluate(otsu, segmentation(dice=0.8, otsu=0.85)).holds
    no_baselines = segmentation()
    del no_baselines.done["baselines"]
    assert not evaluate(otsu, no_baselines).holds


def test_microscopy_figures_compare_with_another_step():
    claim = CLAIM.validate_python({"metric": "instance_f1", "op": ">=", "step": 1, "by": 0.1})
    assert describe(claim) == "test instance F1 (IoU 0.5) >= step 1's + 0.100"
    foreground = {1: segmentation(instance_f1=0.45)}
    assert evaluate(claim, segmentation(instance_f1=0.7), foreground).holds
    assert not evaluate(claim, segmentation(instance_f1=0.5), foreground).holds
    ssim = CLAIM.validate_python({"metric": "ssim", "op": "<=", "step": 1, "by": -0.2})
    assert evaluate(ssim, restoration(ssim=0.5), {1: restoration(ssim=0.8)}).holds
    assert not evaluate(ssim, restoration(ssim=0.7), {1: restoration(ssim=0.8)}).holds


def test_epoch_extras_are_read_at_the_end_or_at_an_epoch():
    run = segmentation(val_ious=(0.5, 0.7, 0.8))
    assert measure(run, "val_iou") == 0.8
    assert measure(run, "val_iou", 1) == 0.5
    assert measure(run, "val_iou", 0) is None  # the untrained network has no extras
    assert measure(segmentation(val_ious=(0.5, 0.7, 0.8), best_epoch=2), "val_iou") == 0.7  # the kept epoch
    assert measure(run, "val_ssim") is None
    claim = CLAIM.validate_python({"metric": "val_iou", "epoch": 1, "op": "<", "value": 0.6})
    assert describe(claim) == "validation IoU at epoch 1 < 0.600"
    assert evaluate(claim, run).holds
    assert evaluate(CLAIM.validate_python({"metric": "val_ssim", "op": ">", "value": 0.7}), restoration()).holds


@pytest.mark.parametrize("claim, message", [
    ({"metric": "psnr", "op": ">", "baseline": "wiener"}, r"claims\[0\]\.baseline: Input should be"),
    ({"metric": "dice", "op": ">", "baseline": "gaussian"}, r"claims\[0\]: .*the gaussian baseline has psnr and ssim, not dice"),
    ({"metric": "psnr", "op": ">", "baseline": "otsu"}, r"claims\[0\]: .*the otsu baseline has dice, not psnr"),
    ({"metric": "psnr", "op": ">", "baseline": "median", "step": 1}, r"claims\[0\]: .*exactly one of value"),
    ({"metric": "psnr", "op": ">", "value": 20, "by": 1}, r"claims\[0\]: .*by \(a margin\) applies"),
    ({"metric": "dice", "op": ">", "value": 0.5, "epoch": 3}, r"claims\[0\]: .*epoch applies"),
    ({"metric": "val_dice", "op": ">", "value": 0.5}, r"claims\[0\]\.metric: Input should be"),
])
def test_a_bad_microscopy_claim_stops_the_load(tmp_path, claim, message):
    lesson = load_lessons(Limits())[0].model_dump(mode="json", by_alias=True)
    lesson.update(id="99-mine")
    lesson["steps"][1]["claims"] = [claim]
    (tmp_path / "99-mine.json").write_text(json.dumps(lesson))
    with pytest.raises(LessonError, match="^99-mine.json, step 2 " + message):
        load_lessons(Limits(), tmp_path)


def test_the_check_names_dice_and_psnr_in_its_table(tmp_path):
    lesson = {"id": "99-scope", "title": "t", "summary": "s", "steps": [
        {"title": "seg", "text": "t", "try": "t", "watch": "w",
         "settings": {"dataset": {"name": "nuclei", "n_train": 8, "n_val": 4, "n_test": 4},
                      "unet": {"depth": 1, "base_filters": 4, "output": "foreground", "patch": 32},
                      "training": {"epochs": 2, "batch_size": 4, "loss": "bce_dice"}},
         "claims": [{"metric": "val_metric", "op": ">=", "value": 0.5},
                    {"metric": "dice", "op": ">", "baseline": "otsu"}]}]}
    (tmp_path / "99-scope.json").write_text(json.dumps(lesson))
    mine = [l for l in load_lessons(Limits(), tmp_path) if l.id == "99-scope"]
    report = check_lessons(mine, seeds=2, train=lambda settings: segmentation(dice=0.9, otsu=0.88))
    assert [(r.claim, r.measured, r.holds) for r in report.rows] == [
        ("validation Dice >= 0.500", ["0.900", "0.900"], True),
        ("test Dice > Otsu's threshold's", ["0.900 (otsu: 0.880)"] * 2, True)]


def test_a_figure_against_another_figure_of_the_same_run():
    claim = CLAIM.validate_python({"metric": "pixel_accuracy", "op": ">", "than": "background_accuracy"})
    assert describe(claim) == 'test pixel accuracy > the test pixel accuracy of "all background"'
    outcome = evaluate(claim, segmentation(pixel_accuracy=0.95, background=0.78))
    assert outcome.holds and outcome.measured == "0.950 (background_accuracy: 0.780)"
    assert not evaluate(claim, segmentation(pixel_accuracy=0.75, background=0.78)).holds
    margin = CLAIM.validate_python({"metric": "dice", "op": ">=", "than": "pixel_accuracy", "by": -0.1})
    assert evaluate(margin, segmentation(dice=0.9, pixel_accuracy=0.95)).holds
    assert not evaluate(margin, segmentation(dice=0.8, pixel_accuracy=0.95)).holds
    with pytest.raises(ValueError, match="exactly one of value"):
        CLAIM.validate_python({"metric": "dice", "op": ">", "than": "iou", "value": 0.5})
