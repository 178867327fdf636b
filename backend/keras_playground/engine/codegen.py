"""Export a run as a standalone Keras script, written the way the course writes Keras.

The script needs only numpy and keras (matplotlib for its plots, which it skips with a
message where matplotlib is missing; `PLOTS = False` at its top turns them off). It carries a copy of the data set's generator
and of `compute_features` (their source, via `inspect.getsource`), so it draws exactly
the playground's points from the same seed; custom points are embedded as a literal
list. The model, optimizer, loss and metric follow `engine.model`. The network starts
from its own seeded weights and `model.fit` shuffles in its own order, so the final
figures come close to the playground's, not bit for bit.

`load_data()` sits at module level and the training runs only under
`if __name__ == "__main__":`, so a test (or a curious learner) can import the script
and look at the arrays. The script ends by printing parseable lines, one figure each:
`epochs_trained: 30`, `final_loss: 0.2100`, `final_accuracy: 0.9500`, `val_loss: ...`,
`val_accuracy: ...`, `test_loss: ...`, `test_accuracy: ...` (`*_mae` for regression;
the val lines only when there is a validation set, the test lines only with a test set).
The plots are saved as PNG files next to the script (`loss.png`, `accuracy.png` or
`mae.png`, `decision_boundary.png`) and shown only where matplotlib has a screen.

An image run's script (`engine/codegen_images.py`, `engine/script_image_plots.py`) carries
the image generator with the helpers it calls, builds the engine's convolutional network
(augmentation layers first) and plots the filters, a confusion matrix and a few predictions;
the digits need scikit-learn, and the header says so.

The script speaks the course's words (`Training_data`, `Validation_data`, `Testing_data`
and their `_label`s, as the notebooks name them) and carries no note meant for us: the
comments of a copied function that speak of the playground's internals are dropped.

>>> from keras_playground.specs import RunSpec
>>> script = export_script(RunSpec.model_validate({"dataset": {"name": "line"}}))
>>> compile(script, "train.py", "exec") is not None
True
"""

from __future__ import annotations

import inspect
import textwrap
import types

from ..data import DATASETS, compute_features, input_of, merged_params, problem_of
from ..specs import RunSpec
from . import codegen_images
from .codegen_common import (RULE, commented, dense_lines, global_names, is_custom, loss_of, output_lines,
                             regularized, training_facts, without_notes)
from .names import LOSS_NAMES  # the script compiles with the very loss the engine uses
from .script_image_plots import IMAGE_PLOTS_FLAG, image_plot_function
from .script_plots import PLOTS_FLAG, plot_function

OPTIMIZER_CLASSES = {"sgd": "SGD", "adam": "Adam", "rmsprop": "RMSprop", "adagrad": "Adagrad"}
KERAS_DEFAULT_RATES = {"sgd": 0.01, "adam": 0.001, "rmsprop": 0.001, "adagrad": 0.001}
OPTIMIZER_WORDS = {"sgd": "stochastic gradient descent", "adam": "Adam", "rmsprop": "RMSprop",
                   "adagrad": "Adagrad"}
KIND_WORDS = {"binary": "binary classification (labels 0 and 1)",
              "multiclass": "multi-class classification",
              "regression": "regression (a real number per point)"}


def export_script(spec: RunSpec) -> str:
    """The text of a Python script (train.py) that reproduces the run with numpy and keras."""
    if spec.unet is not None:  # microscopy: a U-Net on random patches (engine/codegen_unet.py)
        from .codegen_unet import export_unet_script

        return export_unet_script(spec)
    kind, n_classes = problem_of(spec.dataset)
    flag = IMAGE_PLOTS_FLAG if is_image(spec) else PLOTS_FLAG
    head = _header(spec, kind, n_classes) + "\n\n" + imports_code(spec) + "\n\n" + flag
    plots = f"{RULE}\n# The plots (drawn at the end when PLOTS is True)\n{RULE}\n" + plots_code(spec, kind)
    sections = [head, _data_section(spec), plots, _main_section(spec, kind, n_classes)]
    return "\n\n\n".join(sections) + "\n"


def is_image(spec: RunSpec) -> bool:
    """An image run: its script draws images and builds a convolutional network."""
    return input_of(spec.dataset) == "image"


def plots_code(spec: RunSpec, kind: str) -> str:
    """The source of `plot_results(history, model)` (the script's and the notebook's)."""
    return image_plot_function(spec, kind) if is_image(spec) else plot_function(spec, kind)


# ----- Small helpers -----

def _network_words(spec: RunSpec, kind: str, n_classes: int) -> str:
    out = {"binary": "Dense(1, sigmoid)", "multiclass": f"Dense({n_classes}, softmax)",
           "regression": "Dense(1, linear)"}[kind]
    words = [f"{len(spec.features)} inputs"]
    for layer in spec.layers:
        words.append(f"Dense({layer.units}, {layer.activation})")
        if layer.dropout > 0:
            words.append(f"Dropout({layer.dropout:g})")
    return " -> ".join([*words, out])


# ----- The header and the imports -----

def run_facts(spec: RunSpec, kind: str, n_classes: int) -> list[str]:
    """The run in a few lines (data set, problem, network, training, seeds), label first."""
    d = spec.dataset
    lines = []
    if is_custom(spec):
        lines.append(f"Data set:  your own points ({len(d.points or [])} given)")
    else:
        info = DATASETS[d.name]
        params = ", ".join(f"{k}={v:g}" for k, v in merged_params(d).items())
        lines.append(f"Data set:  {d.name}" + (f" ({params})" if params else ""))
        noise = textwrap.wrap(f"{d.noise:g}. {info.noise_doc}", 72)
        lines += [f"Noise:     {noise[0]}", *(f"           {line}" for line in noise[1:])]
    kind_words = KIND_WORDS[kind] + (f", {n_classes} classes" if kind == "multiclass" else "")
    lines.append(f"Problem:   {kind_words}")
    if is_image(spec):
        lines += codegen_images.image_facts(spec, kind, n_classes)
    else:
        lines += [f"Inputs:    {', '.join(spec.features)}",
                  f"Points:    {d.n_train} for training, {d.n_val} for validation, {d.n_test} for testing",
                  f"Network:   {_network_words(spec, kind, n_classes)}"]
    return lines + training_facts(spec, kind)


def _header(spec: RunSpec, kind: str, n_classes: int) -> str:
    lines = ["# Keras Playground run, exported as a standalone script.", "#"]
    lines += [f"# {line}" for line in run_facts(spec, kind, n_classes)]
    if is_image(spec):
        return "\n".join(lines + codegen_images.how_to_run(spec))
    lines += [
        "#",
        "# How to run it (needs numpy and keras, with TensorFlow as the backend;",
        "# matplotlib for the plots):",
        "#     python train.py",
        "#",
        "# The points are exactly the playground's (same code, same seed). The network",
        "# starts from its own random weights, so the final figures come close to the",
        "# playground's but are not identical.",
    ]
    return "\n".join(lines)


def imports_code(spec: RunSpec) -> str:
    """The import lines: numpy, keras, and any module the copied functions use."""
    names = ["models", "layers", "optimizers"] + (["regularizers"] if regularized(spec) else [])
    needed = codegen_images.modules_needed(spec) if is_image(spec) else _modules_needed(spec)
    extra = [f"import {m}" for m in needed if m not in ("numpy", "keras")]
    return "\n".join([*extra, "import numpy as np", "import keras",
                      f"from keras import {', '.join(names)}"])


# ----- The data -----

def _copied_functions(spec: RunSpec) -> list:
    funcs = [] if is_custom(spec) else [DATASETS[spec.dataset.name].generator]
    return [*funcs, compute_features]


def _modules_needed(spec: RunSpec) -> list[str]:
    """Modules the copied functions use (numpy, maybe math); any other global is refused."""
    modules: list[str] = []
    for func in _copied_functions(spec):
        for name in sorted(global_names(func.__code__)):
            if name not in func.__globals__:
                continue  # a builtin (len, range, ...) or an attribute name
            value = func.__globals__[name]
            if not isinstance(value, types.ModuleType):
                raise ValueError(f"{func.__name__} uses {name!r} from its module: it must be "
                                 "self-contained to be copied into an exported script")
            if value.__name__ == "numpy" and name != "np":
                raise ValueError(f"{func.__name__} must call numpy `np`")
            if value.__name__ not in modules:
                modules.append(value.__name__)
    return modules


def _source(func) -> str:
    """A function's source without the comment lines written for the playground's maintainers."""
    return without_notes(textwrap.dedent(inspect.getsource(func)).rstrip("\n").split("\n"))


def _data_section(spec: RunSpec) -> str:
    return f"{RULE}\n# 1. The data\n{RULE}\n" + "\n\n\n".join(data_parts(spec))


def data_parts(spec: RunSpec) -> list[str]:
    """The data's code in three parts: the generator (or the points), the features, and
    `draw_points()` with `load_data()`; for images two: the generator and its helpers,
    and `draw_images()` with `load_data()`."""
    if is_image(spec):
        return codegen_images.image_data_parts(spec)
    d = spec.dataset
    n = d.n_train + d.n_val + d.n_test
    a, b = d.n_train, d.n_train + d.n_val
    if is_custom(spec):
        rows = "".join(f"    [{float(x)!r}, {float(y)!r}, {int(label)}],\n" for x, y, label in d.points)
        first = f"# The points drawn in the playground: x1, x2, label.\nPOINTS = [\n{rows}]"
    else:
        first = ("# The function that draws the points (copied from the playground).\n"
                 + _source(DATASETS[d.name].generator))
    features = ("# The inputs the network sees, computed from each point's x1 and x2\n"
                "# (copied from the playground).\n" + _source(compute_features))
    lines = [
        "def draw_points():",
        '    """Draw the points: their coordinates (x1, x2) and their labels."""',
        f"    rng = np.random.default_rng({d.seed})  # the data seed: same seed, same points",
    ]
    if is_custom(spec):
        lines += [
            "    points = np.array(POINTS, dtype=float)",
            f"    points = points[rng.permutation(len(points))][:{n}]  # shuffled, the first {n}",
            "    xy, labels = points[:, :2], points[:, 2].astype(np.int64)",
        ]
    else:
        name = DATASETS[d.name].generator.__name__
        args = "".join(f", {k}={v!r}" for k, v in merged_params(d).items())
        lines.append(f"    xy, labels = {name}({n}, rng, {float(d.noise)!r}{args})")
    lines += [
        "    return xy, labels",
        "",
        "",
        "def load_data():",
        '    """The network\'s inputs and labels, split into training, validation and testing sets."""',
        "    xy, labels = draw_points()",
        "    data = compute_features(xy, FEATURES)",
        "    # Split in order: training first, then validation, then testing.",
        f"    Training_data, Training_label = data[:{a}], labels[:{a}]",
        f"    Validation_data, Validation_label = data[{a}:{b}], labels[{a}:{b}]",
        f"    Testing_data, Testing_label = data[{b}:{n}], labels[{b}:{n}]",
        "    return (Training_data, Training_label, Validation_data, Validation_label,",
        "            Testing_data, Testing_label)",
    ]
    features = features + f"\n\n\nFEATURES = {list(spec.features)!r}  # the inputs of this run"
    return [first, features, "\n".join(lines)]


# ----- The model, the training, the results -----

def _main_section(spec: RunSpec, kind: str, n_classes: int) -> str:
    out = load_lines(spec, kind, n_classes) + ["", RULE, "# 2. The model", RULE]
    out += model_lines(spec, kind, n_classes) + ["", RULE, "# 3. The training", RULE]
    out += fit_lines(spec) + ["", RULE, "# 4. The results", RULE] + result_lines(spec, kind)
    out += ["", RULE, "# 5. The plots (set PLOTS = False at the top to skip them)", RULE,
            "if PLOTS:", "    plot_results(history, model)"]
    return 'if __name__ == "__main__":\n' + "\n".join(("    " + line) if line else "" for line in out)


def load_lines(spec: RunSpec, kind: str, n_classes: int) -> list[str]:
    """Load the data (one-hot labels for several classes)."""
    out = ["(Training_data, Training_label, Validation_data, Validation_label,",
           " Testing_data, Testing_label) = load_data()",
           f'print("{_unit(spec).title()}s for training:", len(Training_data), " validation:", len(Validation_data),',
           '      " testing:", len(Testing_data))']
    if kind == "multiclass":
        example = [1 if i == 2 else 0 for i in range(n_classes)]
        out += ["", f"# One column per class (one-hot): class 2 becomes {example}."]
        out += [f"{name} = keras.utils.to_categorical({name}, {n_classes})"
                for name in ("Training_label", "Validation_label", "Testing_label")]
    return out


def model_lines(spec: RunSpec, kind: str, n_classes: int) -> list[str]:
    """The model: Sequential, add, summary, compile."""
    t = spec.training
    metric = "mae" if kind == "regression" else "accuracy"
    out = [f"keras.utils.set_random_seed({t.seed})  # the training seed: same seed, same start",
           "", "model = models.Sequential()"]
    if is_image(spec):
        out += codegen_images.image_layer_lines(spec, kind, n_classes)
    else:
        out += commented(f"model.add(layers.Input(shape=({len(spec.features)},)))",
                         f"each point comes in as {len(spec.features)} number"
                         f"{'s' if len(spec.features) > 1 else ''}; only the first layer needs the input shape")
        out += _slide_form(spec, kind, n_classes) + _layer_lines(spec, kind, n_classes)
    return out + ["model.summary()", ""] + _compile_lines(spec, kind, metric)


def result_lines(spec: RunSpec, kind: str) -> list[str]:
    """The figures of the training, then the evaluation on the testing set."""
    d = spec.dataset
    metric = "mae" if kind == "regression" else "accuracy"
    fmt = ".4g" if kind == "regression" else ".4f"  # an error can be tiny; an accuracy is a share
    out = ["print(f\"epochs_trained: {len(history.history['loss'])}\")"]
    if spec.training.early_stopping_patience is not None and d.n_val > 0:
        out += ["# The model kept is that of the epoch with the lowest validation loss: its figures.",
                "kept = int(np.argmin(history.history['val_loss']))",
                "print(f\"best_epoch: {kept + 1}\")"]
        at = "[kept]"
    else:
        at = "[-1]"
    out += [f"print(f\"final_loss: {{history.history['loss']{at}:.4g}}\")",
            f"print(f\"final_{metric}: {{history.history['{metric}']{at}:{fmt}}}\")"]
    if d.n_val > 0:
        out += [f"print(f\"val_loss: {{history.history['val_loss']{at}:.4g}}\")",
                f"print(f\"val_{metric}: {{history.history['val_{metric}']{at}:{fmt}}}\")"]
    if d.n_test > 0:
        out += ["",
                f"# The testing set: {_unit(spec)}s the network has never seen, not even for early stopping.",
                f"test_loss, test_{metric} = model.evaluate(Testing_data, Testing_label, verbose=0)",
                'print(f"test_loss: {test_loss:.4g}")',
                f'print(f"test_{metric}: {{test_{metric}:{fmt}}}")']
    return out


def _unit(spec: RunSpec) -> str:
    """What one example is, in the script's words."""
    return "image" if is_image(spec) else "point"


def _layer_lines(spec: RunSpec, kind: str, n_classes: int) -> list[str]:
    lines = []
    for i, layer in enumerate(spec.layers, start=1):
        lines += dense_lines(spec, layer, i, f"hidden layer {i}: {layer.units} neuron{'s' if layer.units > 1 else ''}")
    if not spec.layers and spec.features == ["x1", "x2"]:
        comment = "the single neuron: sigmoid(w1*x1 + w2*x2 + b), the probability of class 1"
    elif not spec.layers:
        comment = "the single neuron: its sigmoid output is the probability of class 1"
    else:
        comment = "output: the probability of class 1 (cut at 0.5)"
    return lines + output_lines(kind, n_classes, comment)


def _compile_lines(spec: RunSpec, kind: str, metric: str) -> list[str]:
    t = spec.training
    default = KERAS_DEFAULT_RATES[t.optimizer]
    words = f"{OPTIMIZER_WORDS[t.optimizer]}, learning rate {t.learning_rate:g}"
    if t.learning_rate == default and not (t.optimizer == "sgd" and t.momentum > 0):
        optimizer = f"{t.optimizer!r},  # {words} (Keras's default)"
    else:
        args = f"learning_rate={t.learning_rate!r}"
        if t.optimizer == "sgd" and t.momentum > 0:
            args += f", momentum={t.momentum!r}"
            words += f", momentum {t.momentum:g}"
        if t.learning_rate != default:
            words += (f" (Keras's default: {default:g}; "
                      f"{'larger, to train in fewer epochs' if t.learning_rate > default else 'smaller, for smaller steps'})")
        optimizer = f"optimizers.{OPTIMIZER_CLASSES[t.optimizer]}({args}),  # {words}"
    return [f"model.compile(optimizer={optimizer}",
            f"              loss={LOSS_NAMES[loss_of(spec, kind)]!r},  # the distance to the expected result",
            f"              metrics=[{metric!r}])"]


def fit_lines(spec: RunSpec) -> list[str]:
    """`model.fit`, with validation data when there are any (and early stopping)."""
    d, t = spec.dataset, spec.training
    lines, callbacks = [], ""
    if t.early_stopping_patience is not None and d.n_val > 0:
        lines += [f"# Stop when the validation loss has not improved for {t.early_stopping_patience} "
                  "epochs in a row;",
                  "# restore_best_weights=True: the network keeps the weights of its best epoch",
                  "# (the lowest validation loss), not those of the last epoch.",
                  "early_stopping = keras.callbacks.EarlyStopping(monitor='val_loss', "
                  f"patience={t.early_stopping_patience},",
                  "                                               restore_best_weights=True)"]
        callbacks = ", callbacks=[early_stopping]"
    updates = -(-d.n_train // t.batch_size)
    unit = _unit(spec)
    lines += [f"# One epoch uses every training {unit} once: {updates} update{'s' if updates > 1 else ''}"
              f" of {t.batch_size} {unit}{'s' if t.batch_size > 1 else ''}"
              + (" (the last one smaller)." if d.n_train % t.batch_size else "."),
              "history = model.fit(Training_data, Training_label,",
              f"                    batch_size={t.batch_size}, epochs={t.epochs},"]
    if d.n_val > 0:
        lines.append("                    validation_data=(Validation_data, Validation_label),")
    lines.append(f"                    shuffle={t.shuffle!r}, verbose=2{callbacks})")
    return lines


def _slide_form(spec: RunSpec, kind: str, n_classes: int) -> list[str]:
    """The first layer as the course's slides write it, with the input shape inside it."""
    n = len(spec.features)
    if spec.layers:
        first = f"Dense({spec.layers[0].units}, activation={spec.layers[0].activation!r}, input_shape=({n},))"
    else:
        units, activation = {"binary": (1, "sigmoid"), "multiclass": (n_classes, "softmax"),
                             "regression": (1, "linear")}[kind]
        first = f"Dense({units}, activation={activation!r}, input_shape=({n},))"
    return ["# The course's slides write the first layer with the input shape inside it:",
            f"#     model.add({first})",
            "# Keras 3 prefers the separate Input above; the network is the same."]

