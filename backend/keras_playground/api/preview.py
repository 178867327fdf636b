"""What the page shows before a run exists: the data set's points, the Keras script (and
notebook) of the current settings, and the points of an uploaded CSV.

Each checks the spec exactly as `POST /api/runs` does, so an error shows before Train.
"""

from __future__ import annotations

from typing import Annotated

import numpy as np

from fastapi import APIRouter, Body, Request, Response
from fastapi.responses import PlainTextResponse

from ..data import CsvError, gallery_split, make_dataset, parse_csv, probe_split, validate_spec
from ..data.truth import true_boundary
from ..data.validate import MAX_CLASSES, validate_data
from ..engine.codegen import export_script
from ..engine.frames import b64
from ..engine.notebook import MEDIA_TYPE, notebook_text
from ..specs import RunSpec
from .deps import SettingsDep

router = APIRouter(prefix="/api/preview", tags=["preview"])
TRAIN_SAMPLE = 48  # training images the data panel shows
MICROSCOPY_TRAIN_SAMPLE = 12  # microscopy: fewer, larger images, each beside its truth


def _images(x, labels) -> dict:
    """Images as the page draws them: base64 of uint8 [count][height][width] (pixel * 255)."""
    pixels = np.round(np.clip(x[..., 0], 0, 1) * 255).astype(np.uint8)
    return {"count": len(x), "labels": [int(v) for v in labels],
            "images": b64(pixels)}


def _stretched(images) -> np.ndarray:
    """Each image (n, h, w) mapped from its own min..max to 0..255 (uint8)."""
    images = np.asarray(images, np.float64)
    low = images.min(axis=(1, 2), keepdims=True)
    high = images.max(axis=(1, 2), keepdims=True)
    return np.round((images - low) / np.maximum(high - low, 1e-12) * 255).astype(np.uint8)


def _microscopy(ds) -> dict:
    """A microscopy data set as the page draws it: the probe image (the one frames' `output`
    shows the network's answer for) and the first training images, each beside its truth:
    the class map (0 background, 1 interior, 2 boundary) or the clean image."""
    segmentation = ds.kind == "segmentation"

    def truth(y) -> np.ndarray:
        return np.asarray(y, np.uint8) if segmentation else _stretched(y[..., 0])

    x, y = probe_split(ds)  # the probe of every frame (session.py): the first of these
    image = x[0, ..., 0]
    probe = {"index": 0, "image": b64(_stretched(x[:1, ..., 0])[0]), "truth": b64(truth(y[:1])[0]),
             "low": round(float(image.min()), 5), "high": round(float(image.max()), 5)}
    if not segmentation:
        probe["truth_low"], probe["truth_high"] = round(float(y[0].min()), 5), round(float(y[0].max()), 5)
    xt, yt = ds.x_train[:MICROSCOPY_TRAIN_SAMPLE], ds.y_train[:MICROSCOPY_TRAIN_SAMPLE]
    return {"input": "image", "kind": ds.kind, "shape": list(ds.shape), "probe": probe,
            "train": {"count": len(xt), "images": b64(_stretched(xt[..., 0])), "truth": b64(truth(yt))}}


def _rows(xy, labels) -> list[list[float]]:
    return [[round(float(a), 4), round(float(b), 4), round(float(c), 4)] for (a, b), c in zip(xy, labels)]


@router.post("/data")
def preview_data(settings: SettingsDep, spec: Annotated[RunSpec, Body(description="A run spec")]):
    """The spec's data set as drawn for a run: `train`, `val`, `test` rows of [x1, x2, label],
    and `true_boundary`: the polylines the generator separates the classes by (or null).
    Images: the first training images and the gallery's; microscopy: the probe image and the
    first training images with their truth (docs/api.md). Only the data set is
    checked: the data shows while the layers are still being edited."""
    spec = validate_data(spec.model_dump(), settings.limits)
    ds = make_dataset(spec.dataset)
    if ds.kind in ("segmentation", "restoration"):
        return _microscopy(ds)
    if ds.input == "image":
        return {"input": "image", "kind": ds.kind, "n_classes": ds.n_classes, "classes": list(ds.class_names),
                "shape": list(ds.shape), "train": _images(ds.x_train[:TRAIN_SAMPLE], ds.y_train[:TRAIN_SAMPLE]),
                "gallery": _images(*gallery_split(ds))}
    return {"input": "points", "kind": ds.kind, "n_classes": ds.n_classes, "extent": ds.extent,
            "train": _rows(ds.x_train, ds.y_train), "val": _rows(ds.x_val, ds.y_val),
            "test": _rows(ds.x_test, ds.y_test), "true_boundary": true_boundary(spec.dataset, ds.extent)}


@router.post("/code", response_class=PlainTextResponse)
def preview_code(settings: SettingsDep, spec: Annotated[RunSpec, Body(description="A run spec")]):
    """The standalone Keras script (train.py) for these settings."""
    return PlainTextResponse(export_script(validate_spec(spec.model_dump(), settings.limits)))


@router.post("/notebook")
def preview_notebook(settings: SettingsDep, spec: Annotated[RunSpec, Body(description="A run spec")]):
    """The Jupyter notebook (.ipynb) for these settings."""
    text = notebook_text(validate_spec(spec.model_dump(), settings.limits))
    return Response(text, media_type=MEDIA_TYPE,
                    headers={"Content-Disposition": 'attachment; filename="playground.ipynb"'})


@router.post("/csv", openapi_extra={"requestBody": {"content": {"text/csv": {"schema": {"type": "string"}}}}})
async def preview_csv(request: Request, settings: SettingsDep):
    """The points of a CSV with the header x1,x2,label (422 naming the line at fault)."""
    try:
        text = (await request.body()).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CsvError(f"The file is not UTF-8 text (byte {exc.start}).") from None
    points = parse_csv(text, settings.limits.max_points, MAX_CLASSES, settings.limits.max_abs_coordinate)
    return {"points": [list(p) for p in points], "classes": len({p[2] for p in points})}
