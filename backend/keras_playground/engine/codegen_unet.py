"""The exported script of a microscopy run (a U-Net; `engine/codegen.py` hands it over).

The script carries copies, taken from the source text (nothing here imports keras, so the
web path stays free of TensorFlow): the microscope (`nuclei` and every helper and constant
it reaches, from `data/microscopy.py`) and the scores it prints (Dice and IoU, or PSNR and
SSIM), the random patches of `engine/microscopy.py`, and the custom layer, losses and
metric of `engine/unet.py`, registered under the same names so that a `.keras` model saved
by the playground loads in the script. The U-Net itself is written out as the course
writes one (`unet(depth, base_filters, ...)` with Conv2D, BatchNormalization,
MaxPooling2D, Conv2DTranspose and Concatenate), with the layers and arguments of
`engine/unet.py`'s `build_unet`, so `count_params()` is the playground's. A
`keras.utils.PyDataset` hands `fit` a new random crop of every training image each epoch,
drawn the same way as the playground's.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from pathlib import Path

from ..data import DATASETS, loss_of, merged_params, problem_of
from ..data import microscopy as scope
from ..specs import RunSpec
from .codegen import KERAS_DEFAULT_RATES, OPTIMIZER_CLASSES, OPTIMIZER_WORDS
from .codegen_common import NOTES_FOR_US, RULE, commented, defined_names, training_facts, without_notes
from .script_unet import RANDOM_PATCHES, UNET_FUNCTION
from .script_unet_plots import UNET_PLOTS_FLAG, unet_plot_function

HERE = Path(__file__).parent
NOTES = (*NOTES_FOR_US, "catalog", "engine.model", "`model.initial_weights`")
SEGMENTATION_SCORES = ["dice", "iou", "otsu_threshold"]
RESTORATION_SCORES = ["psnr", "ssim"]


# ----- Copying source: a module's functions and everything of it they reach -----

def copied(text: str, roots: list[str]) -> tuple[str, set[str]]:
    """(the source of `roots` and of every top-level name of `text` they reach, in the module's
    order, without our notes; the import lines those need). A name the module imports
    relatively (one of ours) cannot be copied: ValueError."""
    tree = ast.parse(text)
    lines = text.split("\n")
    nodes = {name: node for node in tree.body for name in defined_names(node)}
    imported: dict[str, str] = {}
    for node in tree.body:
        for alias in getattr(node, "names", []) if isinstance(node, (ast.Import, ast.ImportFrom)) else []:
            name = alias.asname or alias.name.split(".")[0]
            if isinstance(node, ast.Import):
                imported[name] = f"import {alias.name}" + (f" as {alias.asname}" if alias.asname else "")
            elif node.level:
                imported[name] = ""  # one of ours
            elif node.module != "__future__":
                imported[name] = f"from {node.module} import {alias.name}"
    needed, imports, todo = set(), set(), list(roots)
    while todo:
        name = todo.pop()
        if name in needed:
            continue
        needed.add(name)
        for used in sorted({n.id for n in ast.walk(nodes[name]) if isinstance(n, ast.Name)}):
            if used in nodes:
                todo.append(used)
            elif used in imported:
                if not imported[used]:
                    raise ValueError(f"{name} reaches {used!r}, one of our own modules' names: it cannot be copied")
                imports.add(imported[used])
    pieces, previous = [], None
    for node in sorted({id(nodes[n]): nodes[n] for n in needed}.values(), key=lambda n: n.lineno):
        start = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
        constant = isinstance(node, (ast.Assign, ast.AnnAssign))
        pieces.append(("\n" if constant and previous == "constant" else "\n\n\n")
                      + without_notes(lines[start - 1:node.end_lineno], NOTES))
        previous = "constant" if constant else "other"
    return "".join(pieces).lstrip("\n"), imports


def _microscope_code(spec: RunSpec) -> tuple[str, set[str]]:
    scores = SEGMENTATION_SCORES if _segmentation(spec) else RESTORATION_SCORES
    return copied(inspect.getsource(scope), [DATASETS[spec.dataset.name].generator.__name__, *scores])


def _patches_code() -> tuple[str, set[str]]:
    return copied((HERE / "microscopy.py").read_text(), ["patches"])


def _custom_code(spec: RunSpec) -> tuple[str, set[str]]:
    roots = ["PercentileNormalization"]
    if _segmentation(spec):
        roots += ["dice_loss", "bce_dice_loss", "DiceMetric"]
    else:
        roots += ["PsnrMetric"]
    return copied((HERE / "unet.py").read_text(), roots)


# ----- Small helpers -----

def _segmentation(spec: RunSpec) -> bool:
    return spec.unet.output != "restored"


def _metric(spec: RunSpec) -> str:
    return "dice" if _segmentation(spec) else "psnr"


def _channels(spec: RunSpec) -> int:
    return 3 if spec.unet.output == "three_class" else 1


# ----- The header and the imports -----

OUTPUT_WORDS = {"foreground": "1 channel, sigmoid: the probability of a nucleus",
                "three_class": "3 channels, softmax: background, interior, boundary",
                "restored": "1 channel, linear: the restored image"}
PROBLEM_WORDS = {"foreground": "segmentation: each pixel in a nucleus or not",
                 "three_class": "segmentation in three classes: background, interior, boundary",
                 "restored": "restoration: the clean image from the noisy one"}


def unet_facts(spec: RunSpec) -> list[str]:
    """The run in a few lines, as `codegen.run_facts` writes them for the other runs."""
    d, u = spec.dataset, spec.unet
    kind = problem_of(d)[0]
    side = merged_params(d)["size"]
    info = DATASETS[d.name]
    params = ", ".join(f"{k}={v:g}" for k, v in merged_params(d).items())
    noise = textwrap.wrap(f"{d.noise:g}. {info.noise_doc}", 72)
    lines = [f"Data set:  {d.name} ({params})", f"Noise:     {noise[0]}", *(f"           {line}" for line in noise[1:])]
    extras = (["batch normalization"] if u.batchnorm else []) + ([f"dropout {u.dropout:g}"] if u.dropout else [])
    lines += [f"Problem:   {PROBLEM_WORDS[u.output]}",
              f"Images:    {side}x{side} pixels, one grey channel (about 0 to 1.5)",
              f"           {d.n_train} for training, {d.n_val} for validation, {d.n_test} for testing",
              f"Network:   U-Net, depth {u.depth}, {u.base_filters} filters at the top (twice as many a",
              "           level down)" + "".join(f", {e}" for e in extras) + ";",
              f"           output {OUTPUT_WORDS[u.output]}",
              f"Patches:   each epoch a random {u.patch}x{u.patch} crop of every training image,",
              "           turned and flipped at random (validation, testing: whole images)"]
    facts = training_facts(spec, kind)
    facts[0] = facts[0].rsplit(", loss ", 1)[0] + f", loss {loss_of(spec, kind)}"
    return lines + facts


def _header(spec: RunSpec) -> str:
    lines = ["# Keras Playground run, exported as a standalone script.", "#"]
    lines += [f"# {line}" for line in unet_facts(spec)]
    lines += ["#",
              "# How to run it (needs numpy, scipy and keras, with TensorFlow as the backend;",
              "# matplotlib for the plots):",
              "#     python train.py",
              "#",
              "# The images are exactly the playground's (same code, same seed); the patches",
              "# are drawn the same way. The network starts from its own random weights, so the",
              "# final figures come close to the playground's but are not identical. A model",
              "# saved by the playground (.keras) loads here too, once this script's",
              "# definitions have run: keras.models.load_model('model.keras')."]
    return "\n".join(lines)


def unet_imports(spec: RunSpec) -> str:
    """The import lines: those the copied code needs, numpy and keras first as the course has them."""
    needed = set().union(*(part[1] for part in (_microscope_code(spec), _patches_code(), _custom_code(spec))))
    first = ["import numpy as np", "import keras", "from keras import models, layers, optimizers, ops"]
    covered = {"import numpy as np", "import keras", "from keras import layers", "from keras import ops"}
    return "\n".join([*sorted(needed - covered), *first])


# ----- The data, the patches, the custom layer and loss, the network -----

def unet_data_parts(spec: RunSpec) -> list[str]:
    """The microscope (and the scores), `draw_images()` with `load_data()`, the patches."""
    d = spec.dataset
    info = DATASETS[d.name]
    n = d.n_train + d.n_val + d.n_test
    a, b = d.n_train, d.n_train + d.n_val
    name = info.generator.__name__
    target = "images.classes" if _segmentation(spec) else "images.clean"
    what = ("their class maps (0 background, 1 nucleus interior, 2 boundary)" if _segmentation(spec)
            else "the clean images (the same scenes without noise)")
    first = (f"# The microscope, `{name}`, with the helpers it calls, and the scores printed at the end\n"
             "# (copied from the playground).\n" + _microscope_code(spec)[0])
    args = "".join(f", {k}={v!r}" for k, v in merged_params(d).items())
    loading = [
        "def draw_images():",
        f'    """Draw the noisy images, (count, height, width, 1), and {what}."""',
        f"    rng = np.random.default_rng({d.seed})  # the data seed: same seed, same images",
        f"    images = {name}({n}, rng, {float(d.noise)!r}{args})",
        f"    return images.images, {target}",
        "",
        "",
        "def load_data():",
        '    """The images and what the network should give for them, split into training,',
        '    validation and testing sets."""',
        "    images, truth = draw_images()",
        "    # Split in order: training first, then validation, then testing.",
        f"    Training_data, Training_label = images[:{a}], truth[:{a}]",
        f"    Validation_data, Validation_label = images[{a}:{b}], truth[{a}:{b}]",
        f"    Testing_data, Testing_label = images[{b}:{n}], truth[{b}:{n}]",
        "    return (Training_data, Training_label, Validation_data, Validation_label,",
        "            Testing_data, Testing_label)",
    ]
    return [first, "\n".join(loading), _patch_code(spec)]


def _patch_code(spec: RunSpec) -> str:
    seed = spec.training.seed
    return "\n".join([
        "# Each epoch a random crop of every training image, turned and flipped at random",
        "# (copied from the playground).",
        _patches_code()[0],
        "",
        "",
        RANDOM_PATCHES,
        "",
        "",
        f"TRAINING_SEED = {seed}  # the training seed: the starting weights, the patches, the order",
    ])


def unet_model_parts(spec: RunSpec) -> list[str]:
    """The custom layer, loss and metric (copied, registered), then `unet(...)`."""
    custom = ("# The U-Net's own pieces, copied from the playground and registered under its names,\n"
              "# so a model it saved loads here: each image scaled by its own percentiles, the\n"
              "# loss and the metric.\n" + _custom_code(spec)[0])
    return [custom, UNET_FUNCTION]


def _optimizer(spec: RunSpec) -> str:
    t = spec.training
    default = KERAS_DEFAULT_RATES[t.optimizer]
    words = f"{OPTIMIZER_WORDS[t.optimizer]}, learning rate {t.learning_rate:g}"
    if t.learning_rate == default and not (t.optimizer == "sgd" and t.momentum > 0):
        return f"{t.optimizer!r},  # {words} (Keras's default)"
    args = f"learning_rate={t.learning_rate!r}"
    if t.optimizer == "sgd" and t.momentum > 0:
        args, words = args + f", momentum={t.momentum!r}", words + f", momentum {t.momentum:g}"
    return f"optimizers.{OPTIMIZER_CLASSES[t.optimizer]}({args}),  # {words}"


def unet_load_lines(spec: RunSpec) -> list[str]:
    """Load the data; what the network learns to give: the foreground, three classes one-hot,
    or the clean image."""
    names = ("Training", "Validation", "Testing")
    return ["(Training_data, Training_label, Validation_data, Validation_label,",
            " Testing_data, Testing_label) = load_data()",
            'print("Images for training:", len(Training_data), " validation:", len(Validation_data),',
            '      " testing:", len(Testing_data))', "", *_target_lines(spec, names)]


def _target_lines(spec: RunSpec, names) -> list[str]:
    if spec.unet.output == "foreground":
        return ["# The target of each pixel: 1 in a nucleus (interior or boundary), 0 outside.",
                *(f"{n}_target = (({n}_label > 0) * 1.0).astype('float32')[..., None]" for n in names)]
    if spec.unet.output == "three_class":
        return ["# One channel per class (one-hot): a boundary pixel (class 2) becomes [0, 1, 0] ... [0, 0, 1].",
                *(f"{n}_target = np.eye(3, dtype='float32')[{n}_label]" for n in names)]
    return ["# The target is the clean image itself.", *(f"{n}_target = {n}_label" for n in names)]


def unet_model_lines(spec: RunSpec) -> list[str]:
    u, t, kind = spec.unet, spec.training, problem_of(spec.dataset)[0]
    loss = loss_of(spec, kind)
    loss_code = {"dice": "dice_loss", "bce_dice": "bce_dice_loss"}.get(loss, repr(loss))
    metric = f"DiceMetric({u.output!r})" if _segmentation(spec) else "PsnrMetric()"
    return [f"keras.utils.set_random_seed({t.seed})  # the training seed: same seed, same start", "",
            f"model = unet(depth={u.depth}, base_filters={u.base_filters}, batchnorm={u.batchnorm!r}, "
            f"dropout={u.dropout!r}, output={u.output!r})",
            "model.summary()", "",
            f"model.compile(optimizer={_optimizer(spec)}",
            f"              loss={loss_code},  # the distance to the expected result",
            f"              metrics=[{metric}])  # {'the Dice score of the mask (cut at 0.5)' if _segmentation(spec) else 'the PSNR in dB'}"]


def unet_fit_lines(spec: RunSpec) -> list[str]:
    d, t, u = spec.dataset, spec.training, spec.unet
    lines, callbacks = [], ""
    if t.early_stopping_patience is not None and d.n_val > 0:
        lines += [f"# Stop when the validation loss has not improved for {t.early_stopping_patience} epochs in a row;",
                  "# restore_best_weights=True: the network keeps the weights of its best epoch.",
                  f"early_stopping = keras.callbacks.EarlyStopping(monitor='val_loss', "
                  f"patience={t.early_stopping_patience},",
                  "                                               restore_best_weights=True)"]
        callbacks = ", callbacks=[early_stopping]"
    lines += commented(f"training_patches = RandomPatches(Training_data, Training_target, patch={u.patch}, "
                       f"batch_size={t.batch_size}, seed=TRAINING_SEED, shuffle={t.shuffle!r})",
                       f"each epoch a new {u.patch}x{u.patch} patch of every training image, "
                       f"in batches of {t.batch_size}")
    lines += [f"history = model.fit(training_patches, epochs={t.epochs}, shuffle=False,  # it shuffles itself"]
    if d.n_val > 0:
        lines.append("                    validation_data=(Validation_data, Validation_target),")
    lines.append(f"                    verbose=2{callbacks})")
    return lines


def unet_result_lines(spec: RunSpec) -> list[str]:
    d, metric = spec.dataset, _metric(spec)
    fmt = ".4f" if metric == "dice" else ".3f"
    out = ["print(f\"epochs_trained: {len(history.history['loss'])}\")"]
    at = "[-1]"
    if spec.training.early_stopping_patience is not None and d.n_val > 0:
        out += ["kept = int(np.argmin(history.history['val_loss']))  # the epoch whose weights were kept",
                "print(f\"best_epoch: {kept + 1}\")"]
        at = "[kept]"
    out += [f"print(f\"final_loss: {{history.history['loss']{at}:.4g}}\")",
            f"print(f\"final_{metric}: {{history.history['{metric}']{at}:{fmt}}}\")"]
    if d.n_val > 0:
        out += [f"print(f\"val_loss: {{history.history['val_loss']{at}:.4g}}\")",
                f"print(f\"val_{metric}: {{history.history['val_{metric}']{at}:{fmt}}}\")"]
    if not d.n_test:
        return out
    out += ["", "# The testing images, whole: the network has never seen them.",
            "test_loss = model.evaluate(Testing_data, Testing_target, verbose=0)[0]",
            'print(f"test_loss: {test_loss:.4g}")',
            "output = model.predict(Testing_data, verbose=0)"]
    if _segmentation(spec):
        prob = "output[..., 0]" if spec.unet.output == "foreground" else "1 - output[..., 0]"
        out += [f"mask, truth = {prob} > 0.5, Testing_label > 0  # predicted and true nuclei",
                'print(f"test_dice: {dice(mask, truth):.4f}")',
                'print(f"test_iou: {iou(mask, truth):.4f}")',
                "# What a classical threshold (Otsu's, per image) gets on the same images.",
                "otsu = np.stack([image[..., 0] > otsu_threshold(image[..., 0]) for image in Testing_data])",
                'print(f"otsu_dice: {dice(otsu, truth):.4f}")']
    else:
        out += ["# PSNR and SSIM of each restored image against the clean one, averaged.",
                'print(f"test_psnr: {np.mean([psnr(r, c) for r, c in zip(output, Testing_label)]):.3f}")',
                'print(f"test_ssim: {np.mean([ssim(r, c) for r, c in zip(output, Testing_label)]):.4f}")',
                "# The noisy images as they are, for comparison.",
                'print(f"noisy_psnr: {np.mean([psnr(r, c) for r, c in zip(Testing_data, Testing_label)]):.3f}")']
    return out


# ----- The script -----

def export_unet_script(spec: RunSpec) -> str:
    """The text of train.py for a microscopy run."""
    head = _header(spec) + "\n\n" + unet_imports(spec) + "\n\n" + UNET_PLOTS_FLAG
    data = f"{RULE}\n# 1. The data\n{RULE}\n" + "\n\n\n".join(unet_data_parts(spec))
    model = f"{RULE}\n# 2. The model\n{RULE}\n" + "\n\n\n".join(unet_model_parts(spec))
    plots = f"{RULE}\n# The plots (drawn at the end when PLOTS is True)\n{RULE}\n" + unet_plot_function(spec)
    main = [*unet_load_lines(spec), "", RULE, "# 2. The model", RULE, *unet_model_lines(spec),
            "", RULE, "# 3. The training", RULE, *unet_fit_lines(spec),
            "", RULE, "# 4. The results", RULE, *unet_result_lines(spec),
            "", RULE, "# 5. The plots (set PLOTS = False at the top to skip them)", RULE,
            "if PLOTS:", "    plot_results(history, model)"]
    body = 'if __name__ == "__main__":\n' + "\n".join(("    " + line) if line else "" for line in main)
    return "\n\n\n".join([head, data, model, plots, body]) + "\n"
