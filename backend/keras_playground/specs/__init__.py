"""The run spec, its limits and the training events: the contract every layer shares.

This is the ground floor: it imports nothing else from the package. Each name is
re-exported here, so the rest of the package imports from `keras_playground.specs`.

>>> spec = parse_spec({"dataset": {"name": "line"}, "features": ["x1", "x2"],
...                    "layers": [], "training": {"epochs": 5}})
>>> spec.training.optimizer
'adam'
"""

from .errors import (Problem, Refusal, SpecError, TryLater, check_range, field_path, format_bound,
                     range_problem)
from .events import (FINAL_STATES, DoneEvent, EpochEvent, ErrorEvent, Event, FeatureMaps, FilterSet,
                     FrameEvent, Gallery, ImageMap, LayerWeights, Probe, RunState, StartEvent, StatusEvent)
from .layers import (IMAGE_ONLY, AnyLayer, BatchNormLayer, Conv2DLayer, DenseLayer, DropoutLayer,
                     FlattenLayer, GlobalAvgPoolLayer, LayerShape, LayerSpec, MaxPool2DLayer,
                     layer_shapes, total_parameters, unet_shapes)
from .run import (AugmentSpec, DatasetSpec, Limits, RunSpec, TrainingSpec, UNetSpec, check_limits,
                  layer_catalog, parse_spec)
from .vocab import (ACTIVATIONS, FEATURES, LAYER_TYPES, LOSSES, OPTIMIZERS, PADDINGS, REGULARIZATIONS,
                    UNET_OUTPUTS, Activation, Feature, InputKind, LayerType, LossName, OptimizerName, Padding,
                    ProblemKind, Regularization, UNetOutput)

__all__ = [
    "ACTIVATIONS", "FEATURES", "FINAL_STATES", "IMAGE_ONLY", "LAYER_TYPES", "LOSSES", "OPTIMIZERS",
    "PADDINGS", "REGULARIZATIONS", "Activation", "AnyLayer", "AugmentSpec", "BatchNormLayer",
    "Conv2DLayer", "DatasetSpec", "DenseLayer", "DoneEvent", "DropoutLayer", "EpochEvent",
    "ErrorEvent", "Event", "Feature", "FeatureMaps", "FilterSet", "FlattenLayer", "FrameEvent",
    "Gallery", "GlobalAvgPoolLayer", "ImageMap", "InputKind", "LayerShape", "LayerSpec", "LayerType",
    "LayerWeights", "Limits", "LossName", "MaxPool2DLayer", "OptimizerName", "Padding", "Probe",
    "Problem", "ProblemKind", "Refusal", "Regularization", "RunSpec", "RunState", "SpecError",
    "StartEvent", "StatusEvent", "TrainingSpec", "TryLater", "UNET_OUTPUTS", "UNetOutput", "UNetSpec", "check_limits", "check_range",
    "field_path", "format_bound", "layer_catalog", "layer_shapes", "parse_spec", "range_problem", "total_parameters", "unet_shapes",
]
