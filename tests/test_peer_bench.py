"""The page against TensorFlow Playground: both sides train in one browser and the report holds.

A short real run (2 s windows) of what `keras-playground bench --page --peer DIR` runs:
a real server, the built peer served over HTTP, Debian's Chromium. Speeds are printed by
the bench, not asserted here; only that each side trained and the figures agree.
"""

import json
import math
import os
from pathlib import Path

import pytest
from keras_playground.bench.peer import format_peer_report, run_peer_bench
from keras_playground.cli import main

# The peer is not shipped with the project (its README): it is looked for where the team
# keeps it, beside the repo or in the workspace, or where PLAYGROUND_PEER_DIR says.
CANDIDATES = [Path(os.environ["PLAYGROUND_PEER_DIR"])] if os.environ.get("PLAYGROUND_PEER_DIR") else []
CANDIDATES += [Path(__file__).resolve().parents[2] / "shared" / "peers" / "tensorflow-playground",
               Path("/work/shared/peers/tensorflow-playground")]
PEER = next((path for path in CANDIDATES if (path / "index.html").is_file()), CANDIDATES[0])
KEYS = {"page_epochs_per_second", "peer_epochs_per_second", "ratio", "frames_per_second"}

needs_peer = pytest.mark.skipif(not (PEER / "index.html").is_file(), reason=f"no built TensorFlow Playground at {PEER}")


@pytest.mark.bench
@pytest.mark.e2e
@needs_peer
def test_both_sides_train_each_setup_and_the_ratio_is_page_over_peer():
    report = run_peer_bench(PEER, seconds=2.0, warm_up=0.5)
    json.dumps(report)  # what --json prints
    assert [entry["setup"] for entry in report["setups"]] == ["8-8 on x1,x2", "6x8 on all features"]
    for entry in report["setups"]:
        assert KEYS <= entry.keys()
        assert entry["page_epochs_per_second"] > 0 and entry["peer_epochs_per_second"] > 0
        assert math.isclose(entry["ratio"], entry["page_epochs_per_second"] / entry["peer_epochs_per_second"])
        assert entry["frames_per_second"] > 0
    text = format_peer_report(report)
    assert "8-8 on x1,x2" in text and "6x8 on all features" in text and "frames drawn/s" in text


def test_peer_needs_page(capsys):
    assert main(["bench", "--peer", str(PEER)]) == 2
    assert "--peer goes with --page" in capsys.readouterr().err


def test_peer_must_be_a_built_playground(tmp_path, capsys):
    assert main(["bench", "--page", "--peer", str(tmp_path)]) == 2
    assert "no index.html" in capsys.readouterr().err
