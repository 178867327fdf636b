"""The demo screen on a projector: the shared run's points under its boundary with the true
boundary dashed, its figures in the units of its kind, its state in words, everything on
one screen at 1280x720 and 1920x1080; an image run's filters, feature maps, probe, test
images (the misclassified first) and confusion matrix instead of the plane; a participant
following an image run; and without a room, how to open one."""

import re

import httpx
import pytest
from playwright.sync_api import expect

LINE_RUN = {"dataset": {"name": "line", "n_train": 120, "n_val": 40, "n_test": 40, "seed": 3},
            "training": {"epochs": 12, "batch_size": 8}}
IMAGE_RUN = {"dataset": {"name": "digits", "n_train": 200, "n_val": 40, "n_test": 60, "params": {"canvas": 8}},
             "layers": [{"type": "conv2d", "filters": 6, "kernel_size": 3}, {"type": "maxpool2d", "pool_size": 2},
                        {"type": "flatten"}],
             "training": {"epochs": 4, "batch_size": 32}}
PLANE_RUN = {"dataset": {"name": "plane", "n_train": 80, "n_val": 20, "n_test": 20},
             "training": {"epochs": 5000}}


def shared_room(server, spec, crowded=False):
    """A room whose instructor shares a run of `spec` (over the HTTP API): (code, run).
    crowded: also a class of 14, a lesson step and a challenge, all on the screen at once."""
    room = httpx.post(f"{server.url}/api/rooms", json={"title": "Projector"}).raise_for_status().json()
    url, instructor = f"{server.url}/api/rooms/{room['code']}", {"Authorization": f"Bearer {room['instructor_token']}"}
    run = httpx.post(f"{server.url}/api/runs", json=spec).raise_for_status().json()
    lesson = None
    if crowded:
        for i in range(14):
            httpx.post(f"{url}/join", json={"name": f"Participant with a long name {i}"}).raise_for_status()
        httpx.post(f"{url}/challenge", headers=instructor, json={"dataset": spec["dataset"], "max_parameters": 200,
                                                                 "max_epochs": 300}).raise_for_status()
        lesson = {"id": "05-overfitting", "step": 1}
    httpx.post(f"{url}/follow", json={"run_id": run["id"], "lesson": lesson}, headers=instructor).raise_for_status()
    return room["code"], run


def points_seen(screen) -> dict:
    """The shared run's training points, and how many of them the plot shows in their class's colour."""
    return screen.evaluate("""() => {
        const { boundary, current } = window.presenter.run;
        const ctx = boundary.canvas.getContext("2d");
        const colours = [[0xE6, 0x9F, 0x00], [0x00, 0x72, 0xB2]];
        let seen = 0;
        for (const [x, y, label] of current.data.train) {
            const [px, py] = boundary.toPixel(x, y);
            const d = ctx.getImageData(Math.round(px), Math.round(py), 1, 1).data;
            const c = colours[label];
            if (Math.abs(d[0] - c[0]) + Math.abs(d[1] - c[1]) + Math.abs(d[2] - c[2]) < 40) seen++;
        }
        return { points: current.data.train.length, seen, lines: boundary.truthShown ? current.data.truth.length : 0 };
    }""")


def overflow(screen) -> list[str]:
    """What does not fit the window: the page's scrolling, and each main panel outside the viewport."""
    return screen.evaluate("""() => {
        const wrong = [];
        const page = document.scrollingElement;
        if (page.scrollHeight > innerHeight) wrong.push(`page height ${page.scrollHeight} > ${innerHeight}`);
        if (page.scrollWidth > innerWidth) wrong.push(`page width ${page.scrollWidth} > ${innerWidth}`);
        for (const el of document.querySelectorAll("header, .stage > section, #p-boundary, .plot, .big-figures, #p-class")) {
            const r = el.getBoundingClientRect();
            if (r.width === 0 || r.height === 0) { wrong.push(`${el.id || el.className} is not shown`); continue; }
            if (r.left < 0 || r.top < 0 || r.right > innerWidth + 0.5 || r.bottom > innerHeight + 0.5)
                wrong.push(`${el.id || el.className} at ${JSON.stringify(r)}`);
        }
        for (const plot of document.querySelectorAll(".plot")) {  // each curve within its box
            const svg = plot.querySelector(".main-svg");
            if (!svg) { wrong.push(`${plot.id} has no curves`); continue; }
            const [a, b] = [svg.getBoundingClientRect(), plot.getBoundingClientRect()];
            if (a.bottom > b.bottom + 1 || a.right > b.right + 1) wrong.push(`${plot.id}'s curves overflow it`);
        }
        return wrong;
    }""")


@pytest.mark.parametrize("width, height", [(1280, 720), (1920, 1080)])
def test_the_demo_screen_shows_the_shared_runs_points_and_fits_the_projector(open_page, server, width, height):
    code, run = shared_room(server, LINE_RUN, crowded=True)
    screen = open_page(f"/presenter.html?room={code}", width=width, height=height)
    screen.wait_for_function("() => document.getElementById('p-state').textContent === 'finished'")
    screen.locator(".tile").nth(13).wait_for()
    screen.get_by_test_id("leaderboard").wait_for()
    screen.locator("#p-lesson-text").wait_for()
    screen.wait_for_function("() => window.presenter.run.current.data && window.presenter.run.boundary.rendered > 0")
    screen.wait_for_timeout(300)  # the curves' last redraw (at most five a second)

    shown = points_seen(screen)
    assert shown["points"] == 120 and shown["seen"] >= 0.8 * 120, shown  # the dots, in their class colours
    assert shown["lines"] >= 1  # the line data set's true boundary, dashed
    assert "120 training points" in screen.locator("#p-data-note").text_content()
    assert "dashed" in screen.locator("#p-data-note").text_content()
    # Figures named by kind, with the test figure once the run has ended; the state in words.
    assert screen.locator("#p-val-label").text_content() == "validation accuracy"
    assert screen.get_by_test_id("presenter-val").text_content().endswith(" %")
    assert screen.locator("#p-test").text_content().endswith(" %") and screen.locator("#p-test-figure").is_visible()
    assert screen.get_by_test_id("presenter-epoch").text_content() == "12"
    # The curves start at epoch 0, the untrained network, as on the participants' pages
    # (drawn after a timeout and an animation frame: waited for).
    screen.wait_for_function("() => (document.getElementById('p-loss').data || [])[0]?.x.length >= 2")
    assert screen.evaluate("() => document.getElementById('p-loss').data[0].x.slice(0, 2)") == [0, 1]
    assert overflow(screen) == []
    # Large type for the back row: the join code and the figures.
    sizes = screen.evaluate("""() => ['p-code', 'p-val'].map(id =>
        parseFloat(getComputedStyle(document.getElementById(id)).fontSize))""")
    assert min(sizes) >= 0.05 * height, sizes


def test_a_shared_regression_shows_its_mae_without_a_percent_sign(open_page, server):
    code, run = shared_room(server, PLANE_RUN)
    screen = open_page(f"/presenter.html?room={code}", width=1280, height=720)
    screen.wait_for_function(r"() => /^\d+\.\d{3}$/.test(document.querySelector('[data-testid=presenter-val]').textContent)")
    assert screen.locator("#p-val-label").text_content() == "validation MAE"
    assert "%" not in screen.locator("#p-train").text_content()
    httpx.post(f"{server.url}/api/runs/{run['id']}/control", json={"action": "stop"},
               headers={"Authorization": f"Bearer {run['token']}"}).raise_for_status()
    screen.wait_for_function("() => document.getElementById('p-state').textContent === 'stopped'")
    assert "%" not in screen.locator("#p-test").text_content()
    assert overflow(screen) == []


def test_early_stopping_is_said_in_words(open_page, server):
    spec = {"dataset": {"name": "line", "n_train": 60, "n_val": 30, "n_test": 10},
            "training": {"epochs": 3000, "early_stopping_patience": 1}}
    code, _ = shared_room(server, spec)
    screen = open_page(f"/presenter.html?room={code}", width=1280, height=720)
    screen.wait_for_function("() => document.getElementById('p-state').textContent.startsWith('stopped early')")
    assert "early_stopped" not in screen.locator(".p-run").text_content()


def test_without_a_room_the_demo_screen_says_how_to_open_one(open_page):
    screen = open_page("/presenter.html", width=1280, height=720)
    message = screen.get_by_test_id("presenter-no-room")
    assert message.is_visible() and screen.locator("#p-stage").is_hidden()
    text = message.text_content()
    assert "/instructor.html" in text and "Demo screen" in text and "presenter.html?room=" in text
    assert screen.locator("a[href='/instructor.html']").is_visible()
    assert overflow_free(screen)


def overflow_free(screen) -> bool:
    return screen.evaluate("() => document.scrollingElement.scrollHeight <= innerHeight"
                           " && document.scrollingElement.scrollWidth <= innerWidth")


def test_an_image_runs_tile_shows_its_first_conv_filters(open_page, server):
    room = httpx.post(f"{server.url}/api/rooms", json={"title": "Images"}).raise_for_status().json()
    url = f"{server.url}/api/rooms/{room['code']}"
    ada = httpx.post(f"{url}/join", json={"name": "Ada"}).raise_for_status().json()
    screen = open_page(f"/presenter.html?room={room['code']}", width=1280, height=720)
    screen.locator(".tile").first.wait_for()
    spec = {"dataset": {"name": "digits", "n_train": 100, "n_val": 20, "n_test": 0, "params": {"canvas": 8}},
            "layers": [{"type": "conv2d", "filters": 6, "kernel_size": 3}, {"type": "flatten"}],
            "training": {"epochs": 4, "batch_size": 32}}
    run = httpx.post(f"{server.url}/api/runs", json=spec).raise_for_status().json()
    httpx.post(f"{url}/runs", headers={"Authorization": f"Bearer {ada['token']}"},
               json={"run_id": run["id"], "run_token": run["token"]}).raise_for_status()
    screen.wait_for_function("() => document.querySelector('.tile canvas')?.dataset.picture === 'filters'"
                             " && document.querySelector('.tile').dataset.epoch === '4'")
    drawn = screen.evaluate("""() => {
        const canvas = document.querySelector('.tile canvas');
        const d = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
        let opaque = 0, grey = 0;
        for (let i = 0; i < d.length; i += 4) {
            if (d[i + 3] === 255) { opaque++; if (d[i] === d[i + 1] && d[i + 1] === d[i + 2]) grey++; }
        }
        return { opaque, grey, pixels: d.length / 4 };
    }""")
    # Six 3x3 filters in a 3x2 grid: about half the tile, every painted pixel grey.
    assert drawn["opaque"] > 0.25 * drawn["pixels"] and drawn["grey"] == drawn["opaque"], drawn
    figures = screen.locator(".tile .figures").text_content()
    assert "epoch 4" in figures and "%" in figures


def image_board_fits(screen) -> list[str]:
    """What of an image run's screen does not fit the window (the panels scroll inside themselves)."""
    return screen.evaluate("""() => {
        const wrong = [];
        const page = document.scrollingElement;
        if (page.scrollHeight > innerHeight) wrong.push(`page height ${page.scrollHeight} > ${innerHeight}`);
        if (page.scrollWidth > innerWidth) wrong.push(`page width ${page.scrollWidth} > ${innerWidth}`);
        for (const el of document.querySelectorAll("header, .stage > section, #p-images, .p-panel:not([hidden]), .plot, .big-figures, #p-class")) {
            const r = el.getBoundingClientRect();
            if (r.width === 0 || r.height === 0) { wrong.push(`${el.id || el.className} is not shown`); continue; }
            if (r.left < 0 || r.top < 0 || r.right > innerWidth + 0.5 || r.bottom > innerHeight + 0.5)
                wrong.push(`${el.id || el.className} at ${JSON.stringify(r)}`);
        }
        return wrong;
    }""")


@pytest.mark.parametrize("width, height", [(1280, 720), (1920, 1080)])
def test_the_demo_screen_shows_an_image_runs_filters_maps_probe_gallery_and_confusion(open_page, server, width, height):
    code, run = shared_room(server, IMAGE_RUN)
    screen = open_page(f"/presenter.html?room={code}", width=width, height=height)
    screen.wait_for_function("() => document.getElementById('p-state').textContent === 'finished'")
    expect(screen.get_by_test_id("presenter-images")).to_be_visible()
    expect(screen.get_by_test_id("presenter-boundary")).to_be_hidden()
    assert screen.locator("#p-val-label").text_content() == "validation accuracy"
    assert screen.get_by_test_id("presenter-val").text_content().endswith(" %")
    assert screen.get_by_test_id("presenter-epoch").text_content() == "4"
    expect(screen.locator("#p-data-note")).to_contain_text("8×8 pixels, 10 classes")

    # The filters of the conv2d layer: one grid of six 3x3 filters, in more than one colour.
    filters = screen.get_by_test_id("presenter-filters")
    expect(filters.locator("canvas")).to_have_count(1)
    expect(filters.locator("figcaption")).to_have_text("layer 1, conv2d: 6 filters of 3×3")
    assert filters.locator("canvas").evaluate("c => new Set(c.getContext('2d').getImageData(0, 0, c.width, c.height).data).size") > 3
    # Large enough for a projector: the grid is drawn wider than the participant page would.
    assert filters.locator("canvas").evaluate("c => c.getBoundingClientRect().width") >= 0.15 * width
    # The probe's feature maps, layer by layer (conv2d then the pooling), and its probabilities.
    maps = screen.get_by_test_id("presenter-maps")
    expect(maps.locator("figure")).to_have_count(2)
    expect(maps.locator("figure").first.locator("canvas")).to_have_count(6)
    probe = screen.get_by_test_id("presenter-probe")
    expect(probe.locator(".bar-row")).to_have_count(10)
    expect(probe).to_contain_text("true class:")

    # The 60 test images, the misclassified first (red, "predicted a, is b"), as the network sees them.
    items = screen.get_by_test_id("presenter-gallery").locator(".gallery-item")
    expect(items).to_have_count(60)
    summary = screen.locator("#p-gallery-summary").text_content()
    wrong = int(re.match(r"(\d+) of 60 misclassified", summary).group(1))
    flags = items.evaluate_all("items => items.map((i) => i.classList.contains('wrong'))")
    assert flags == [True] * wrong + [False] * (60 - wrong)
    if wrong:
        assert re.fullmatch(r"predicted \d, is \d", items.first.locator(".gallery-caption").text_content())
    corner = items.first.locator("canvas").evaluate("c => Array.from(c.getContext('2d').getImageData(0, 0, 1, 1).data)")
    assert corner[:3] == [0, 0, 0], corner  # the ground is black, the ink white: as the network sees it

    # At the end, the confusion matrix with each class's accuracy.
    confusion = screen.get_by_test_id("presenter-confusion")
    expect(confusion).to_be_visible()
    expect(confusion.locator("tbody tr")).to_have_count(10)
    assert confusion.locator("thead td").last.text_content() == "accuracy"
    total = sum(int(c) for c in confusion.locator("tbody td:not(:first-child):not(:last-child)").all_text_contents())
    assert total == 60
    # The curves as for any run, from epoch 0 (drawn at the next animation frame: waited for).
    screen.wait_for_function("() => (document.getElementById('p-loss').data || [])[0]?.x.length >= 2")
    assert screen.evaluate("() => document.getElementById('p-loss').data[0].x.slice(0, 2)") == [0, 1]
    screen.wait_for_timeout(300)
    assert image_board_fits(screen) == []


def test_a_participant_following_an_image_run_sees_its_filters(open_page, server):
    code, run = shared_room(server, {**IMAGE_RUN, "training": {"epochs": 3, "batch_size": 32}})
    participant = open_page(f"/join.html?code={code}")
    participant.get_by_test_id("join-name").fill("Grace")
    participant.get_by_test_id("join-submit").click()
    participant.wait_for_url(re.compile(rf"\?room={code}"))
    participant.wait_for_selector("body[data-ready=true]")
    follow = participant.get_by_test_id("follow")
    expect(follow).to_be_visible()
    participant.wait_for_function("() => document.querySelector('[data-testid=follow-boundary]').dataset.picture === 'filters'"
                                  " && document.querySelector('[data-testid=follow-epoch]').textContent === '3'")
    drawn = participant.get_by_test_id("follow-boundary").evaluate("""c => {
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        const shades = new Set();
        for (let i = 0; i < d.length; i += 4) if (d[i] === d[i + 1] && d[i + 1] === d[i + 2]) shades.add(d[i]);
        return shades.size;
    }""")
    assert drawn > 3  # six filters' grey weights on their dark ground
    assert participant.locator("#follow-acc").text_content().endswith(" %")
    # Loading the instructor's settings takes the image run's layers.
    participant.get_by_test_id("follow-load").click()
    participant.wait_for_function("() => window.playground.page.spec.dataset.name === 'digits'"
                                  " && window.playground.page.spec.layers[0].type === 'conv2d'")
