"""How fast the participant's page renders: frames drawn per second in headless Chromium.

A real server (started here) trains a 6-hidden-layer network with neuron thumbnails;
the page, in Debian's Chromium driven by Playwright, watches it. Reported: boundary
frames received and drawn per second, and the page's milliseconds per frame (decoding,
network diagram, boundary). Once with the server's default frame rate (20 a second per
run), once with the cap raised to 60 to show the page's own headroom.
Needs the `test` extra (playwright) and /usr/bin/chromium; downloads nothing.
"""

from __future__ import annotations

import base64
import json
import tempfile
import time

from .harness import CHROMIUM, CLASS_SETTINGS, Server

SPEC = {
    "dataset": {"name": "course_spiral", "n_train": 400, "n_val": 100, "n_test": 100},
    "features": ["x1", "x2"],
    "layers": [{"units": 8, "activation": "tanh"} for _ in range(6)],
    "training": {"optimizer": "adam", "learning_rate": 0.01, "batch_size": 16, "epochs": 5000},
}


def page_link(spec: dict) -> str:
    """The address (after the host) that opens the page with `spec` loaded, as a share link."""
    state = json.dumps({"spec": spec, "view": {}}).encode()
    return "/?s=" + base64.urlsafe_b64encode(state).decode().rstrip("=")


def _measure(page, seconds: float) -> dict:
    read = "() => ({drawn: window.playground.boundary.rendered, drawMs: window.playground.boundary.drawMs," \
           " received: window.playground.stats.framesReceived, frameMs: window.playground.stats.frameMs," \
           " epoch: window.playground.page.run?.epoch ?? 0})"
    before, started = page.evaluate(read), time.perf_counter()
    time.sleep(seconds)
    after, elapsed = page.evaluate(read), time.perf_counter() - started
    frames = max(after["received"] - before["received"], 1)
    drawn = max(after["drawn"] - before["drawn"], 1)
    return {"frames_received_per_second": frames / elapsed, "frames_drawn_per_second": drawn / elapsed,
            "epochs_per_second": (after["epoch"] - before["epoch"]) / elapsed,
            "page_ms_per_frame": (after["frameMs"] - before["frameMs"]) / frames
            + (after["drawMs"] - before["drawMs"]) / drawn}


def run_page_bench(seconds: float = 8.0, rates: tuple[float, ...] = (20.0, 60.0)) -> dict:
    from playwright.sync_api import sync_playwright

    results = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        try:
            for rate in rates:
                with tempfile.TemporaryDirectory() as data_dir:
                    server = Server(data_dir, **{**CLASS_SETTINGS, "frames_per_second": rate}).start()
                    try:
                        page = browser.new_page(viewport={"width": 1280, "height": 720})
                        page.goto(server.url + page_link(SPEC))
                        page.wait_for_selector("body[data-ready=true]", timeout=60_000)
                        page.get_by_test_id("train").click()
                        page.wait_for_function("() => (window.playground.page.run?.epoch ?? 0) >= 20", timeout=60_000)
                        figures = _measure(page, seconds)
                        figures["server_cap_per_second"] = rate
                        results.append(figures)
                        page.close()
                    finally:
                        server.stop()
        finally:
            browser.close()
    return {"workload": "spiral, 6 hidden layers x 8 tanh, neuron thumbnails, 1280x720 headless Chromium",
            "seconds": seconds, "runs": results, "target_frames_per_second": 20}


def format_page_report(report: dict) -> str:
    lines = [f"page: {report['workload']}, measured over {report['seconds']:.0f} s",
             f"{'server cap/s':>12} {'frames recv/s':>14} {'drawn/s':>8} {'epochs/s':>9} {'page ms/frame':>14}"]
    for r in report["runs"]:
        lines.append(f"{r['server_cap_per_second']:>12.0f} {r['frames_received_per_second']:>14.1f} "
                     f"{r['frames_drawn_per_second']:>8.1f} {r['epochs_per_second']:>9.0f} {r['page_ms_per_frame']:>14.2f}")
    return "\n".join(lines)
