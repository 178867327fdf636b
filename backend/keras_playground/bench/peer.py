"""The page against TensorFlow Playground, side by side in one headless Chromium.

The peer is a built copy of TensorFlow Playground in a folder the caller names (it is
never shipped with the project); it is served here over plain HTTP on a free port. The
playground is a real `keras-playground serve`. Both train the same set-ups (the peer's
spiral: 250 training points, batch 10, learning rate 0.03, tanh, no regularization),
one after the other in the same browser, so neither competes with the other for the
machine's cores. Reported for each set-up: each side's epochs a second over the same
window after a warm-up, their ratio, and the boundary frames the page drew a second.
Needs the `test` extra (playwright) and /usr/bin/chromium; downloads nothing.
"""

from __future__ import annotations

import functools
import tempfile
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from .harness import CHROMIUM, CLASS_SETTINGS, Server
from .page import page_link

# The peer's names for the inputs -> ours (data/features.py).
FEATURES = {"x": "x1", "y": "x2", "xTimesY": "x1*x2", "xSquared": "x1^2", "ySquared": "x2^2",
            "sinX": "sin(x1)", "sinY": "sin(x2)"}
ALL_FEATURES = tuple(FEATURES)  # every input the peer has (cos is in its state but not offered)

SETUPS = (
    {"name": "8-8 on x1,x2", "layers": (8, 8), "features": ("x", "y")},
    {"name": "6x8 on all features", "layers": (8,) * 6, "features": ALL_FEATURES},
)
# Long enough that the run cannot end within a window: the server's limit is raised to it.
PAGE_EPOCHS = 100_000
WARM_UP_EPOCHS = 20  # either side has started for real once it has this many


def peer_hash(setup: dict) -> str:
    """The peer's state after `#`: its spiral (500 points, half for training), batch 10,
    learning rate 0.03, tanh, no regularization, the set-up's layers and inputs."""
    inputs = {name: str(name in setup["features"]).lower() for name in ALL_FEATURES}
    state = {"activation": "tanh", "batchSize": 10, "dataset": "spiral", "regDataset": "reg-plane",
             "learningRate": 0.03, "regularizationRate": 0, "regularization": "none", "noise": 0,
             "networkShape": ",".join(str(u) for u in setup["layers"]), "seed": 0.1,
             "showTestData": "false", "discretize": "false", "percTrainData": 50,
             **inputs, "cosX": "false", "cosY": "false", "collectStats": "false",
             "problem": "classification", "initZero": "false", "hideText": "false"}
    return "&".join(f"{k}={v}" for k, v in state.items())


def page_spec(setup: dict) -> dict:
    """The same set-up in our run spec: our spiral with the peer's 1.75 turns, 250 training
    points and 250 validation points (the peer computes its test loss every epoch, as we do
    the validation loss), plain SGD on the points in a fixed order (as the peer's loop)."""
    return {
        "dataset": {"name": "spiral", "n_train": 250, "n_val": 250, "n_test": 0, "noise": 0,
                    "params": {"turns": 1.75}},
        "features": [FEATURES[name] for name in setup["features"]],
        "layers": [{"units": units, "activation": "tanh"} for units in setup["layers"]],
        "training": {"optimizer": "sgd", "learning_rate": 0.03, "batch_size": 10, "epochs": PAGE_EPOCHS,
                     "shuffle": False, "regularization": "none"},
    }


class StaticServer:
    """A folder over plain HTTP on a free loopback port, in a thread of this process."""

    def __init__(self, directory: str | Path):
        directory = Path(directory)
        if not (directory / "index.html").is_file():
            raise FileNotFoundError(f"{directory} has no index.html: not a built TensorFlow Playground")
        handler = functools.partial(_QuietHandler, directory=str(directory))
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="peer-http", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def start(self) -> StaticServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(10)


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass  # a request line per file would bury the report


def _window(read, seconds: float) -> tuple[dict, dict, float]:
    before, started = read(), time.perf_counter()
    time.sleep(seconds)
    after = read()
    return before, after, time.perf_counter() - started


def measure_page(browser, server_url: str, setup: dict, seconds: float, warm_up: float) -> dict:
    """The page trains the set-up: its epochs and boundary frames drawn a second."""
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    try:
        page.goto(server_url + page_link(page_spec(setup)))
        page.wait_for_selector("body[data-ready=true]", timeout=60_000)
        page.get_by_test_id("train").click()
        page.wait_for_function(f"() => (window.playground.page.run?.epoch ?? 0) >= {WARM_UP_EPOCHS}",
                               timeout=120_000)
        _check_taken_as_linked(page, setup)
        time.sleep(warm_up)
        read = lambda: page.evaluate(  # noqa: E731
            "() => ({epoch: window.playground.page.run?.epoch ?? 0, drawn: window.playground.boundary.rendered,"
            " received: window.playground.stats.framesReceived, state: window.playground.page.run?.state})")
        before, after, elapsed = _window(read, seconds)
        # Watching never stops a run: stop it, or it trains on beside the next measurement.
        page.locator("#stop").click()
        page.wait_for_function("() => Boolean(window.playground.page.run?.done)", timeout=60_000)
        if after["epoch"] >= PAGE_EPOCHS:
            raise RuntimeError("the page's run ended within the window: its rate is not measured")
        return {"epochs_per_second": (after["epoch"] - before["epoch"]) / elapsed,
                "frames_per_second": (after["drawn"] - before["drawn"]) / elapsed,
                "frames_received_per_second": (after["received"] - before["received"]) / elapsed,
                "epoch_at_end": after["epoch"]}
    finally:
        page.close()


def _check_taken_as_linked(page, setup: dict) -> None:
    """The page checks a link against the catalog (and puts the features in its own order):
    make sure the run trains what was linked."""
    sent = page_spec(setup)
    trained = page.evaluate("() => window.playground.page.run.spec")
    wanted = (sorted(sent["features"]), [layer["units"] for layer in sent["layers"]], sent["dataset"]["name"],
              sent["dataset"]["n_train"], sent["training"]["epochs"], sent["training"]["batch_size"])
    got = (sorted(trained["features"]), [layer["units"] for layer in trained["layers"]], trained["dataset"]["name"],
           trained["dataset"]["n_train"], trained["training"]["epochs"], trained["training"]["batch_size"])
    if got != wanted:
        raise RuntimeError(f"the page trains {got}, not the linked set-up {wanted}")


def _peer_epoch(page) -> int:
    text = page.evaluate("() => document.querySelector('#iter-number')?.textContent ?? ''")
    digits = text.replace(",", "").strip()
    return int(digits) if digits.isdigit() else 0


def measure_peer(browser, peer_url: str, setup: dict, seconds: float, warm_up: float) -> dict:
    """TensorFlow Playground trains the set-up (one epoch per animation frame): its epochs a second."""
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    try:
        page.goto(f"{peer_url}/index.html#{peer_hash(setup)}")
        page.wait_for_selector("#play-pause-button", state="attached", timeout=60_000)
        # A click through the page may miss the button (its README); the element's own click does not.
        page.evaluate("() => document.querySelector('#play-pause-button').click()")
        deadline = time.monotonic() + 120
        while _peer_epoch(page) < WARM_UP_EPOCHS:
            if time.monotonic() > deadline:
                raise RuntimeError("TensorFlow Playground did not start training within 120 s")
            time.sleep(0.1)
        time.sleep(warm_up)
        before, after, elapsed = _window(lambda: {"epoch": _peer_epoch(page)}, seconds)
        return {"epochs_per_second": (after["epoch"] - before["epoch"]) / elapsed, "epoch_at_end": after["epoch"]}
    finally:
        page.close()


def run_peer_bench(peer_dir: str | Path, seconds: float = 8.0, warm_up: float = 2.0,
                   setups: tuple[dict, ...] = SETUPS) -> dict:
    """Each set-up on the page, then on the peer, in one browser; every server stopped at the end."""
    from playwright.sync_api import sync_playwright

    results = []
    peer = StaticServer(peer_dir).start()
    try:
        with tempfile.TemporaryDirectory() as data_dir:
            server = Server(data_dir, **CLASS_SETTINGS, limits__max_epochs=PAGE_EPOCHS).start()
            try:
                with sync_playwright() as playwright:
                    browser = playwright.chromium.launch(executable_path=CHROMIUM)
                    try:
                        for setup in setups:
                            ours = measure_page(browser, server.url, setup, seconds, warm_up)
                            theirs = measure_peer(browser, peer.url, setup, seconds, warm_up)
                            page_rate, peer_rate = ours["epochs_per_second"], theirs["epochs_per_second"]
                            results.append({
                                "setup": setup["name"],
                                "page_epochs_per_second": page_rate,
                                "peer_epochs_per_second": peer_rate,
                                "ratio": page_rate / peer_rate if peer_rate else None,
                                "frames_per_second": ours["frames_per_second"],
                                "frames_received_per_second": ours["frames_received_per_second"],
                                "page_spec": page_spec(setup),
                                "peer_state": peer_hash(setup),
                            })
                    finally:
                        browser.close()
            finally:
                server.stop()
    finally:
        peer.stop()
    return {"workload": "spiral, 250 training points, batch 10, lr 0.03, tanh, no regularization; "
                        "headless Chromium 1280x720, one page at a time",
            "seconds": seconds, "warm_up_seconds": warm_up, "setups": results,
            "target_ratio": 10, "target_frames_per_second": 20}


def format_peer_report(report: dict) -> str:
    lines = [f"page vs TensorFlow Playground: {report['workload']}; "
             f"measured over {report['seconds']:.0f} s after {report['warm_up_seconds']:.0f} s of warm-up",
             f"{'set-up':<22} {'page epochs/s':>14} {'peer epochs/s':>14} {'ratio':>7} {'frames drawn/s':>15}"]
    for r in report["setups"]:
        ratio = f"{r['ratio']:.1f}x" if r["ratio"] is not None else "n/a"
        lines.append(f"{r['setup']:<22} {r['page_epochs_per_second']:>14.1f} {r['peer_epochs_per_second']:>14.1f} "
                     f"{ratio:>7} {r['frames_per_second']:>15.1f}")
    lines.append(f"targets: ratio >= {report['target_ratio']}x, frames drawn >= {report['target_frames_per_second']}/s")
    return "\n".join(lines)
