"""A participant on the microscopy data sets (issue 16): `nuclei` brings the U-Net's settings
and its parameter count; a short run draws the probability map frame by frame and the Dice
chart epoch by epoch; the threshold slider redraws the mask at once; an image of one's own
(a PNG made here) comes back with a mask. Then `nuclei-denoise`: a run's PSNR and SSIM beside
the noisy image's and two filters'. Points and image classification come back unchanged."""

import base64
import io
import json
import re

import numpy as np
import pytest
from keras_playground.data.microscopy import nuclei
from PIL import Image
from playwright.sync_api import expect

from .conftest import set_field, wait_for_state

# Every microscopy frame the page draws: the probability map's canvas, as pixels.
RECORD_FRAMES = """() => {
  const images = window.playground.images;
  const show = images.showFrame;
  window.shots = [];
  images.showFrame = (frame) => {
    show(frame);
    const canvas = document.querySelector("[data-testid=probability] canvas");
    window.shots.push({ epoch: frame.epoch, probability: canvas ? canvas.toDataURL() : null });
  };
}"""
PIXELS = "id => document.querySelector(`[data-testid=${id}] canvas`).toDataURL()"
CHART_POINTS = "id => (document.querySelector(`[data-testid=${id}]`).data ?? []).map((t) => t.y.filter((v) => v !== null).length)"


def own_png(path):
    """A PNG of a few bright nuclei on a dark ground, as a microscope's 8-bit export."""
    image = nuclei(1, np.random.default_rng(5), 0.02, size=64).images[0, ..., 0]
    Image.fromarray(np.round(np.clip(image / image.max(), 0, 1) * 255).astype(np.uint8)).save(path)
    return path


def spec_of(page):
    return page.evaluate("window.playground.page.spec")


def test_segmentation_then_restoration(open_page, tmp_path):
    page = open_page("/")
    page.get_by_test_id("dataset").locator("[data-dataset=nuclei]").click()
    expect(page.locator("body")).to_have_class(re.compile(r"\bscope\b"))

    # The suggested U-Net, in the URL state; its controls, blocks and parameter count.
    spec = spec_of(page)
    assert spec["unet"]["output"] == "foreground" and spec["layers"] == []
    assert spec["training"]["loss"] == "bce_dice"
    unet = page.get_by_test_id("unet")
    expect(unet).to_be_visible()
    expect(page.get_by_test_id("network")).to_be_hidden()
    expect(unet.locator("[data-field='unet.depth']")).to_have_value("2")
    expect(unet.locator("[data-field='unet.base_filters']")).to_have_value("8")
    expect(page.get_by_test_id("unet-total")).to_have_text(re.compile(r"^\d{1,3}(,\d{3})*$"))
    total = page.get_by_test_id("unet-total").text_content().replace(",", "")
    expect(page.get_by_test_id("parameters")).to_have_text(total)
    expect(page.get_by_test_id("unet-block")).to_have_count(7)  # input, 2 down, bottom, 2 up, output
    assert page.evaluate("[...document.querySelectorAll('#loss option')].map(o => o.value)") == [
        "", "bce_dice", "binary_crossentropy", "dice"]
    expect(page.get_by_test_id("scope-train").locator("canvas")).to_have_count(24)  # 12 images, 12 truths
    encoded = re.search(r"[?&]s=([^&]+)", page.url).group(1)
    linked = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    assert linked["spec"]["unet"]["depth"] == 2

    # Three classes: categorical cross-entropy only; a patch that cannot pool is named in words.
    unet.locator("[data-field='unet.output']").select_option("three_class")
    assert spec_of(page)["training"]["loss"] == "categorical_crossentropy"
    assert page.evaluate("[...document.querySelectorAll('#loss option')].map(o => o.value)") == [
        "", "categorical_crossentropy"]
    set_field(page, "[data-field='unet.patch']", 62)
    expect(unet.locator("[data-error-for='unet.patch']")).to_contain_text("not a multiple of 2^depth")
    set_field(page, "[data-field='unet.patch']", 64)
    expect(unet.locator("[data-error-for='unet.patch']")).to_be_empty()
    unet.locator("[data-field='unet.output']").select_option("foreground")
    assert spec_of(page)["training"]["loss"] == "bce_dice"

    # A short run: the probability map changes frame by frame, the Dice chart gets its points.
    for field, value in (("#n-train", 16), ("#epochs", 12)):
        set_field(page, field, value)
    page.evaluate(RECORD_FRAMES)
    page.get_by_test_id("train").click()
    wait_for_state(page, "finished")
    shots = page.evaluate("window.shots")
    assert len(shots) >= 2, shots
    assert shots[0]["epoch"] < shots[-1]["epoch"]
    assert shots[0]["probability"] and shots[0]["probability"] != shots[-1]["probability"]
    assert page.evaluate(CHART_POINTS, "dice-chart") == [12, 12, 12, 12]  # Dice, IoU, pixel accuracy, all background
    expect(page.get_by_test_id("segmentation")).to_contain_text("Pixel accuracy misleads")
    scores = page.get_by_test_id("scores")
    for words in ("Dice", "IoU", "pixel accuracy", "all background", "nuclei found", "instance F1", "Otsu"):
        expect(scores).to_contain_text(words)
    dice = float(scores.locator("tr.mine td").nth(1).text_content())
    assert dice > 0.6, dice  # the lesson: a U-Net finds the nuclei

    # The threshold redraws the mask at once.
    before = page.evaluate(PIXELS, "mask")
    page.get_by_test_id("threshold").fill("0.9")
    assert page.evaluate(PIXELS, "mask") != before
    expect(page.get_by_test_id("mask")).to_contain_text("above 0.90")

    # An image of one's own: a mask comes back; the threshold applies to it too; it downloads.
    page.get_by_test_id("apply-file").set_input_files(own_png(tmp_path / "mine.png"))
    expect(page.get_by_test_id("apply-mask").locator("canvas")).to_have_count(1)
    expect(page.get_by_test_id("apply-error")).to_be_empty()
    high = page.evaluate(PIXELS, "apply-mask")
    page.get_by_test_id("threshold").fill("0.2")
    assert page.evaluate(PIXELS, "apply-mask") != high
    with page.expect_download() as download:
        page.get_by_test_id("apply-download").click()
    saved = tmp_path / "mask.png"
    download.value.save_as(saved)
    mask = np.asarray(Image.open(saved).convert("L"))
    assert mask.shape == (64, 64) and set(np.unique(mask)) <= {0, 255} and mask.max() == 255

    # Not an image: the server's words.
    page.get_by_test_id("apply-file").set_input_files(
        {"name": "notes.png", "mimeType": "image/png", "buffer": b"not a png at all"})
    expect(page.get_by_test_id("apply-error")).to_contain_text("not a readable PNG")

    # Restoration: a short run's PSNR beside the noisy image's and the filters'.
    page.get_by_test_id("dataset").locator("[data-dataset=nuclei-denoise]").click()
    expect(page.get_by_test_id("restoration")).to_be_visible()
    expect(page.get_by_test_id("segmentation")).to_be_hidden()
    assert spec_of(page)["unet"]["output"] == "restored"
    expect(page.get_by_test_id("unet").locator("[data-field='unet.output']")).to_be_disabled()
    set_field(page, "#epochs", 15)
    page.get_by_test_id("train").click()
    wait_for_state(page, "finished")
    assert page.evaluate(CHART_POINTS, "psnr-chart") == [15, 15]
    for words in ("the network", "the noisy image", "Gaussian filter", "median filter", "PSNR", "SSIM"):
        expect(page.get_by_test_id("scores")).to_contain_text(words)
    expect(page.get_by_test_id("test-accuracy")).to_have_text(re.compile(r"^\d+\.\d\d dB$"))
    expect(page.get_by_test_id("restored").locator("canvas")).to_be_visible()
    expect(page.get_by_test_id("error-map")).to_contain_text("|restored − clean|")

    # Back to points, then to image classification: no U-Net left.
    page.get_by_test_id("dataset").locator("[data-dataset=circle]").click()
    expect(page.locator("body")).not_to_have_class(re.compile(r"\b(scope|images)\b"))
    assert "unet" not in spec_of(page)
    page.get_by_test_id("dataset").locator("[data-dataset=digits]").click()
    expect(page.get_by_test_id("network").get_by_test_id("layer-row")).to_have_count(6)
    assert "unet" not in spec_of(page) and spec_of(page)["training"]["loss"] is None


def test_links_with_a_unet_are_checked(open_page):
    """A link's U-Net is coerced within the catalog's limits; an output that does not fit the
    kind takes the data set's own; a U-Net on points is dropped; an old link without one works."""
    def link(spec):
        text = json.dumps({"spec": spec, "view": {}})
        return "/?s=" + base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    page = open_page(link({"dataset": {"name": "nuclei"}, "layers": [{"units": 3}],
                           "unet": {"depth": 9, "base_filters": "many", "output": "restored", "patch": 64,
                                    "dropout": 0.5, "extra": 1},
                           "training": {"loss": "mse"}}))
    unet = spec_of(page)["unet"]
    assert unet == {"depth": 4, "base_filters": 8, "batchnorm": True, "dropout": 0.5, "output": "foreground", "patch": 64}
    assert spec_of(page)["layers"] == [] and spec_of(page)["training"]["loss"] == "bce_dice"
    expect(page.locator("#general-error")).to_contain_text("did not all fit")

    page = open_page(link({"dataset": {"name": "nuclei-denoise"}}))  # no unet: the suggested one
    assert spec_of(page)["unet"]["output"] == "restored"
    expect(page.get_by_test_id("unet-total")).to_have_text(re.compile(r"^\d{1,3}(,\d{3})*$"))

    page = open_page(link({"dataset": {"name": "circle"}, "unet": {"depth": 2}}))
    assert "unet" not in spec_of(page)
    expect(page.locator("#general-error")).to_contain_text("unet")


@pytest.mark.slow
def test_denoising_beats_the_gaussian_filter(open_page):
    """The suggested run (60 epochs on 48 images, about half a minute): the U-Net's PSNR on the
    test images is above what a Gaussian filter makes of them."""
    page = open_page("/")
    page.get_by_test_id("dataset").locator("[data-dataset=nuclei-denoise]").click()
    expect(page.get_by_test_id("unet-total")).to_have_text(re.compile(r"^\d"))
    page.get_by_test_id("train").click()
    wait_for_state(page, "finished")
    rows = page.get_by_test_id("scores").locator("tbody tr")
    psnr = {rows.nth(i).locator("td").nth(0).text_content(): float(rows.nth(i).locator("td").nth(1).text_content())
            for i in range(4)}
    assert psnr["the network"] > psnr["Gaussian filter"] > psnr["the noisy image"], psnr


def test_the_microscopy_lessons_first_steps_train_on_the_page(open_page):
    """Lesson 12's first step (its link loads its U-Net): Dice at least 0.8, above Otsu's; lesson
    15's first step: the network's PSNR above the Gaussian and median filters'."""
    page = open_page("/?lesson=12-dice-not-accuracy&step=1")
    expect(page.get_by_test_id("lesson")).to_be_visible()
    expect(page.locator("body")).to_have_class(re.compile(r"\bscope\b"))
    assert spec_of(page)["unet"]["output"] == "foreground"
    page.get_by_test_id("train").click()
    wait_for_state(page, "finished")
    assert page.evaluate(CHART_POINTS, "dice-chart")[0] == spec_of(page)["training"]["epochs"]
    scores = page.get_by_test_id("scores")
    dice = float(scores.locator("tr.mine td").nth(1).text_content())
    expect(scores).to_contain_text("Otsu")
    assert dice >= 0.8, dice

    page = open_page("/?lesson=15-denoising&step=1")
    expect(page.get_by_test_id("restoration")).to_be_visible()
    page.get_by_test_id("train").click()
    wait_for_state(page, "finished")
    rows = page.get_by_test_id("scores").locator("tbody tr")
    psnr = {rows.nth(i).locator("td").nth(0).text_content(): float(rows.nth(i).locator("td").nth(1).text_content())
            for i in range(4)}
    assert psnr["the network"] > psnr["Gaussian filter"] and psnr["the network"] > psnr["median filter"], psnr
