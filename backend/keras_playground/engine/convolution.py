"""One filter over one image, as Keras's Conv2D computes it (cross-correlation, no bias,
linear), in numpy: the convolution panel runs on any web replica, which loads no
TensorFlow. tests/engine/test_convolution.py holds it equal to a real Conv2D.
"""

from __future__ import annotations

import math

import numpy as np


def output_side(side: int, kernel: int, stride: int, padding: str) -> int:
    if padding == "same":
        return math.ceil(side / stride)
    return (side - kernel) // stride + 1


def side_formula(side: int, kernel: int, stride: int, padding: str) -> str:
    """How the output's side follows from the input's, in numbers."""
    out = output_side(side, kernel, stride, padding)
    if padding == "same":
        return f"ceil({side} / {stride}) = {out}"
    return f"floor(({side} - {kernel}) / {stride}) + 1 = {out}"


def convolve(image: np.ndarray, kernel: np.ndarray, stride: int, padding: str) -> np.ndarray:
    """A 2-D image through a 2-D kernel; 'same' pads as TensorFlow does (the odd pixel after)."""
    k_h, k_w = kernel.shape
    out_h = output_side(image.shape[0], k_h, stride, padding)
    out_w = output_side(image.shape[1], k_w, stride, padding)
    if padding == "same":
        pad_h = max((out_h - 1) * stride + k_h - image.shape[0], 0)
        pad_w = max((out_w - 1) * stride + k_w - image.shape[1], 0)
        image = np.pad(image, ((pad_h // 2, pad_h - pad_h // 2), (pad_w // 2, pad_w - pad_w // 2)))
    windows = np.lib.stride_tricks.sliding_window_view(image, (k_h, k_w))[::stride, ::stride]
    return np.einsum("ijkl,kl->ij", windows[:out_h, :out_w], kernel)
