"""The class wall: each participant's current run as a small tile, from the run's events.

`WallRun` folds a run's events (status, epoch, frame, done, error) into its `WallTile`
(a run on points shows its boundary; an image run, its first conv layer's filters)
and says when a tile is due: at most one every WALL_INTERVAL seconds per participant,
and the last one as soon as the run ends. It does no I/O and reads no clock of its own
(the caller gives the times), so it is tested without a server; the room's stream
(api/rooms.py) reads the bus and sends what it makes.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import numpy as np

from ..data import problem_of
from ..specs import DatasetSpec
from .events import WallTile

WALL_INTERVAL = 0.25  # seconds between two wall tiles of one participant
FINAL_KINDS = ("done", "error")


WALL_FILTERS = 8  # filters of an image run's first conv layer a tile shows (first input channel)


def thumbnail(frame: dict[str, Any]) -> dict[str, Any]:
    """The frame's picture, small enough for a wall tile: a run on points, its boundary at
    half its side (every other cell); an image run, its first conv layer's filters (the
    first WALL_FILTERS, first input channel). A frame without either gives none."""
    if frame.get("filters"):
        return filter_thumbnail(frame["filters"][0])
    side, boundary = frame.get("resolution"), frame.get("boundary")
    if not side or not boundary:
        return {}
    cells = np.frombuffer(base64.b64decode(boundary), dtype=np.uint8).reshape(side, side)
    small = np.ascontiguousarray(cells[::2, ::2])
    return {"resolution": small.shape[0], "boundary": base64.b64encode(small.tobytes()).decode("ascii")}


def filter_thumbnail(filters: dict[str, Any]) -> dict[str, Any]:
    """A frame's FilterSet (uint8 [filters][channels][size][size], 128 a weight of 0) as a
    tile's grey squares: uint8 [n][size][size], the first WALL_FILTERS of its first channel."""
    count, channels, size = filters["filters"], filters["channels"], filters["size"]
    kernels = np.frombuffer(base64.b64decode(filters["data"]), dtype=np.uint8)
    kernels = kernels.reshape(count, channels, size, size)[:WALL_FILTERS, 0]
    return {"filters": kernels.shape[0], "filter_size": size,
            "filter_data": base64.b64encode(np.ascontiguousarray(kernels).tobytes()).decode("ascii")}


class WallRun:
    """One participant's run on the wall: fold its events in, take a tile when one is due."""

    def __init__(self, participant: str, run_id: str, spec: dict[str, Any], interval: float = WALL_INTERVAL):
        problem, _ = problem_of(DatasetSpec.model_validate(spec["dataset"]))  # the tile's colours
        self.tile = WallTile(participant=participant, run_id=run_id, epochs=spec["training"]["epochs"],
                             problem=problem)
        self.interval = interval
        self.dirty = False  # something changed since the last tile
        self.sent_at: float | None = None  # when the last tile went (the caller's clock)
        self._frame: str | None = None  # the newest frame's JSON, parsed only if a tile goes out

    def ended(self, state: str, done: dict[str, Any] | None) -> WallTile:
        """The tile of a run that ended before the wall followed it (from its record)."""
        done = done or {}
        self.tile = self.tile.model_copy(update={"state": state, "epoch": done.get("epochs", 0),
                                                 "metric": done.get("metric"),
                                                 "val_metric": done.get("val_metric")})
        return self.tile.model_copy()

    def fold(self, kind: str, text: str) -> None:
        """One event of the run's log: its kind and its JSON."""
        self.dirty = True
        if kind == "frame":
            self._frame = text
            return
        event = json.loads(text)
        if kind == "epoch":
            self.tile.epoch, self.tile.metric = event["epoch"], event["metric"]
            self.tile.val_metric = event.get("val_metric")
        elif kind == "status":
            self.tile.state = event["state"]
        elif kind in FINAL_KINDS:
            self.tile.state = event.get("state", "failed")
            if kind == "done" and event.get("best_epoch") not in (None, event.get("epochs")):
                # Early stopping kept an earlier epoch's weights: the tile shows that model.
                self.tile.metric, self.tile.val_metric = event.get("metric"), event.get("val_metric")

    def due(self, now: float, closed: bool = False) -> bool:
        """Whether a tile should go out at `now` (seconds, any monotonic clock); `closed`:
        the run's log has ended, so its last tile goes at once."""
        if not self.dirty:
            return False
        return closed or self.sent_at is None or now - self.sent_at >= self.interval

    def take(self, now: float, at: float) -> WallTile:
        """The tile to send (with the newest frame's picture), stamped `at` (epoch seconds);
        the next is due `interval` after `now`."""
        if self._frame is not None:
            self.tile = self.tile.model_copy(update=thumbnail(json.loads(self._frame)))
            self._frame = None
        self.tile.at = at
        self.sent_at, self.dirty = now, False
        return self.tile.model_copy()
