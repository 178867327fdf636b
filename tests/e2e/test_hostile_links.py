"""Links and streams written by someone else: script in any field of a share link never
runs, the page shows the defaults with a warning and still trains; the Content-Security-
Policy holds on every page; a stream the server says is gone is explained in words."""

import base64
import json
import re
from urllib.parse import quote

from playwright.sync_api import expect

from .conftest import WAIT_MS, epoch, set_field, wait_for_state

PAYLOADS = [
    '<img src=x onerror="window.__pwned=1">',
    '"><script>window.__pwned=1</script>',
    "<svg onload=window.__pwned=1></svg>' onmouseover='window.__pwned=1",
]
UNTOUCHED = """() => window.__pwned === undefined
  && document.querySelectorAll('img, svg script, body script:not([src])').length === 0
  && [...document.querySelectorAll('*')].every(e => ![...e.attributes].some(a => a.name.startsWith('on')))"""


def link(spec, view, **params) -> str:
    encoded = base64.urlsafe_b64encode(json.dumps({"spec": spec, "view": view}).encode()).decode().rstrip("=")
    extra = "".join(f"&{k}={v}" for k, v in params.items())
    return f"/?s={encoded}{extra}"


def hostile_spec(p):
    """`p` in every string and number field of a spec (and as a key where keys are names)."""
    return {
        "dataset": {"name": p, "n_train": p, "n_val": p, "n_test": p, "noise": p, "seed": p,
                    "params": {"a": p, p: 1}, "points": [[p, p, p]]},
        "features": [p, "x1"],
        "layers": [{"units": p, "activation": p, "dropout": p}, {"units": 3, "activation": p, p: p}],
        "training": {"optimizer": p, "learning_rate": p, "momentum": p, "loss": p, "batch_size": p, "epochs": p,
                     "seed": p, "shuffle": p, "regularization": p, "regularization_rate": p,
                     "early_stopping_patience": p, "frame_every": p, p: p},
        p: p,
    }


def hostile_view(p):
    return {"showVal": p, "showTest": p, "discretize": p, "logScale": p, "trueBoundary": p, p: p}


def settle(page):
    """Wait until the page has shown the link: the data drawn and the code previewed (or refused)."""
    page.wait_for_function("() => document.getElementById('code-note').textContent !== ''")
    page.wait_for_function("() => window.playground.boundary.data !== null")


def assert_trains(page, epochs=4):
    set_field(page, "#epochs", epochs)
    page.get_by_test_id("train").click()
    wait_for_state(page, "finished")
    assert epoch(page) == epochs
    # Plotly draws under the CSP (it redraws at most 5 times a second: wait for it)
    page.wait_for_function("() => document.querySelectorAll('[data-testid=loss-chart] path.js-line').length >= 1")


def test_script_in_any_field_of_a_link_never_runs_and_the_page_still_trains(open_page):
    for n, payload in enumerate(PAYLOADS):
        # The other parameters of the address too: they select, never show, what they name.
        params = {"hide": quote(payload), "exercise": quote(payload)} if n == 1 else {}
        spec = hostile_spec(payload)
        if n == 2:  # a drawn data set: its points are read from the link too
            spec["dataset"].update(name="custom", points=[[payload, 0, 1], [0.1, 0.2, 1], [0, 0, payload], payload])
        page = open_page(link(spec, hostile_view(payload), **params))
        settle(page)
        assert page.evaluate(UNTOUCHED)
        warning = page.locator("#general-error")
        expect(warning).to_be_visible()
        expect(warning).to_contain_text("The link's settings did not all fit")
        assert payload not in warning.text_content()  # named by field, never echoed
        spec = page.evaluate("window.playground.page.spec")
        if n == 2:
            assert spec["dataset"]["name"] == "custom" and spec["dataset"]["points"] == [[0.1, 0.2, 1]]
        else:
            assert spec["dataset"]["name"] == "parabola"
        assert spec["features"] == ["x1"]
        assert spec["layers"] == [{"units": 4, "activation": "relu", "dropout": 0}, {"units": 3, "activation": "relu"}]
        assert spec["training"]["optimizer"] == "adam" and spec["training"]["epochs"] == 200
        view = page.evaluate("window.playground.page.view")
        assert view == {"showVal": False, "showTest": False, "discretize": False, "logScale": False,
                        "trueBoundary": True}  # each switch back to its default
        if n < 2:  # (the drawn set kept one point: too few to train)
            page.locator(".neuron").first.hover()  # tooltips and hover captions are text too
            assert_trains(page)
            assert page.evaluate(UNTOUCHED)
        page.context.close()


def test_numbers_out_of_range_are_brought_within_the_limits(open_page):
    spec = {"dataset": {"name": "line", "n_train": "60", "n_val": -5, "params": {"a": 99, "b": 0.2}},
            "layers": [{"units": 1000, "activation": "tanh"}, {"units": 3, "activation": "sigmoid", "dropout": 0.1}],
            "training": {"epochs": 10**9, "batch_size": 10**6, "learning_rate": 1e9, "optimizer": "sgd"}}
    page = open_page(link(spec, {"logScale": True}))
    settle(page)
    spec = page.evaluate("window.playground.page.spec")
    assert spec["dataset"]["n_train"] == 60 and spec["dataset"]["n_val"] == 0
    assert spec["dataset"]["params"] == {"a": 5, "b": 0.2}  # the data set's own range; what fits is kept
    assert spec["layers"] == [{"units": 64, "activation": "tanh"}, {"units": 3, "activation": "sigmoid", "dropout": 0.1}]
    assert spec["training"]["batch_size"] == 60 and spec["training"]["learning_rate"] == 10
    assert page.evaluate("window.playground.page.view.logScale") is True
    expect(page.locator("#general-error")).to_contain_text("layers[0].units was outside [1, 64]")


def test_every_page_loads_under_the_policy_and_the_policy_blocks_inline_script(browser, server):
    context = browser.new_context()
    try:
        page = context.new_page()
        violations = []
        page.on("console", lambda m: m.type == "error" and violations.append(m.text))
        page.on("pageerror", lambda error: violations.append(str(error)))
        for path in ["/join.html", "/instructor.html", "/presenter.html?room=ZZZZZZ", "/?exercise=ex1"]:
            response = page.goto(server.url + path)
            assert "script-src 'self'" in response.headers["content-security-policy"], path
            page.wait_for_selector("body[data-ready=true]", timeout=WAIT_MS)
            assert violations == [], path  # the pages, Plotly included, need nothing the policy forbids
        assert_trains(page, epochs=3)
        assert violations == []
        ran = page.evaluate("""() => {
            const s = document.createElement('script');
            s.textContent = 'window.__inline = 1';
            document.body.append(s);
            const div = document.createElement('div');
            div.setAttribute('onclick', 'window.__inline = 2');
            document.body.append(div);
            div.click();
            return window.__inline;
        }""")
        assert ran is None
        assert any("Content Security Policy" in v for v in violations)
    finally:
        context.close()


# ----- streams the server says are gone (4404) or refused (4403)

def close_streams(page, pattern, codes):
    """Mock the page's WebSockets matching `pattern`: each is closed at once with codes[0]."""
    page.route_web_socket(re.compile(pattern), lambda ws: ws.close(code=codes[0], reason="test"))


def test_a_run_that_no_longer_exists_is_said_in_words(open_page):
    page = open_page("/?exercise=ex1")
    close_streams(page, r".*/api/runs/.*/stream.*", [4404])
    page.get_by_test_id("train").click()
    expect(page.locator("#general-error")).to_contain_text("This run no longer exists on the server")
    expect(page.get_by_test_id("train")).to_be_enabled()  # the page does not wait for it forever


def test_a_refused_room_stream_is_said_in_words(open_page):
    page = open_page("/join.html")
    page.evaluate("""() => localStorage.setItem('keras-playground-room-ABCDEF',
        JSON.stringify({role: 'participant', token: 'x', name: 'Ann'}))""")
    codes = [4403]
    close_streams(page, r".*/api/rooms/.*/stream", codes)
    page.goto(page.url.replace("/join.html", "/?room=ABCDEF"))
    expect(page.locator("#room-status")).to_have_text("This page's address is not allowed to connect to the server.")
    codes[0] = 4404
    page.goto(page.url.replace("/?room=ABCDEF", "/presenter.html?room=ABCDEF"))
    expect(page.locator("#p-error")).to_have_text("This room does not exist or was closed.")


def test_the_demo_screen_of_an_unknown_room_says_so(open_page):
    """Against the real server: it accepts the stream of an unknown room and closes it with 4404."""
    page = open_page("/presenter.html?room=ZZZZZZ")
    expect(page.locator("#p-error")).to_have_text("This room does not exist or was closed.")


def test_what_the_server_says_about_a_run_is_shown_as_text(open_page):
    """A run's events as a hostile or broken server could send them: numbers that are not
    numbers, a frame that does not fit, a `done` whose message holds markup."""
    message = 'Stopped: paused for longer than 10 minutes. <img src=x onerror="window.__pwned=1">'
    p = PAYLOADS[0]
    events = [{"kind": "status", "state": "running", "seq": 1},
              {"kind": "epoch", "epoch": 1, "loss": p, "metric": 0.5, "val_metric": p, "learning_rate": p,
               "seconds": 0.01, "seq": 2},
              {"kind": "frame", "epoch": 1, "resolution": p, "boundary": p, "seq": 3},
              {"kind": "done", "state": "stopped", "epochs": 1, "loss": p, "metric": p, "val_loss": None,
               "val_metric": None, "test_loss": None, "test_metric": p, "metric_name": p, "confusion_matrix": p,
               "parameters": p, "message": message, "seq": 4}]
    page = open_page("/?exercise=ex1")

    def replay(ws):
        ws.send(json.dumps(events))
        ws.close(code=1000)

    page.route_web_socket(re.compile(r".*/api/runs/.*/stream.*"), replay)
    page.get_by_test_id("train").click()
    wait_for_state(page, "stopped")
    expect(page.locator("#diverged")).to_have_text(message)  # the run's own words, as typed
    assert epoch(page) == 1 and page.get_by_test_id("train-accuracy").text_content() == "50.0 %"
    assert page.evaluate(UNTOUCHED)
