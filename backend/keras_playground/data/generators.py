"""The data sets' generators. Each draws exactly n points in random order.

Every function is self-contained (numpy and its own arguments only): the code exporter
copies its source into the participant's script, so the script draws the very same
points from the same seed. Signature: (n, rng, noise, **params) -> (xy, labels), with
xy float64 of shape (n, 2) and labels int64 classes (or float64 targets for regression).
"""

import numpy as np


def line(n, rng, noise, a=0.5, b=0.1):
    """Course Ex1: points in [-1, 1]^2, label 1 below the line y = a*x + b.
    noise: the share of labels flipped."""
    xy = rng.uniform(-1.0, 1.0, size=(n, 2))
    labels = (xy[:, 1] < a * xy[:, 0] + b).astype(np.int64)
    flip = rng.random(n) < noise
    labels[flip] = 1 - labels[flip]
    return xy, labels


def parabola(n, rng, noise, a=2.0, b=0.0, c=-1.0):
    """Course Ex2: points in [-1, 1]^2, label 1 below the parabola y = a*x^2 + b*x + c.
    noise: the share of labels flipped."""
    xy = rng.uniform(-1.0, 1.0, size=(n, 2))
    x = xy[:, 0]
    labels = (xy[:, 1] < a * x ** 2 + b * x + c).astype(np.int64)
    flip = rng.random(n) < noise
    labels[flip] = 1 - labels[flip]
    return xy, labels


def course_spiral(n, rng, noise, a=0.25, b=0.5, flip=0.05, standardize=1.0):
    """Course Ex3: t uniform in [0, 10*pi], r = a*t (the course's offset is 0); each point
    is class 0 or 1 with even odds; class 0 at ((r+u) cos r, (r+v) sin r) with u and v
    drawn independently, uniform in [-b, b]; class 1 the same kind of point negated; a
    share `flip` of labels flipped; when standardize >= 0.5, the coordinates are scaled
    by one mean and one standard deviation over both of them, as the course does.
    noise: a further share of labels flipped."""
    t = rng.uniform(0.0, 10.0 * np.pi, size=n)
    r = a * t
    labels = (rng.random(n) >= 0.5).astype(np.int64)
    u = rng.uniform(-b, b, size=n)
    v = rng.uniform(-b, b, size=n)
    xy = np.stack([(r + u) * np.cos(r), (r + v) * np.sin(r)], axis=1)
    xy[labels == 1] *= -1.0
    flipped = rng.random(n) < flip + noise
    labels[flipped] = 1 - labels[flipped]
    if standardize >= 0.5 and n > 1:
        xy = (xy - xy.mean()) / max(xy.std(), 1e-12)
    return xy, labels


def circle(n, rng, noise, radius=0.5):
    """A disc (class 1) inside a ring (class 0), within about [-1, 1]^2.
    noise: the standard deviation of a Gaussian jitter of the coordinates."""
    labels = (np.arange(n) % 2 == 0).astype(np.int64)
    inner = rng.uniform(0.0, radius * 0.8, size=n)
    outer = rng.uniform(radius * 1.2, 1.0, size=n)
    r = np.where(labels == 1, inner, outer)
    angle = rng.uniform(0.0, 2.0 * np.pi, size=n)
    xy = np.stack([r * np.cos(angle), r * np.sin(angle)], axis=1)
    xy += rng.normal(0.0, 1.0, size=(n, 2)) * noise
    order = rng.permutation(n)
    return xy[order], labels[order]


def xor(n, rng, noise):
    """Four quadrants: label 1 where x*y > 0. Points keep a small margin off the axes.
    noise: the standard deviation of a Gaussian jitter of the coordinates."""
    xy = rng.uniform(-1.0, 1.0, size=(n, 2))
    xy += np.where(xy > 0, 0.05, -0.05)  # the margin
    xy = np.clip(xy, -1.0, 1.0)
    labels = (xy[:, 0] * xy[:, 1] > 0).astype(np.int64)
    xy += rng.normal(0.0, 1.0, size=(n, 2)) * noise
    return xy, labels


def gaussian(n, rng, noise, distance=0.5, spread=0.2):
    """Two Gaussian blobs: class 1 around (d, d), class 0 around (-d, -d).
    noise: added to the blobs' standard deviation."""
    labels = (np.arange(n) % 2 == 0).astype(np.int64)
    centres = np.where(labels[:, None] == 1, distance, -distance)
    xy = centres + rng.normal(0.0, 1.0, size=(n, 2)) * (spread + noise)
    order = rng.permutation(n)
    return xy[order], labels[order]


def spiral(n, rng, noise, turns=1.5):
    """Two interleaved spirals (TensorFlow Playground style), within about [-1, 1]^2.
    noise: the standard deviation of a Gaussian jitter of the coordinates."""
    labels = (np.arange(n) % 2).astype(np.int64)
    s = rng.uniform(0.0, 1.0, size=n)
    r = 0.05 + 0.9 * s
    angle = 2.0 * np.pi * turns * s + np.pi * labels
    xy = np.stack([r * np.sin(angle), r * np.cos(angle)], axis=1)
    xy += rng.normal(0.0, 1.0, size=(n, 2)) * noise
    order = rng.permutation(n)
    return xy[order], labels[order]


def blobs(n, rng, noise, classes=3, spread=0.15):
    """`classes` Gaussian blobs evenly spaced on a circle of radius 0.6 (multi-class).
    noise: added to the blobs' standard deviation."""
    classes = int(classes)
    labels = (np.arange(n) % classes).astype(np.int64)
    angle = 2.0 * np.pi * labels / classes + np.pi / 2
    centres = 0.6 * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    xy = centres + rng.normal(0.0, 1.0, size=(n, 2)) * (spread + noise)
    order = rng.permutation(n)
    return xy[order], labels[order]


def plane(n, rng, noise, a=1.0, b=-1.0):
    """Regression: points in [-1, 1]^2, target a*x + b*y.
    noise: the standard deviation of a Gaussian noise added to the target."""
    xy = rng.uniform(-1.0, 1.0, size=(n, 2))
    target = a * xy[:, 0] + b * xy[:, 1] + rng.normal(0.0, 1.0, size=n) * noise
    return xy, target


def multi_gaussian(n, rng, noise):
    """Regression: the target is a sum of Gaussian bumps of either sign.
    noise: the standard deviation of a Gaussian noise added to the target."""
    xy = rng.uniform(-1.0, 1.0, size=(n, 2))
    bumps = [(-0.5, 0.5, 1.0), (0.5, 0.5, -1.0), (-0.5, -0.5, -1.0), (0.5, -0.5, 1.0), (0.0, 0.0, 0.5)]
    target = np.zeros(n)
    for cx, cy, sign in bumps:
        target += sign * np.exp(-((xy[:, 0] - cx) ** 2 + (xy[:, 1] - cy) ** 2) / (2 * 0.2 ** 2))
    target += rng.normal(0.0, 1.0, size=n) * noise
    return xy, target
