"""Microscopy runs through the HTTP API: the data and U-Net blocks the page previews, the
suggested specs beating their classical baselines, an uploaded PNG or TIFF applied to a
run's U-Net (live and ended) with every refusal naming its field, and the downloaded model
applied to a large 16-bit image as docs/run-spec.md shows it."""

import base64
import io
import re
import time
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

from keras_playground.data import make_dataset, probe_split
from keras_playground.data.catalog import DATASETS
from keras_playground.data.microscopy import nuclei
from keras_playground.specs import parse_spec

from .conftest import create, read_until, stream_to_end

DOCS = Path(__file__).resolve().parents[2] / "docs"


def suggested(name, epochs=None, **dataset):
    """The catalog's suggested spec of a microscopy data set (what choosing it applies)."""
    s = DATASETS[name].suggested
    training = {**s["training"], **({"epochs": epochs} if epochs else {})}
    return {"dataset": {"name": name, **s["dataset"], **dataset}, "unet": dict(s["unet"]), "training": training}


def small(name="nuclei", epochs=2):
    """A microscopy run of a few seconds."""
    spec = suggested(name, epochs, n_train=8, n_val=4, n_test=4)
    spec["unet"]["base_filters"] = 4
    return spec


def png(pixels) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(pixels)).save(buffer, format="PNG")
    return buffer.getvalue()


def tiff(pixels, **kw) -> bytes:
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, np.asarray(pixels), **kw)
    return buffer.getvalue()


def unpack(image_map) -> np.ndarray:
    data = np.frombuffer(base64.b64decode(image_map["data"]), np.uint8)
    return data.reshape(image_map["channels"], image_map["height"], image_map["width"])


def apply(client, run, body, content_type="image/png", token=True):
    headers = {"Content-Type": content_type}
    if token:
        headers["Authorization"] = f"Bearer {run['token']}"
    return client.post(f"/api/runs/{run['id']}/apply", content=body, headers=headers)


def micrograph(side=96, seed=3) -> tuple[np.ndarray, np.ndarray]:
    """A raw 8-bit-like micrograph of nuclei (float, about 0..1.5) and its foreground."""
    scope = nuclei(1, np.random.default_rng(seed), 0.02, size=128)  # sides: multiples of 16 up to 128
    return scope.images[0, :side, :side, 0], scope.foreground[0, :side, :side, 0] > 0.5


# ----- what the page shows before Train -----

@pytest.mark.parametrize("name, kind", [("nuclei", "segmentation"), ("nuclei-denoise", "restoration")])
def test_preview_data_gives_the_probe_and_training_images_with_their_truth(client, name, kind):
    spec = suggested(name)
    answer = client.post("/api/preview/data", json=spec).json()
    assert answer["input"] == "image" and answer["kind"] == kind and answer["shape"] == [64, 64, 1]
    ds = make_dataset(parse_spec(spec).dataset)
    x, y = (a[:1] for a in probe_split(ds))  # the probe of every frame: the first of these
    probe = answer["probe"]
    assert probe["index"] == 0
    assert (probe["low"], probe["high"]) == (round(float(x.min()), 5), round(float(x.max()), 5))
    image = np.frombuffer(base64.b64decode(probe["image"]), np.uint8).reshape(64, 64)
    expected = np.round((x[0, ..., 0] - x.min()) / (x.max() - x.min()) * 255)
    assert np.abs(image.astype(int) - expected).max() <= 1 and image.min() == 0 and image.max() == 255
    truth = np.frombuffer(base64.b64decode(probe["truth"]), np.uint8).reshape(64, 64)
    train = answer["train"]
    assert train["count"] == 12
    assert len(base64.b64decode(train["images"])) == len(base64.b64decode(train["truth"])) == 12 * 64 * 64
    if kind == "segmentation":
        assert np.array_equal(truth, y[0]) and set(np.unique(truth)) == {0, 1, 2}
    else:
        assert truth.min() == 0 and truth.max() == 255 and probe["truth_high"] > probe["truth_low"]


@pytest.mark.parametrize("name, output, total", [("nuclei", "foreground", 29801),
                                                  ("nuclei-denoise", "restored", 29321)])  # no batchnorm
def test_preview_layers_gives_the_unet_blocks(client, name, output, total):
    answer = client.post("/api/preview/layers", json=suggested(name)).json()
    assert answer["input"] == [64, 64, 1] and answer["problems"] == []
    assert [(b["type"], b["output_shape"]) for b in answer["layers"]] == [
        ("down 1", [64, 64, 8]), ("down 2", [32, 32, 16]), ("bottom", [16, 16, 32]),
        ("up 2", [32, 32, 16]), ("up 1", [64, 64, 8])]
    assert answer["output"] == {"type": "output", "output_shape": [64, 64, 1], "parameters": 9}
    assert answer["total"] == sum(b["parameters"] for b in answer["layers"]) + 9 == total
    three = suggested("nuclei")
    three["unet"]["output"], three["training"]["loss"] = "three_class", None
    assert client.post("/api/preview/layers", json=three).json()["output"]["output_shape"] == [64, 64, 3]
    wrong = suggested(name)
    wrong["unet"]["patch"] = 128
    del wrong["unet"]["output"]
    problems = client.post("/api/preview/layers", json={"dataset": {"name": name}}).json()["problems"]
    assert [p["field"] for p in problems] == ["unet"]
    fields = {p["field"] for p in client.post("/api/preview/layers", json=wrong).json()["problems"]}
    assert "unet.patch" in fields


# ----- applying a run's U-Net to an uploaded image -----

def test_a_run_applies_to_a_png_and_a_16_bit_tiff_live_and_once_ended(client):
    spec = small(epochs=3)
    run = client.post("/api/runs?paused=true", json=spec, headers={"X-Client-Id": "t"}).json()
    image, _ = micrograph(98)  # 98: cropped to 96, a multiple of 2^depth = 4
    as_png = png(np.round(np.clip(image, 0, 1) * 255).astype(np.uint8))
    as_tiff = tiff(np.round(image * 40000).astype(np.uint16))
    with client.websocket_connect(f"/api/runs/{run['id']}/stream") as ws:
        read_until(ws, lambda e: e["kind"] == "start")
        for body, media in ((as_png, "image/png"), (as_tiff, "image/tiff")):
            started = time.perf_counter()
            live = apply(client, run, body, media)
            assert live.status_code == 200, live.text
            answer = live.json()
            assert time.perf_counter() - started < 5
            assert answer["epoch"] == 0 and (answer["height"], answer["width"]) == (96, 96)
            output = answer["output"]
            assert (output["channels"], output["height"], output["width"], output["low"], output["high"]) == \
                (1, 96, 96, 0.0, 1.0)
            mask = np.frombuffer(base64.b64decode(answer["mask"]), np.uint8).reshape(96, 96)
            assert set(np.unique(mask)) <= {0, 255}
            shown = unpack(output)[0].astype(int)
            clear = np.abs(shown - 127.5) > 1  # not rounded across 0.5 on the way to uint8
            assert clear.any() and np.array_equal((mask == 255)[clear], (shown > 127.5)[clear])
        client.post(f"/api/runs/{run['id']}/control", json={"action": "resume"},
                    headers={"Authorization": f"Bearer {run['token']}"})
        events = read_until(ws, lambda e: e["kind"] == "done")
    last_frame = [e for e in events if e["kind"] == "frame"][-1]
    ended = apply(client, run, as_tiff, "image/tiff")
    assert ended.status_code == 200, ended.text
    assert ended.json()["epoch"] == -1  # from the kept model, from the moment `done` is out
    # The kept model is the run's final network: on the probe image it answers as the last frame.
    probe, _ = probe_split(make_dataset(parse_spec(spec).dataset))
    kept = apply(client, run, tiff(probe[0, ..., 0].astype(np.float32)), "image/tiff").json()
    assert np.abs(unpack(kept["output"]).astype(int) - unpack(last_frame["output"]).astype(int)).max() <= 1


def test_a_restoration_run_answers_the_restored_image_and_no_mask(client):
    run = create(client, small("nuclei-denoise", epochs=1))
    stream_to_end(client, run["id"])
    image, _ = micrograph(64)
    answer = apply(client, run, tiff(image.astype(np.float32)), "image/tif").json()
    assert answer["mask"] is None and answer["output"]["channels"] == 1
    assert answer["output"]["high"] > answer["output"]["low"]
    restored = unpack(answer["output"])
    assert restored.min() == 0 and restored.max() == 255


def _rgb(grey: bool) -> bytes:
    pixels = np.random.default_rng(0).integers(0, 255, (32, 32, 3), dtype=np.uint8)
    if grey:
        pixels[..., 1] = pixels[..., 2] = pixels[..., 0]
    return png(pixels)


def test_greyscale_saved_as_rgb_is_taken_and_colour_is_refused(client):
    run = create(client, small(epochs=1))
    stream_to_end(client, run["id"])
    assert apply(client, run, _rgb(grey=True)).status_code == 200
    refused = apply(client, run, _rgb(grey=False))
    assert refused.status_code == 422
    (problem,) = refused.json()["detail"]
    assert problem["field"] == "file" and "single-channel (greyscale) images only" in problem["msg"]


def _truncated() -> bytes:
    whole = png(np.zeros((64, 64), np.uint8) + np.arange(64, dtype=np.uint8))
    return whole[:len(whole) // 2]


@pytest.mark.parametrize("body, media, status, words", [
    (b"this is not an image", "image/png", 422, "not a readable PNG image"),
    (b"II*\x00garbage", "image/tiff", 422, "not a readable TIFF image"),
    (_truncated(), "image/png", 422, "not a readable PNG image"),
    (b"", "image/png", 422, "the file is empty"),
    (png(np.zeros((1100, 40), np.uint8)), "image/png", 422, "40x1100 pixels; at most 1024x1024"),
    (tiff(np.zeros((2, 2), np.uint16)), "image/tiff", 422, "at least 4x4 (2^depth)"),
    (tiff(np.zeros((32, 32), np.int32)), "image/tiff", 422, "8 or 16 bits (unsigned) or floats, not int32"),
    (tiff(np.zeros((3, 32, 32), np.uint16), photometric="minisblack"), "image/tiff", 422, "stack of 3"),
    (tiff(np.full((32, 32), np.nan, np.float32)), "image/tiff", 422, "not finite"),
    (png(np.zeros((32, 32), np.uint8)), "text/plain", 415, "send a PNG or TIFF file"),
    (png(np.zeros((32, 32), np.uint8)), "", 415, "not no Content-Type"),
    (b"\x00" * (8 * 1024 * 1024 + 1), "image/png", 413, "larger than 8 MB"),
])
def test_a_bad_upload_is_refused_naming_the_file(client, body, media, status, words):
    run = create(client, small(epochs=1))
    stream_to_end(client, run["id"])
    headers = {"Authorization": f"Bearer {run['token']}"}
    if media:
        headers["Content-Type"] = media
    response = client.post(f"/api/runs/{run['id']}/apply", content=body, headers=headers)
    assert response.status_code == status, response.text
    (problem,) = response.json()["detail"]
    assert problem["field"] == "file" and words in problem["msg"], problem


def test_applying_needs_the_token_and_a_microscopy_run(client):
    run = create(client, small(epochs=1))
    body = png(np.zeros((32, 32), np.uint8))
    assert apply(client, run, body, token=False).status_code == 401
    assert client.post(f"/api/runs/{run['id']}/apply", content=body,
                       headers={"Content-Type": "image/png", "Authorization": "Bearer nope"}).status_code == 403
    stream_to_end(client, run["id"])
    points = create(client)
    stream_to_end(client, points["id"])
    refused = apply(client, points, body)
    assert refused.status_code == 422 and refused.json()["detail"][0]["field"] == "run"
    assert client.post("/api/runs/nothing/apply", content=body, headers={"Content-Type": "image/png"}).status_code == 404
    classify = client.post(f"/api/runs/{run['id']}/predict", json={"index": 0},
                           headers={"Authorization": f"Bearer {run['token']}"})
    assert classify.status_code == 422 and classify.json()["detail"][0]["field"] == "run"


# ----- what the suggested specs reach, and the downloaded model -----

def _tiled_micrograph(tiles=4, side=128, seed=11) -> tuple[np.ndarray, np.ndarray]:
    """A 512x512 uint16 field of nuclei (4x4 synthetic 128 px tiles, x 40000) and its foreground."""
    scope = nuclei(tiles * tiles, np.random.default_rng(seed), 0.02, size=side)

    def compose(a):
        return a.reshape(tiles, tiles, side, side).transpose(0, 2, 1, 3).reshape(tiles * side, tiles * side)

    image = np.clip(np.round(compose(scope.images[..., 0]) * 40000), 0, 65535).astype(np.uint16)
    return image, compose(scope.foreground[..., 0]) > 0.5


def _five_lines() -> str:
    """The Python docs/run-spec.md shows for applying a downloaded model."""
    text = (DOCS / "run-spec.md").read_text()
    block = re.search(r"<!-- apply-model -->\s*```python\n(.*?)```", text, re.S).group(1)
    assert len(block.strip().splitlines()) == 5
    return block


def test_the_downloaded_model_segments_a_512_pixel_16_bit_image(client, tmp_path, monkeypatch):
    run = create(client, suggested("nuclei", epochs=15))
    done = stream_to_end(client, run["id"])[-1]
    assert done["kind"] == "done" and done["dice"] > 0.8, done
    model_file = client.get(f"/api/runs/{run['id']}/model")
    assert model_file.status_code == 200

    import keras

    import keras_playground.engine.unet  # noqa: F401  registers the custom layer, losses and metrics

    (tmp_path / "model.keras").write_bytes(model_file.content)
    model = keras.models.load_model(tmp_path / "model.keras")
    image, foreground = _tiled_micrograph()
    probability = model.predict(image[None, ..., None], verbose=0)[0, ..., 0]
    assert probability.shape == (512, 512)
    assert np.mean(probability[foreground] > 0.5) > 0.8  # most nucleus pixels found
    assert np.mean(probability[~foreground] < 0.5) > 0.9  # and little background taken for one

    # The docs' five lines, as written, on a TIFF of the same image.
    tifffile.imwrite(tmp_path / "cells.tif", image)
    monkeypatch.chdir(tmp_path)
    scope: dict = {}
    exec(_five_lines(), scope)
    assert np.allclose(scope["probability"], probability, atol=1e-4)

    # The apply route gives the same map (from the kept model) on the same file.
    answer = apply(client, run, (tmp_path / "cells.tif").read_bytes(), "image/tiff").json()
    assert (answer["height"], answer["width"]) == (512, 512)
    assert np.abs(unpack(answer["output"])[0].astype(int) - np.round(probability * 255)).max() <= 1


@pytest.mark.slow
def test_the_suggested_segmentation_beats_otsu(client):
    run = create(client, suggested("nuclei"))
    done = stream_to_end(client, run["id"])[-1]
    assert done["metric_name"] == "dice" and done["test_metric"] >= 0.8
    assert done["dice"] >= 0.8 and done["dice"] > done["baselines"]["otsu"]["dice"], done


@pytest.mark.slow
def test_the_suggested_restoration_beats_the_classical_filters(client):
    run = create(client, suggested("nuclei-denoise"))
    done = stream_to_end(client, run["id"])[-1]
    assert done["metric_name"] == "psnr"
    baselines = done["baselines"]
    assert done["psnr"] > max(baselines["gaussian"]["psnr"], baselines["median"]["psnr"]), done
    assert done["ssim"] > baselines["noisy"]["ssim"]


def test_an_apply_command_survives_json_and_is_answered_by_the_training_loop():
    """The path a lab server's worker takes: the command through JSON (Redis), answered by
    `drive` between epochs with the run's weights of the moment."""
    import json
    from dataclasses import asdict

    from keras_playground.engine.control import Command, QueueControl, drive
    from keras_playground.engine.session import TrainingSession

    image, _ = micrograph(64)
    sent = Command(**json.loads(json.dumps(asdict(Command.apply(image * 1000)))))
    assert np.array_equal(sent.pixel_array(), (image * 1000).astype(np.float32))
    session = TrainingSession(parse_spec(small(epochs=1)))
    control, answers = QueueControl(), []
    control.send(sent)
    control.send(Command.apply(np.zeros((2, 2))))  # below 2^depth once cropped: answered as an error
    drive(session, control, lambda event: None, answer=lambda command, result: answers.append(result))
    assert answers[0]["epoch"] == 0 and (answers[0]["height"], answers[0]["width"]) == (64, 64)
    assert "error" in answers[1]


def lesson_step(client, lesson_id, step):
    """A lesson step's settings, as the server serves them to the page."""
    return client.get(f"/api/lessons/{lesson_id}").json()["steps"][step - 1]["settings"]


def test_the_segmentation_lessons_first_step_reaches_a_dice_of_0_8(client):
    run = create(client, lesson_step(client, "12-dice-not-accuracy", 1))
    done = stream_to_end(client, run["id"])[-1]
    assert done["dice"] >= 0.8 and done["dice"] > done["baselines"]["otsu"]["dice"], done
    assert done["pixel_accuracy"] > done["background_accuracy"] >= 0.7  # all background: already 70 %+


def test_the_restoration_lessons_first_step_beats_the_best_classical_filter(client):
    run = create(client, lesson_step(client, "15-denoising", 1))
    done = stream_to_end(client, run["id"])[-1]
    best = max(done["baselines"]["gaussian"]["psnr"], done["baselines"]["median"]["psnr"])
    assert done["psnr"] > best and done["ssim"] > done["baselines"]["gaussian"]["ssim"], done


@pytest.mark.parametrize("depth", [-2000, 0, 5, 3_000_000_000])
def test_a_unet_depth_out_of_range_is_a_422_at_once(client, depth):
    spec = suggested("nuclei")
    spec["unet"]["depth"] = depth
    started = time.monotonic()
    for route in ("/api/runs", "/api/preview/layers"):
        response = client.post(route, json=spec)
        problems = response.json()["detail"] if response.status_code == 422 else response.json()["problems"]
        assert any(p["field"] == "unet.depth" for p in problems), response.text
    assert time.monotonic() - started < 5  # never 2 ** depth computed
