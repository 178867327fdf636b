"""A participant's browser: Debian's Chromium driven by Playwright, against a real server.

One server for the module's tests; a fresh browser context (its own storage, so its own
client id) for each test. A screenshot of every test's last view is saved in its pytest
temp dir (`pytest --basetemp=DIR` keeps them where you want them).
"""

import pytest
from keras_playground.bench.harness import CHROMIUM  # Debian's package; never a downloaded browser
from playwright.sync_api import sync_playwright

from ..real_server import Server
WAIT_MS = 90_000  # the longest any user-visible change may take


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    running = Server(tmp_path_factory.mktemp("data")).start()
    yield running
    running.stop()


@pytest.fixture(scope="module")  # Playwright's event loop must end before other tests use asyncio
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        yield browser
        browser.close()


@pytest.fixture
def open_page(browser, server, tmp_path):
    """open_page(path="/", width=1280, height=720) -> a ready page; errors in its console fail the test."""
    contexts, problems = [], []

    def open_(path="/", width=1280, height=720):
        context = browser.new_context(viewport={"width": width, "height": height})
        context.set_default_timeout(WAIT_MS)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
        page.on("console", lambda m: m.type == "error" and problems.append(f"console: {m.text}"))
        page.goto(server.url + path)
        page.wait_for_selector("body[data-ready=true]")
        return page

    open_.expected_statuses = {422}
    yield open_
    for i, context in enumerate(contexts):
        for j, page in enumerate(context.pages):
            page.screenshot(path=tmp_path / f"screen-{i}-{j}.png", full_page=True)
        context.close()
    # Refusals a test provokes on purpose (422 by default; a test may add, e.g. 423) show in
    # the console as failed loads.
    assert [p for p in problems if not any(f"status of {code}" in p for code in open_.expected_statuses)] == []


def wait_for_state(page, words):
    """Wait until the run's state line reads `words` (e.g. "finished", "paused")."""
    page.wait_for_function("w => document.getElementById('run-state').textContent.startsWith(w)", arg=words)


def epoch(page) -> int:
    return int(page.get_by_test_id("epoch").text_content())


def percent(page, test_id) -> float:
    """A shown accuracy, '93.5 %' -> 0.935."""
    return float(page.get_by_test_id(test_id).text_content().rstrip(" %")) / 100


def set_field(page, selector, value):
    """Type a value into a control and leave it, as a user does (it fires `change`)."""
    field = page.locator(selector)
    field.fill(str(value))
    field.press("Tab")
