"""The true boundary of a data set: the border its generator draws the classes by, before
any noise, for the spec's own parameters. What a network should find, drawn dashed over
its boundary. Polylines of (x1, x2) points within the plot's extent, or None for a data
set that has none to draw (spirals, regression, drawn points)."""

from __future__ import annotations

import math

import numpy as np

from ..specs import DatasetSpec
from .catalog import CUSTOM
from .dataset import merged_params

Extent = tuple[float, float, float, float]
Polyline = list[list[float]]
SAMPLES = 200  # points along a curve across the extent


def _clip(p, q, extent: Extent):
    """The part of segment p-q inside the extent (Liang-Barsky), or None."""
    x0, x1, y0, y1 = extent
    dx, dy = q[0] - p[0], q[1] - p[1]
    low, high = 0.0, 1.0
    for step, room in ((-dx, p[0] - x0), (dx, x1 - p[0]), (-dy, p[1] - y0), (dy, y1 - p[1])):
        if step == 0:
            if room < 0:
                return None
            continue
        t = room / step
        if step < 0:
            low = max(low, t)
        else:
            high = min(high, t)
        if low > high:
            return None
    return ((p[0] + low * dx, p[1] + low * dy), (p[0] + high * dx, p[1] + high * dy))


def clip_polyline(points, extent: Extent) -> list[Polyline]:
    """A curve cut to the extent: one polyline per piece inside it (4 decimals)."""
    pieces: list[Polyline] = []
    current: Polyline = []
    for p, q in zip(points[:-1], points[1:]):
        part = _clip(p, q, extent)
        if part is None:
            if len(current) > 1:
                pieces.append(current)
            current = []
            continue
        a, b = ([round(float(v), 4) for v in point] for point in part)
        if current and current[-1] != a:
            if len(current) > 1:
                pieces.append(current)
            current = []
        if not current:
            current = [a]
        if b != current[-1]:
            current.append(b)
    if len(current) > 1:
        pieces.append(current)
    return pieces


def _graph(f, extent: Extent):
    """The curve y = f(x) across the extent's width."""
    xs = np.linspace(extent[0], extent[1], SAMPLES)
    return list(zip(xs, f(xs)))


def _far(extent: Extent) -> float:
    return 2.0 * max(abs(v) for v in extent) + 1.0


def _curves(name: str, params: dict, extent: Extent) -> list | None:
    if name == "line":
        return [_graph(lambda x: params["a"] * x + params["b"], extent)]
    if name == "parabola":
        return [_graph(lambda x: params["a"] * x ** 2 + params["b"] * x + params["c"], extent)]
    if name == "circle":  # the disc (up to 0.8 r) and the ring (from 1.2 r) meet at r
        angle = np.linspace(0.0, 2.0 * math.pi, SAMPLES)
        r = params["radius"]
        return [list(zip(r * np.cos(angle), r * np.sin(angle)))]
    if name == "xor":  # label 1 where x*y > 0: the two axes
        far = _far(extent)
        return [[(-far, 0.0), (far, 0.0)], [(0.0, -far), (0.0, far)]]
    if name == "gaussian":  # two equal round blobs at (d, d) and (-d, -d): the line y = -x between
        if params["distance"] <= 0:
            return None
        far = _far(extent)
        return [[(-far, far), (far, -far)]]
    if name == "blobs":  # equal round blobs on a circle: rays from the centre halfway between them
        classes, far = int(params["classes"]), _far(extent)
        rays = []
        for k in range(classes):
            angle = 2.0 * math.pi * (k + 0.5) / classes + math.pi / 2
            rays.append([(0.0, 0.0), (far * math.cos(angle), far * math.sin(angle))])
        return rays
    return None  # the spirals (no closed form worth drawing), regression


def true_boundary(spec: DatasetSpec, extent: Extent) -> list[Polyline] | None:
    """The data set's true boundary for `spec`'s parameters, cut to `extent`, or None."""
    if spec.name == CUSTOM:
        return None
    curves = _curves(spec.name, merged_params(spec), extent)
    if curves is None:
        return None
    return [piece for curve in curves for piece in clip_polyline(curve, extent)]
