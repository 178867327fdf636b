"""Image sessions: frames stay small whatever the network, the filters and maps change as
the network learns, a picked probe is shown from then on, and old specs still mean dense."""

import json

import pytest

from keras_playground.data import validate_spec
from keras_playground.engine.session import TrainingSession
from keras_playground.specs import Limits

LARGEST = [{"type": "conv2d", "filters": 32, "kernel_size": 7, "padding": "same"},
           *[{"type": "conv2d", "filters": 32, "kernel_size": 3, "padding": "same"}] * 3,
           {"type": "batchnorm"}, {"type": "maxpool2d", "pool_size": 2},
           {"type": "conv2d", "filters": 32, "kernel_size": 3, "padding": "same"},
           {"type": "global_avg_pool"}, {"type": "dense", "units": 64}, {"type": "dropout", "rate": 0.5}]


def session_for(name, params, layers, epochs=1, n_test=100, **training):
    spec = validate_spec({"dataset": {"name": name, "n_train": 64, "n_val": 16, "n_test": n_test,
                                      "params": params},
                          "layers": layers, "training": {"epochs": epochs, "batch_size": 32, **training}}, Limits())
    return TrainingSession(spec, max_frames_per_second=None)


@pytest.mark.parametrize("name, params", [("cells", {"size": 48}), ("digits", {"canvas": 32})])
def test_a_frame_of_the_largest_network_stays_under_64_kb(name, params):
    session = session_for(name, params, LARGEST)
    start, frame = session.start_events()
    size = len(frame.model_dump_json())
    assert size < 64_000, size
    assert sum(f.filters for f in frame.filters) >= 32  # the first layer's filters, at least, all go
    assert frame.feature_maps[0].channels >= 4


def test_filters_and_feature_maps_change_as_the_network_learns():
    session = session_for("shapes", {"size": 16}, [{"type": "conv2d", "filters": 4}, {"type": "maxpool2d"},
                                                    {"type": "flatten"}], epochs=2, learning_rate=0.01)
    _, first = session.start_events()
    frames = [e for e in session.train_epoch() + session.train_epoch() if e.kind == "frame"]
    assert frames[-1].filters[0].data != first.filters[0].data
    assert frames[-1].feature_maps[0].data != first.feature_maps[0].data
    assert frames[-1].probe.probabilities != first.probe.probabilities


def test_a_picked_gallery_image_becomes_the_probe_of_the_next_frames():
    session = session_for("digits", {"canvas": 10}, [{"type": "flatten"}], epochs=2, n_test=30)
    session.start_events()
    answer = session.predict(index=7)
    frame = next(e for e in session.train_epoch() if e.kind == "frame")
    assert frame.probe.index == 7 and frame.probe.label == int(session.gallery_labels[7])
    assert len(answer["probabilities"]) == 10 and answer["epoch"] == 0


def test_a_layer_without_type_is_dense_as_before():
    spec = validate_spec({"dataset": {"name": "line"}, "layers": [{"units": 3, "activation": "tanh"}]}, Limits())
    assert spec.layers[0].type == "dense" and spec.layers[0].units == 3
    assert json.loads(spec.model_dump_json())["layers"][0] == {"type": "dense", "units": 3, "activation": "tanh",
                                                               "dropout": 0.0}
