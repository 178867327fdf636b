"""Keras's names for the spec's vocabulary, without importing Keras: the engine compiles
with them and the exported code writes them, so both say the same."""

from __future__ import annotations

LOSS_NAMES = {
    "binary_crossentropy": "binary_crossentropy",
    "categorical_crossentropy": "categorical_crossentropy",
    "mse": "mean_squared_error",
    "mae": "mean_absolute_error",
    "dice": "dice_loss",  # ours (engine/unet.py): Keras has no Dice loss
    "bce_dice": "bce_dice_loss",
}


def metric_name(kind: str) -> str:
    """The metric a problem is judged by: accuracy, mean absolute error for regression, the
    Dice score for segmentation, PSNR for restoration."""
    return {"regression": "mae", "segmentation": "dice", "restoration": "psnr"}.get(kind, "accuracy")
