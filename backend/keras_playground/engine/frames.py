"""A probe's arrays as a FrameEvent: base64 uint8 images and a few rounded numbers.

Built from our own arrays with `model_construct`: no need to validate every number again.
"""

from __future__ import annotations

import base64

import numpy as np

from ..data import GALLERY  # noqa: F401  (the gallery's size, for those who read frames)
from ..specs import FeatureMaps, FilterSet, FrameEvent, Gallery, LayerWeights, Probe


def b64(array: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(array, dtype=np.uint8).tobytes()).decode("ascii")


def plane_grid(extent: tuple[float, float, float, float], side: int) -> np.ndarray:
    """side*side points (x1, x2) at cell centres, row-major, the bottom row (y_min) first."""
    x_min, x_max, y_min, y_max = extent
    xs = x_min + (np.arange(side) + 0.5) * (x_max - x_min) / side
    ys = y_min + (np.arange(side) + 0.5) * (y_max - y_min) / side
    gx, gy = np.meshgrid(xs, ys)
    return np.stack([gx.ravel(), gy.ravel()], axis=1)


def plane_frame(epoch: int, probe, *, resolution: int, thumb: int, extent, output_range,
                weights: list[LayerWeights]) -> FrameEvent:
    boundary, maps, ranges = probe
    return FrameEvent.model_construct(
        epoch=epoch, resolution=resolution, extent=extent, boundary=b64(boundary),
        output_min=output_range[0], output_max=output_range[1], thumb=thumb,
        neurons=[[b64(unit) for unit in layer] for layer in maps],
        neuron_ranges=[[(round(float(lo), 5), round(float(hi), 5)) for lo, hi in layer] for layer in ranges],
        weights=weights, filters=None, feature_maps=None, probe=None, gallery=None)


def gallery_of(probabilities: np.ndarray, labels: np.ndarray) -> Gallery:
    """The gallery's images by index, the misclassified first (the most confident mistakes
    first among them), then the right ones from the least confident."""
    predicted = probabilities.argmax(-1)
    confidence = probabilities.max(-1)
    wrong = predicted != labels
    order = np.lexsort((np.where(wrong, -confidence, confidence), ~wrong))
    return Gallery.model_construct(
        indices=order.tolist(), predicted=predicted[order].tolist(),
        confidence=np.round(confidence[order], 4).tolist(), wrong=int(wrong.sum()), total=len(labels))


def image_frame(epoch: int, probe, *, conv_layers: list[int], map_layers: list[tuple[int, str]],
                map_totals: list[int], probe_index: int, probe_label: int,
                gallery_labels: np.ndarray) -> FrameEvent:
    filters, maps, probabilities, gallery = probe
    filter_sets = [FilterSet.model_construct(
        layer=index, filters=int(q.shape[0]), channels=int(q.shape[1]), size=int(q.shape[2]),
        scale=round(float(scale), 6), data=b64(q)) for index, (q, scale) in zip(conv_layers, filters)]
    feature_maps = [FeatureMaps.model_construct(
        layer=index, type=kind, height=int(q.shape[1]), width=int(q.shape[2]), channels=int(q.shape[0]),
        total=total, ranges=[(round(float(lo), 5), round(float(hi), 5)) for lo, hi in ranges], data=b64(q))
        for (index, kind), total, (q, ranges) in zip(map_layers, map_totals, maps)]
    return FrameEvent.model_construct(
        epoch=epoch, resolution=None, extent=None, boundary=None, output_min=0.0, output_max=1.0,
        thumb=None, neurons=None, neuron_ranges=None, weights=None,
        filters=filter_sets, feature_maps=feature_maps,
        probe=Probe.model_construct(index=probe_index, label=probe_label,
                                    probabilities=np.round(probabilities, 4).tolist()),
        gallery=gallery_of(gallery, gallery_labels))
