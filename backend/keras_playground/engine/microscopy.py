"""What a microscopy run (a U-Net) needs beside the shared loop: each epoch's random patches,
its frame (the network's output for the probe image) and its final scores with the
classical baselines a class compares against (an Otsu threshold; Gaussian and median
filters). The scores are computed in numpy on the whole test images.
"""

from __future__ import annotations

import numpy as np

from ..data import microscopy as scope
from ..data.catalog import MICROSCOPY  # noqa: F401  (the session asks here which runs are microscopy)
from ..specs import FrameEvent, ImageMap
from .frames import b64



def patches(x: np.ndarray, y: np.ndarray, patch: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One random patch x patch crop of each image and its target, each flipped and turned
    by a random number of quarter turns (the same for both): new ones every epoch."""
    n, side = x.shape[0], x.shape[1]
    top = rng.integers(0, side - patch + 1, n)
    left = rng.integers(0, side - patch + 1, n)
    rows = top[:, None] + np.arange(patch)[None, :]
    cols = left[:, None] + np.arange(patch)[None, :]
    xp = x[np.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]]
    yp = y[np.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]]
    turns, flips = rng.integers(0, 4, n), rng.integers(0, 2, n).astype(bool)
    for i in range(n):  # n is small (tens of images): a loop of views costs nothing
        xp[i], yp[i] = np.rot90(xp[i], turns[i]), np.rot90(yp[i], turns[i])
        if flips[i]:
            xp[i], yp[i] = xp[i][:, ::-1], yp[i][:, ::-1]
    return np.ascontiguousarray(xp), np.ascontiguousarray(yp)


def map_frame(epoch: int, probe, probe_index: int) -> FrameEvent:
    data, low, high = probe
    output = ImageMap.model_construct(height=int(data.shape[1]), width=int(data.shape[2]),
                                      channels=int(data.shape[0]), low=round(float(low), 5),
                                      high=round(float(high), 5), data=b64(data))
    return FrameEvent.model_construct(
        epoch=epoch, resolution=None, extent=None, boundary=None, output_min=0.0, output_max=1.0, thumb=None,
        neurons=None, neuron_ranges=None, weights=None, filters=None, feature_maps=None, probe=None,
        gallery=None, output=output, probe_index=probe_index)


def crop_to_depth(image: np.ndarray, depth: int) -> np.ndarray:
    """`image` (height, width) cut down (from the bottom and the right) to sides that are
    multiples of 2^depth, as a U-Net of that depth needs."""
    step = 2 ** depth
    return image[:image.shape[0] // step * step, :image.shape[1] // step * step]


def apply_unet(model, unet, image: np.ndarray, epoch: int) -> dict:
    """A U-Net over one whole image (height, width) of raw values (8- or 16-bit counts or
    floats: its first layer normalizes each image by its own percentiles), cropped to a
    multiple of 2^depth: the `apply` route's answer. `output` is an ImageMap as in frames
    (probabilities from [0, 1]; a restored image from its own [low, high]); `mask` the
    foreground probability > 0.5 as 0/255 (segmentation; None for restoration)."""
    image = np.asarray(image, np.float32)
    step = 2 ** unet.depth
    if image.ndim != 2 or min(image.shape) < step or not np.all(np.isfinite(image)):
        raise ValueError(f"an image is one channel of finite numbers, at least {step}x{step} pixels")
    image = crop_to_depth(image, unet.depth)
    height, width = image.shape
    out = np.asarray(model(image[None, :, :, None], training=False), np.float32)[0]  # (h, w, channels)
    channels = np.moveaxis(out, -1, 0)
    restored = unet.output == "restored"
    low, high = (float(channels.min()), float(channels.max())) if restored else (0.0, 1.0)
    scaled = np.clip((channels - low) / max(high - low, 1e-12), 0.0, 1.0)
    output = ImageMap(height=height, width=width, channels=int(channels.shape[0]), low=round(low, 5),
                      high=round(high, 5), data=b64(np.round(scaled * 255)))
    mask = None if restored else b64((_foreground(out) > 0.5) * 255)
    return {"epoch": epoch, "height": height, "width": width, "output": output.model_dump(), "mask": mask}


def _foreground(outputs: np.ndarray) -> np.ndarray:
    """The foreground probability of a U-Net's outputs (one channel, or 1 - background)."""
    return outputs[..., 0] if outputs.shape[-1] == 1 else 1.0 - outputs[..., 0]


def segmentation_scores(outputs: np.ndarray, classes: np.ndarray, images: np.ndarray) -> dict:
    """Dice, IoU, pixel accuracy (and that of "all background"), matched instances at IoU 0.5,
    and an Otsu threshold's Dice on the same images."""
    truth = classes > 0
    predicted = _foreground(outputs) > 0.5
    if outputs.shape[-1] == 3:  # three classes: the interior's components, grown into the boundary
        found = scope.instances_from_classes(outputs.argmax(-1))
    else:  # the foreground's connected components (touching nuclei merge: what the boundary class is for)
        found = np.stack([scope.instances_from_classes(p.astype(np.int64)) for p in predicted])
    true_instances = scope.instances_from_classes(classes)
    matches = [scope.matched_f1(f, t) for f, t in zip(found, true_instances)]
    f1 = [m[0] for m in matches]
    otsu = np.stack([img[..., 0] > scope.otsu_threshold(img[..., 0]) for img in images])
    return {"dice": round(scope.dice(predicted, truth), 4), "iou": round(scope.iou(predicted, truth), 4),
            "pixel_accuracy": round(float(np.mean(predicted == truth)), 4),
            "background_accuracy": round(float(np.mean(~truth)), 4),
            "instance_f1": round(float(np.mean(f1)), 4), "instances": int(sum(m[1] for m in matches)),
            "true_instances": int(sum(m[2] for m in matches)),
            "baselines": {"otsu": {"dice": round(scope.dice(otsu, truth), 4)}}}


def restoration_scores(outputs: np.ndarray, clean: np.ndarray, images: np.ndarray) -> dict:
    """PSNR and SSIM of the restored test images, and of the noisy ones through a Gaussian
    and a median filter (the classical answers), on the same images."""
    from scipy import ndimage  # scipy comes with scikit-learn

    def figures(restored: np.ndarray) -> dict[str, float]:
        return {"psnr": round(float(np.mean([scope.psnr(r, c) for r, c in zip(restored, clean)])), 3),
                "ssim": round(float(np.mean([scope.ssim(r, c) for r, c in zip(restored, clean)])), 4)}

    noisy = images[..., 0]
    gaussian = np.stack([ndimage.gaussian_filter(img, 1.0) for img in noisy])[..., None]
    median = np.stack([ndimage.median_filter(img, 3) for img in noisy])[..., None]
    return {**figures(outputs), "baselines": {"noisy": figures(images), "gaussian": figures(gaussian),
                                              "median": figures(median)}}


def microscopy_scores(kind: str, outputs: np.ndarray, data) -> dict:
    """The `done` event's figures of a microscopy run on its test images."""
    if kind == "segmentation":
        return segmentation_scores(outputs, data.y_test, data.x_test)
    return restoration_scores(outputs, data.y_test, data.x_test)
