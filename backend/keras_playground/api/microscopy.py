"""A microscopy run's U-Net applied to an image of your own: a PNG or TIFF upload, decoded
and checked here (single channel, 8- or 16-bit or float, at most 1024x1024 and 8 MB), then
run through the run's current model (live) or its kept model (ended).

Decoding never trusts the file: its size is read from the header before any pixel is, and
whatever a decoder raises on a damaged file becomes a 422 naming `file`, never a 500.
"""

from __future__ import annotations

import io

import numpy as np
from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from ..specs import Problem, SpecError
from .body_limit import MAX_IMAGE_BYTES
from .deps import ServiceDep, TokenDep

router = APIRouter(tags=["microscopy"])

MAX_APPLY_SIDE = 1024
MEDIA_TYPES = {"image/png": "PNG", "image/tiff": "TIFF", "image/tif": "TIFF", "image/x-tiff": "TIFF"}
PIXEL_TYPES = ("uint8", "uint16", "float16", "float32", "float64")
GREYSCALE_ONLY = "single-channel (greyscale) images only"


class UnsupportedMedia(SpecError):
    """A body that is not declared a PNG or a TIFF (415, naming `file`)."""

    status = 415


def _refuse(message: str) -> SpecError:
    return SpecError([Problem(field="file", message=message)])


def _check_side(height: int, width: int, smallest: int) -> None:
    if height > MAX_APPLY_SIDE or width > MAX_APPLY_SIDE:
        raise _refuse(f"the image is {width}x{height} pixels; at most {MAX_APPLY_SIDE}x{MAX_APPLY_SIDE}")
    if height < smallest or width < smallest:
        raise _refuse(f"the image is {width}x{height} pixels; this U-Net needs at least "
                      f"{smallest}x{smallest} (2^depth)")


def _one_channel(pixels: np.ndarray) -> np.ndarray:
    """A 2-D image from (h, w) or (h, w, channels): greyscale saved as RGB(A) (identical
    colour channels, any alpha fully opaque) is accepted; colour is refused."""
    if pixels.ndim == 2:
        return pixels
    if pixels.ndim == 3 and pixels.shape[-1] in (2, 3, 4):
        colour = pixels[..., :1] if pixels.shape[-1] == 2 else pixels[..., :3]
        alpha = pixels[..., -1] if pixels.shape[-1] in (2, 4) else None
        opaque = alpha is None or bool(np.all(alpha == alpha.max()))
        if opaque and bool(np.all(colour == colour[..., :1])):
            return colour[..., 0]
    raise _refuse(f"{GREYSCALE_ONLY}; this one has {pixels.shape[-1] if pixels.ndim == 3 else pixels.ndim} "
                  "channels that differ")


def _png(data: bytes, smallest: int) -> np.ndarray:
    from PIL import Image

    with Image.open(io.BytesIO(data), formats=["PNG"]) as image:
        _check_side(image.height, image.width, smallest)  # read from the header: no pixel decoded yet
        if image.mode == "P":  # a palette: greyscale only if every colour used is a grey
            image = image.convert("RGBA")
        pixels = np.asarray(image)
    if pixels.dtype == bool:  # a 1-bit PNG
        pixels = pixels.astype(np.uint8)
    return pixels


def _tiff(data: bytes, smallest: int) -> np.ndarray:
    import tifffile

    with tifffile.TiffFile(io.BytesIO(data)) as tiff:
        if not tiff.pages or not tiff.series:
            raise ValueError("no image in the file")  # told as an unreadable TIFF
        if len(tiff.series) != 1 or len(tiff.pages) != 1:
            raise _refuse(f"one image per file, not a stack of {max(len(tiff.pages), len(tiff.series))}")
        series = tiff.series[0]
        stored = tuple(d for d in series.shape if d != 1)  # (1, h, w) is one image too
        planar = len(stored) == 3 and stored[0] in (2, 3, 4) and stored[-1] not in (2, 3, 4)
        shape = (*stored[1:], stored[0]) if planar else stored
        if len(shape) not in (2, 3):
            raise _refuse(f"{GREYSCALE_ONLY}; this one's shape is {tuple(series.shape)}")
        if len(shape) == 3 and shape[2] not in (2, 3, 4):  # bounded before any pixel is decoded
            raise _refuse(f"{GREYSCALE_ONLY}; this one has {shape[2]} samples a pixel")
        _check_side(shape[0], shape[1], smallest)
        if str(series.dtype) not in PIXEL_TYPES:
            raise _refuse(f"pixels of 8 or 16 bits (unsigned) or floats, not {series.dtype}")
        pixels = series.asarray().reshape(stored)
    return np.moveaxis(pixels, 0, -1) if planar else pixels


def decode_image(data: bytes, media_type: str, smallest: int) -> np.ndarray:
    """The single-channel image of a PNG or TIFF file (float32 [height][width], raw values),
    or a refusal naming `file`: not declared a PNG or TIFF (415), unreadable, colour, a stack,
    another pixel type, too large or too small for a U-Net of 2^depth = `smallest` (422)."""
    kind = MEDIA_TYPES.get(media_type.split(";")[0].strip().lower())
    if kind is None:
        raise UnsupportedMedia([Problem(field="file", message=(
            f"send a PNG or TIFF file as image/png or image/tiff, not {media_type or 'no Content-Type'}"))])
    if not data:
        raise _refuse("the file is empty")
    if len(data) > MAX_IMAGE_BYTES:  # the body limit refuses it first; the bound stays here too
        raise _refuse(f"the file is larger than {MAX_IMAGE_BYTES // (1024 * 1024)} MB")
    try:
        pixels = _png(data, smallest) if kind == "PNG" else _tiff(data, smallest)
    except SpecError:
        raise
    except Exception:  # whatever a damaged file makes a decoder raise is the file's fault
        raise _refuse(f"this is not a readable {kind} image") from None
    pixels = _one_channel(pixels)
    if str(pixels.dtype) not in PIXEL_TYPES:
        raise _refuse(f"pixels of 8 or 16 bits (unsigned) or floats, not {pixels.dtype}")
    image = pixels.astype(np.float32)
    if not np.all(np.isfinite(image)):
        raise _refuse("the image has pixels that are not finite numbers (NaN or infinite)")
    return image


@router.post("/api/runs/{run_id}/apply",
             openapi_extra={"requestBody": {"required": True, "content": {
                 "image/png": {"schema": {"type": "string", "format": "binary"}},
                 "image/tiff": {"schema": {"type": "string", "format": "binary"}}}}},
             responses={401: {"description": "No token"}, 403: {"description": "Wrong token"},
                        409: {"description": "Not started yet, or ended on a lab server"},
                        413: {"description": "Over 8 MB"}, 415: {"description": "Not a PNG or TIFF"}})
async def apply_image(run_id: str, request: Request, service: ServiceDep, token: TokenDep):
    """A PNG or TIFF (the raw bytes of the file) through a microscopy run's U-Net, whole:
    the network's output map and, for segmentation, its mask (docs/api.md)."""
    data = await request.body()
    media_type = request.headers.get("content-type", "")

    def apply() -> dict:  # decoding and the network take CPU: off the event loop
        spec = service.microscopy_spec(run_id, token)
        image = decode_image(data, media_type, 2 ** spec.unet.depth)
        return service.apply(run_id, token, image)

    return await run_in_threadpool(apply)
