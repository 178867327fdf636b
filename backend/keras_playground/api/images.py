"""What only image runs have: the shapes of a layer stack, a convolution you can touch,
and one image classified by a run's model (a drawing, or a gallery image as the probe)."""

from __future__ import annotations

import base64
from typing import Annotated, Literal

import numpy as np
from fastapi import APIRouter, Body
from pydantic import BaseModel, ConfigDict

from ..data import DATASETS, GALLERY, merged_params
from ..data.drawing import MAX_DRAWING_SIDE, fit_drawing
from ..data.validate import spec_problems
from ..engine.control import Command
from ..engine.convolution import convolve, side_formula
from ..specs import Problem, RunSpec, SpecError, check_limits, check_range
from .deps import ServiceDep, SettingsDep, TokenDep

router = APIRouter(tags=["images"])

MAX_KERNEL_VALUE = 10.0
MAX_CONVOLVE_SIDE = 48


def _pixels(rows: list[list[float]], field: str, most: int) -> np.ndarray:
    """A 2-D image from JSON rows, each value a finite number in [0, 1] (422 naming `field`)."""
    if not rows or not 1 <= len(rows) <= most or any(len(r) != len(rows[0]) for r in rows) \
            or not 1 <= len(rows[0]) <= most:
        raise SpecError.of(field, f"an image is 1 to {most} rows of 1 to {most} numbers, all rows as long")
    pixels = np.asarray(rows, np.float64)
    if not np.all(np.isfinite(pixels)) or pixels.min() < 0 or pixels.max() > 1:
        raise SpecError.of(field, "each pixel is a number from 0 to 1")
    return pixels


@router.post("/api/preview/layers")
def preview_layers(settings: SettingsDep, spec: Annotated[RunSpec, Body(description="A run spec")]):
    """Each layer's output shape and parameters, the output layer's, the total, and what is
    wrong (listed, not refused, so the layer editor can mark each layer). A microscopy run's
    `layers` are its U-Net's blocks ("down 1", ..., "bottom", "up 1", ...), then "output"."""
    problems: list[Problem] = check_limits(spec, settings.limits)
    shapes = None
    if not problems:  # shapes need numbers within their bounds
        shapes, problems = spec_problems(spec, settings.limits)
    listed = [{"field": p.field, "msg": p.message} for p in problems]
    if not shapes:  # the data set is at fault, or a U-Net run without its unet
        return {"input": None, "layers": [], "output": None, "total": None, "problems": listed}
    info = DATASETS.get(spec.dataset.name)
    image = info is not None and info.input == "image"
    return {"input": list(info.shape(merged_params(spec.dataset))) if image else [len(spec.features)],
            "layers": [s.as_json() for s in shapes[:-1]], "output": shapes[-1].as_json(),
            "total": sum(s.parameters for s in shapes), "problems": listed}


class ConvolveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    image: list[list[float]]
    kernel: list[list[float]]
    stride: int = 1
    padding: Literal["valid", "same"] = "valid"


@router.post("/api/preview/convolve")
def preview_convolve(request: ConvolveRequest):
    """One kernel over one image, as Keras's Conv2D computes it, and how the size follows."""
    image = _pixels(request.image, "image", MAX_CONVOLVE_SIDE)
    rows = request.kernel
    if not 1 <= len(rows) <= 7 or any(len(row) != len(rows) for row in rows):
        raise SpecError.of("kernel", "a kernel is a square of 1x1 to 7x7 numbers")
    kernel = np.asarray(rows, np.float64)
    if not np.all(np.isfinite(kernel)) or np.abs(kernel).max() > MAX_KERNEL_VALUE:
        raise SpecError.of("kernel", f"each weight is a number from -{MAX_KERNEL_VALUE:g} to {MAX_KERNEL_VALUE:g}")
    check_range("stride", request.stride, 1, 3)
    k = kernel.shape[0]
    if request.padding == "valid" and min(image.shape) < k:
        raise SpecError.of("kernel", f"a {k}x{k} kernel does not fit a {image.shape[0]}x{image.shape[1]} "
                                     "image with padding 'valid'")
    out = convolve(image, kernel, request.stride, request.padding)
    low, high = float(out.min()), float(out.max())
    scaled = np.round((out - low) / max(high - low, 1e-12) * 255).astype(np.uint8)
    return {"height": out.shape[0], "width": out.shape[1], "low": round(low, 5), "high": round(high, 5),
            "output": base64.b64encode(scaled.tobytes()).decode("ascii"),
            "formula": {"height": side_formula(image.shape[0], k, request.stride, request.padding),
                        "width": side_formula(image.shape[1], k, request.stride, request.padding)},
            "values": np.round(out, 4).tolist() if out.size <= 64 * 64 else None}


class PredictRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    image: list[list[float]] | None = None  # a drawing, rows of pixels in [0, 1]
    fit: bool = True  # crop the drawing to its ink and scale it as the data set's figures
    index: int | None = None  # or a gallery image, which becomes the probe


@router.post("/api/runs/{run_id}/predict",
             responses={401: {"description": "No token"}, 403: {"description": "Wrong token"},
                        409: {"description": "Not started yet, or ended on a lab server"}})
def predict(run_id: str, request: PredictRequest, service: ServiceDep, token: TokenDep):
    """One image through the run's current model: probabilities, the predicted class, the
    image as the network saw it, and its feature maps."""
    if (request.image is None) == (request.index is None):
        raise SpecError.of("body", "send either an image (rows of pixels) or a gallery index")
    spec = service.spec_of(run_id)
    image = None
    if request.image is not None:
        info = DATASETS.get(spec.dataset.name)
        if info is None or info.input != "image" or spec.unet is not None:
            raise SpecError.of("run", "only runs on image data sets classify an image")
        side = info.shape(merged_params(spec.dataset))[0]
        pixels = _pixels(request.image, "image", MAX_DRAWING_SIDE)
        image = fit_drawing(pixels, spec.dataset.name, side, request.fit).tolist()
    else:
        check_range("index", request.index, 0, gallery_size(spec) - 1)
    return service.predict(run_id, token, Command("predict", image=image, index=request.index))


def gallery_size(spec: RunSpec) -> int:
    """How many images a run's gallery has (test images, else validation, else training)."""
    d = spec.dataset
    return min(GALLERY, next((n for n in (d.n_test, d.n_val, d.n_train) if n), 1))
