"""A participant on an image data set (issue 15): the layer stack with its shapes, a layer
that cannot work named on its row, a small CNN trained with its filters, feature maps,
gallery, probe and confusion matrix shown, and the points page back after it."""

import re

from playwright.sync_api import expect

from .conftest import set_field, wait_for_state

IMAGE_MODE = re.compile(r"\bimages\b")
# Every image frame the page draws: the filters' and the feature maps' first canvas, as pixels.
RECORD_FRAMES = """() => {
  const images = window.playground.images;
  const show = images.showFrame;
  window.shots = [];
  images.showFrame = (frame) => {
    show(frame);
    const pixels = (id) => document.querySelector(`[data-testid=${id}] canvas`)?.toDataURL() ?? null;
    window.shots.push({ epoch: frame.epoch, filters: pixels("filters"), maps: pixels("feature-maps") });
  };
}"""


def rows(page):
    return page.get_by_test_id("network").get_by_test_id("layer-row")


def test_a_small_cnn_on_the_digits(open_page):
    page = open_page("/")
    page.get_by_test_id("dataset").locator("[data-dataset=digits]").click()
    expect(page.locator("body")).to_have_class(IMAGE_MODE)

    # The suggested stack, each row with its output shape and parameters, and the total.
    expect(rows(page)).to_have_count(6)
    expect(rows(page).nth(0).locator(".layer-shape")).to_have_text("16×16×16")  # padding "same"
    expect(rows(page).nth(0).locator(".layer-params")).to_have_text("160 parameters")  # 3·3·1·16 + 16
    expect(rows(page).nth(4).locator(".layer-shape")).not_to_be_empty()
    expect(page.get_by_test_id("total-parameters")).to_have_text(re.compile(r"^\d{1,3}(,\d{3})*$"))
    total = page.get_by_test_id("total-parameters").text_content().replace(",", "")
    expect(page.get_by_test_id("parameters")).to_have_text(total)  # under the figures too
    expect(page.get_by_test_id("train-images").locator("canvas")).to_have_count(48)

    # Add a layer, then remove the flatten: the dense layer now follows a pooled image, and
    # the row that cannot work says why; the others say nothing.
    page.get_by_test_id("new-layer-type").select_option("dropout")
    page.get_by_test_id("add-layer").click()
    expect(rows(page)).to_have_count(7)
    expect(rows(page).nth(6)).to_have_attribute("data-type", "dropout")
    page.get_by_role("button", name="Remove layer 5").click()  # the flatten
    expect(rows(page)).to_have_count(6)
    expect(rows(page).nth(4)).to_have_attribute("data-type", "dense")
    expect(rows(page).nth(4).locator(".layer-problem")).to_contain_text("a dense layer takes a flat input")
    for i in (0, 1, 2, 3):
        expect(rows(page).nth(i).locator(".layer-problem")).to_be_empty()
    # Put a flatten back where it was: the problem goes.
    page.get_by_test_id("new-layer-type").select_option("flatten")
    page.get_by_test_id("add-layer").click()
    page.get_by_role("button", name="Move layer 7 up").click()
    page.get_by_role("button", name="Move layer 6 up").click()
    expect(rows(page).nth(4)).to_have_attribute("data-type", "flatten")
    expect(page.get_by_test_id("network").locator(".layer-problem:not(:empty)")).to_have_count(0)

    # A small, quick run.
    for field, value in (("#n-train", 300), ("#n-val", 100), ("#n-test", 100), ("#epochs", 4)):
        set_field(page, field, value)
    page.evaluate(RECORD_FRAMES)
    page.get_by_test_id("train").click()
    wait_for_state(page, "finished")
    shots = page.evaluate("window.shots")
    assert len(shots) >= 2, shots
    first, last = shots[0], shots[-1]
    assert first["epoch"] < last["epoch"]
    assert first["filters"] and first["filters"] != last["filters"]  # the filters learnt
    assert first["maps"] and first["maps"] != last["maps"]  # and so the probe's maps changed
    expect(page.get_by_test_id("filters").locator("canvas")).to_have_count(2)  # one per conv2d layer
    expect(page.get_by_test_id("feature-maps")).to_contain_text("conv2d 16×16, 16 of 16 maps")

    # The gallery: the misclassified first, each saying what it was taken for.
    gallery = page.get_by_test_id("gallery").locator(".gallery-item")
    expect(gallery).to_have_count(100)
    wrong = page.evaluate("""() => [...document.querySelectorAll('[data-testid=gallery] .gallery-item')]
        .map((item) => item.classList.contains('wrong'))""")
    assert 0 < sum(wrong) and wrong == sorted(wrong, reverse=True)
    expect(gallery.first).to_contain_text("predicted")
    expect(page.locator("#gallery-summary")).to_contain_text(f"{sum(wrong)} of 100 misclassified")

    # The confusion matrix, with each class's accuracy.
    confusion = page.get_by_test_id("confusion")
    expect(confusion.locator("tbody tr")).to_have_count(10)
    expect(confusion).to_contain_text("accuracy")

    # A gallery image clicked becomes the probe: the run's answer for it, at once.
    picked = gallery.last
    index = picked.get_attribute("data-index")
    picked.click()
    probe = page.get_by_test_id("probe")
    expect(probe).to_contain_text(f"test image {index}, now the probe")
    expect(probe.get_by_test_id("probabilities").locator(".bar-row")).to_have_count(10)

    # Back to points: the network diagram, as before.
    page.get_by_test_id("dataset").locator("[data-dataset=circle]").click()
    expect(page.locator("body")).not_to_have_class(IMAGE_MODE)
    expect(page.locator(".net-column.input")).to_have_count(1)
    assert page.evaluate("window.playground.page.spec.layers.every((l) => !l.type || l.type === 'dense')")
    assert page.evaluate("window.playground.page.spec.training.augment") is None
