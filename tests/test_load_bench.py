"""The classroom benchmark runs against a real server and reports every figure."""

import math

from keras_playground.bench.server import format_load_report, run_load_bench


def test_the_load_bench_reports_every_figure_for_a_small_class():
    report = run_load_bench([2], sequential=3, epochs=15)
    [round_] = report["rounds"]
    assert round_["participants"] == 2 and round_["done_delivered"] == 2 and round_["errors"] == []
    assert 0 < round_["first_epoch_p50_seconds"] <= round_["first_epoch_p95_seconds"]
    assert round_["epochs_per_second_per_client"] > 0 and round_["frames_per_second_per_client"] > 0
    assert round_["aggregate_epochs_per_second"] > 0 and round_["server_rss_mb"] > 50
    assert [c["runs"] for c in report["sequential"]] == [0, 1, 2, 3]
    assert all(math.isfinite(c["rss_mb"]) for c in report["sequential"])
    assert round_["added_over_round_start_mb"] == round_["peak_rss_mb"] - report["idle_rss_mb"]  # the first round
    text = format_load_report(report)
    assert report["primed"] is True and "primed at start" in text  # as the server says it started
    assert "2/2" in text and "RSS over sequential runs" in text
    # Each of issue 17's targets judged on the cold round, by name and figure.
    verdict = [line for line in text.splitlines() if line.startswith("target on the cold server")]
    assert [v.split(": ", 1)[1].split()[0] for v in verdict] == ["all", "first", f"{round_['aggregate_epochs_per_second']:,.0f}",
                                                                   f"{round_['added_rss_mb']:+.0f}"]


def test_the_wall_bench_shows_every_participant_to_the_last_epoch():
    from keras_playground.bench.wall import format_wall_report, run_wall_bench

    report = run_wall_bench(participants=3, epochs=30)
    assert report["participants_on_wall"] == 3 and report["last_epoch_on_wall"] == 30
    assert 0 <= report["latency_p50_seconds"] <= report["latency_p95_seconds"] <= report["latency_max_seconds"]
    assert report["latency_max_seconds"] < 30  # every epoch reached the wall
    assert "p95" in format_wall_report(report)
