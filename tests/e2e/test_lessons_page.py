"""The lessons on the plain page, with no room: a link opens a step; previous, next, load."""

import base64
import json
import re
import urllib.request

from playwright.sync_api import expect


def lesson(server, lesson_id):
    with urllib.request.urlopen(f"{server.url}/api/lessons/{lesson_id}") as answer:
        return json.load(answer)


def test_a_lesson_link_opens_its_step_on_the_plain_page(open_page, server):
    steps = lesson(server, "05-overfitting")["steps"]
    page = open_page("/?lesson=05-overfitting&step=1")
    panel = page.get_by_test_id("lesson")
    expect(panel).to_be_visible()
    expect(page.get_by_test_id("room-bar")).to_be_hidden()  # no room, and still the lesson
    expect(page.locator("#lesson-step-title")).to_have_text(steps[0]["title"])
    expect(page.locator("#lesson-step-number")).to_have_text(f"step 1 of {len(steps)}")
    expect(page.locator("#lesson-select")).to_have_value("05-overfitting")
    expect(page.get_by_role("button", name="Previous step")).to_be_disabled()

    page.get_by_role("button", name="Next step").click()
    expect(page.locator("#lesson-step-title")).to_have_text(steps[1]["title"])
    expect(page.locator("#lesson-step-number")).to_have_text(f"step 2 of {len(steps)}")
    assert "lesson=05-overfitting" in page.url and "step=2" in page.url  # the address keeps the step
    page.get_by_role("button", name="Previous step").click()
    expect(page.locator("#lesson-step-title")).to_have_text(steps[0]["title"])
    assert "step=1" in page.url

    # Load the step's settings: the form shows them.
    settings = steps[0]["settings"]
    page.get_by_test_id("lesson-load").click()
    expect(page.locator("#n-train")).to_have_value(str(settings["dataset"]["n_train"]))
    expect(page.locator("#noise")).to_have_value(str(settings["dataset"]["noise"]))
    expect(page.locator("#epochs")).to_have_value(str(settings["training"]["epochs"]))
    assert page.locator(".net-column.hidden").count() == len(settings["layers"])
    assert "lesson=05-overfitting" in page.url  # loading settings keeps the lesson in the address

    # Another step by its link: it opens with that step's settings; then another lesson from the picker.
    page = open_page("/?lesson=05-overfitting&step=3")
    expect(page.locator("#lesson-step-title")).to_have_text(steps[2]["title"])
    expect(page.locator("#n-train")).to_have_value(str(steps[2]["settings"]["dataset"]["n_train"]))
    expect(page.locator("#epochs")).to_have_value(str(steps[2]["settings"]["training"]["epochs"]))
    first = lesson(server, "01-single-neuron")
    page.locator("#lesson-select").select_option("01-single-neuron")
    expect(page.locator("#lesson-step-title")).to_have_text(first["steps"][0]["title"])
    assert "lesson=01-single-neuron" in page.url and "step=1" in page.url


def test_a_lesson_link_with_settings_of_its_own_keeps_them(open_page):
    own = {"spec": {"dataset": {"name": "line", "n_train": 77}}, "view": None}
    encoded = base64.urlsafe_b64encode(json.dumps(own).encode()).decode().rstrip("=")
    page = open_page(f"/?lesson=05-overfitting&step=3&s={encoded}")
    expect(page.locator("#lesson-step-number")).to_have_text(re.compile(r"step 3 of"))
    expect(page.locator("#n-train")).to_have_value("77")


def test_the_plain_page_shows_a_lesson_without_a_link(open_page):
    page = open_page("/")
    expect(page.get_by_test_id("lesson")).to_be_visible()
    assert page.locator("#lesson-step-title").text_content().strip() != ""
    expect(page.get_by_role("link", name="About the course")).to_have_attribute("href", "/course.html")


def test_early_stopping_says_which_epochs_weights_it_kept(open_page, server):
    """Lesson 05 step 2 stops early; the run keeps its best epoch's weights and says so."""
    page = open_page("/?lesson=05-overfitting&step=2")
    page.get_by_test_id("train").click()
    page.wait_for_function("() => document.getElementById('run-state').textContent.startsWith('stopped early')",
                           timeout=120_000)
    state = page.locator("#run-state").text_content()
    kept = int(re.search(r"kept the weights of epoch (\d+) \(lowest validation loss\)", state)[1])
    trained = int(page.get_by_test_id("epoch").text_content())
    assert 1 <= kept < trained
    done = page.evaluate("window.playground.page.run.done")
    assert done["best_epoch"] == kept
    val = page.get_by_test_id("val-accuracy").text_content()
    assert val == f"{done['val_metric'] * 100:.1f} %"  # the kept epoch's figure, as the test set's
