"""The class wall's tiles from a run's events, without a server: what a tile holds, when one is due."""

import base64
import json

import numpy as np

from keras_playground.classroom.wall import WALL_INTERVAL, WallRun, thumbnail

SPEC = {"dataset": {"name": "circle"}, "training": {"epochs": 3}}


def event(kind, **fields):
    return kind, json.dumps({"kind": kind, **fields})


def frame(epoch, side=4):
    cells = np.arange(side * side, dtype=np.uint8).reshape(side, side)
    return event("frame", epoch=epoch, resolution=side, boundary=base64.b64encode(cells.tobytes()).decode())


def test_a_run_folds_into_its_tile_and_a_tile_is_due_at_most_every_interval():
    wall = WallRun("p1", "r1", SPEC)
    assert not wall.due(0.0)  # nothing yet
    wall.fold(*event("status", state="running"))
    assert wall.due(0.0)
    first = wall.take(0.0, at=1000.0)
    assert (first.state, first.epoch, first.epochs, first.problem, first.at) == ("running", 0, 3, "binary", 1000.0)
    assert first.boundary is None and "boundary" not in json.loads(first.as_json())

    wall.fold(*event("epoch", epoch=1, metric=0.6, val_metric=0.55))
    wall.fold(*frame(1))
    assert not wall.due(WALL_INTERVAL / 2)  # throttled
    assert wall.due(WALL_INTERVAL)
    second = wall.take(WALL_INTERVAL, at=1000.25)
    assert (second.epoch, second.metric, second.val_metric) == (1, 0.6, 0.55)
    assert second.resolution == 2 and base64.b64decode(second.boundary) == bytes([0, 2, 8, 10])
    assert first.epoch == 0  # a tile taken is not changed by later events

    wall.fold(*event("epoch", epoch=2, metric=0.7, val_metric=None))
    wall.fold(*event("done", state="finished", epochs=2))
    assert wall.due(WALL_INTERVAL + 0.01, closed=True)  # the run's end goes at once
    last = wall.take(WALL_INTERVAL + 0.01, at=1000.3)
    assert (last.state, last.epoch, last.val_metric, last.resolution) == ("finished", 2, None, 2)
    assert not wall.due(10.0, closed=True)  # nothing new


def test_only_the_newest_frame_is_drawn_and_an_error_fails_the_tile():
    wall = WallRun("p1", "r1", SPEC)
    wall.fold(*frame(1, side=4))
    wall.fold(*frame(2, side=8))
    wall.fold(*event("error", message="lost"))
    tile = wall.take(0.0, at=1.0)
    assert tile.resolution == 4 and tile.state == "failed"


def test_a_run_that_ended_before_the_wall_followed_it_shows_its_result():
    tile = WallRun("p1", "r1", SPEC).ended("finished", {"epochs": 3, "metric": 0.9, "val_metric": 0.8})
    assert (tile.state, tile.epoch, tile.metric, tile.val_metric, tile.at) == ("finished", 3, 0.9, 0.8, None)
    assert WallRun("p1", "r2", SPEC).ended("interrupted", None).epoch == 0


def test_a_frame_without_a_boundary_picture_gives_none():
    assert thumbnail({"kind": "frame", "epoch": 1}) == {}


def test_a_run_that_kept_an_earlier_epoch_shows_that_epochs_figures():
    wall = WallRun("p1", "r1", SPEC)
    for n, val in ((1, 0.9), (2, 0.7), (3, 0.6)):
        wall.fold(*event("epoch", epoch=n, metric=val, val_metric=val))
    wall.fold(*event("done", state="early_stopped", epochs=3, best_epoch=1, metric=0.9, val_metric=0.9))
    tile = wall.take(0.0, at=1.0)
    assert (tile.state, tile.epoch, tile.val_metric) == ("early_stopped", 3, 0.9)
