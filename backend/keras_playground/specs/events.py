"""What a run emits, in order: the stream protocol carries these events as JSON
(docs/api.md). A frame shows the plane (points) or the network's view of images."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

RunState = Literal["queued", "running", "paused", "finished", "stopped", "early_stopped",
                   "diverged", "failed", "interrupted"]
FINAL_STATES = ("finished", "stopped", "early_stopped", "diverged", "failed", "interrupted")


class StatusEvent(BaseModel):
    kind: Literal["status"] = "status"
    state: RunState
    epoch: int = 0
    queue_position: int | None = None
    message: str | None = None
    worker: str | None = None  # who trains it, on a lab server (host:pid)


class EpochEvent(BaseModel):
    """Metrics of one finished epoch. `metric` is accuracy (classification) or mae."""

    kind: Literal["epoch"] = "epoch"
    epoch: int  # 1-based
    loss: float | None  # None when not finite (see the `diverged` state)
    metric: float | None
    val_loss: float | None = None
    val_metric: float | None = None
    learning_rate: float
    seconds: float  # wall time of this epoch's training
    # Microscopy: more figures on the validation images, e.g. val_iou, val_pixel_accuracy,
    # background_accuracy (of predicting "all background"), val_ssim.
    extras: dict[str, float | None] | None = None


class StartEvent(BaseModel):
    """The untrained network (random weights, zero bias) before its first update: epoch 0.
    Its loss and metric are evaluated on the whole training and validation sets."""

    kind: Literal["start"] = "start"
    epoch: Literal[0] = 0
    loss: float | None
    metric: float | None
    val_loss: float | None = None
    val_metric: float | None = None


class LayerWeights(BaseModel):
    kernel: list[list[float]]  # [inputs][units]
    bias: list[float]


class FilterSet(BaseModel):
    """The kernels of one conv2d layer as small images: base64 of uint8
    [filters][channels][size][size], mapped from [-scale, scale] (128 is a weight of 0).
    Only the first `filters` filters and `channels` input channels are sent."""

    layer: int  # its index in the spec's layers
    filters: int
    channels: int
    size: int
    scale: float
    data: str


class FeatureMaps(BaseModel):
    """One layer's output for the probe image: base64 of uint8 [channels][height][width],
    each map from its own [low, high] (`ranges`). The first `channels` of `total`."""

    layer: int
    type: str
    height: int
    width: int
    channels: int
    total: int
    ranges: list[tuple[float, float]]
    data: str


class Probe(BaseModel):
    """The probe image (a test image, by its index) and the class probabilities for it."""

    index: int
    label: int
    probabilities: list[float]


class ImageMap(BaseModel):
    """An image the network puts out (a probability map, a restored image), base64 of uint8
    [channels][height][width], each channel mapped from [low, high]."""

    height: int
    width: int
    channels: int
    low: float
    high: float
    data: str


class Gallery(BaseModel):
    """Predictions on the first `total` test images, the misclassified ones first."""

    indices: list[int]
    predicted: list[int]
    confidence: list[float]  # the predicted class's probability
    wrong: int  # how many of the `total` are misclassified
    total: int


class FrameEvent(BaseModel):
    """What the model makes of its inputs after an epoch, compact (uint8, base64).

    Points: `boundary` is base64 of a resolution x resolution uint8 grid, row-major, rows
    from the bottom (y_min) up. Binary: probability * 255. Multi-class: the class index.
    Regression: the output mapped from [output_min, output_max] to 0..255.
    `neurons[l][u]` is base64 of a thumb x thumb uint8 map of hidden layer l, unit u,
    mapped from that neuron's own [low, high] (`neuron_ranges[l][u]`).
    Images: `filters`, `feature_maps`, `probe`, `gallery` instead (the plane's fields null).
    """

    kind: Literal["frame"] = "frame"
    epoch: int
    resolution: int | None = None
    extent: tuple[float, float, float, float] | None = None  # x_min, x_max, y_min, y_max
    boundary: str | None = None
    output_min: float = 0.0
    output_max: float = 1.0
    thumb: int | None = None
    neurons: list[list[str]] | None = None
    neuron_ranges: list[list[tuple[float, float]]] | None = None
    weights: list[LayerWeights] | None = None
    filters: list[FilterSet] | None = None
    feature_maps: list[FeatureMaps] | None = None
    probe: Probe | None = None
    gallery: Gallery | None = None
    # Microscopy: the network's output for the probe image (validation image `probe_index`).
    output: ImageMap | None = None
    probe_index: int | None = None


class DoneEvent(BaseModel):
    kind: Literal["done"] = "done"
    state: RunState
    epochs: int  # epochs trained
    loss: float | None
    metric: float | None
    val_loss: float | None
    val_metric: float | None
    test_loss: float | None
    test_metric: float | None
    metric_name: Literal["accuracy", "mae", "dice", "psnr"]
    confusion_matrix: list[list[int]] | None  # [true][predicted], test set
    parameters: int
    message: str | None = None
    # With early stopping: the epoch whose weights were kept (the lowest val_loss, as Keras's
    # restore_best_weights); the final frame, the test figures and the model are of it.
    best_epoch: int | None = None
    # Classification: the share of each true class's test examples predicted right (null for
    # a class with no test example), in class order.
    per_class_accuracy: list[float | None] | None = None
    # Microscopy, on the test images: segmentation `dice`, `iou`, `pixel_accuracy`,
    # `background_accuracy`, `instance_f1` (matched at IoU 0.5), `instances` (found) and
    # `true_instances`; restoration `psnr`, `ssim`. `baselines` holds what classical methods
    # reach on the same images: {"otsu": {"dice": ...}} or {"gaussian": {"psnr", "ssim"}, ...}.
    dice: float | None = None
    iou: float | None = None
    pixel_accuracy: float | None = None
    background_accuracy: float | None = None
    instance_f1: float | None = None
    instances: int | None = None
    true_instances: int | None = None
    psnr: float | None = None
    ssim: float | None = None
    baselines: dict[str, dict[str, float]] | None = None


class ErrorEvent(BaseModel):
    kind: Literal["error"] = "error"
    message: str


Event = Annotated[StatusEvent | StartEvent | EpochEvent | FrameEvent | DoneEvent | ErrorEvent,
                  Field(discriminator="kind")]
