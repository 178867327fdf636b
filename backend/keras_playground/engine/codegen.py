"""Export a run as a standalone Keras script in the course's own style.

The script needs only numpy and keras. It carries a copy of the data set's generator
and of the feature function (their source, via `inspect.getsource`), so it draws
exactly the playground's points from the same seed; custom points are embedded as a
literal list. The model, optimizer, loss and metric are the engine's (see
`engine.model`). The training starts from its own seeded weights and shuffles with
Keras's own order, so its figures come close to the playground's, not bit for bit.

`load_data()` is defined at module level and the training runs only under
`if __name__ == "__main__":`, so a test (or a curious learner) can import the script
and look at the arrays. The last lines it prints are parseable:
`final_accuracy: 0.9500`, `val_accuracy: ...`, `test_accuracy: ...` (or `final_mae:`
etc. for regression), plus the matching `*_loss:` lines and `epochs_trained:`.

>>> from keras_playground.specs import RunSpec
>>> script = export_script(RunSpec.model_validate({"dataset": {"name": "line"}}))
>>> compile(script, "train.py", "exec") is not None
True
"""

from __future__ import annotations

import inspect
import textwrap
import types

from ..data import catalog, features, generators
from ..specs import RunSpec

RULE = "# " + "-" * 76

# The spec's short loss names, as Keras spells them in full (the engine does the same).
LOSS_NAMES = {
    "binary_crossentropy": "binary_crossentropy",
    "categorical_crossentropy": "categorical_crossentropy",
    "mse": "mean_squared_error",
    "mae": "mean_absolute_error",
}
NATURAL_LOSS = {"binary": "binary_crossentropy", "multiclass": "categorical_crossentropy",
                "regression": "mse"}
OPTIMIZER_CLASSES = {"sgd": "SGD", "adam": "Adam", "rmsprop": "RMSprop", "adagrad": "Adagrad"}
KIND_WORDS = {"binary": "binary classification (labels 0 and 1)",
              "multiclass": "multi-class classification",
              "regression": "regression (a real number per point)"}


def export_script(spec: RunSpec) -> str:
    """A readable Python script (text) that reproduces the run with numpy and keras only."""
    kind, n_classes = problem_of(spec)
    parts = [
        _header(spec, kind, n_classes),
        _imports(spec),
        _data_section(spec),
        _main_section(spec, kind, n_classes),
    ]
    return "\n\n".join(part.rstrip("\n") for part in parts) + "\n"


def problem_of(spec: RunSpec) -> tuple[str, int]:
    """(kind, n_classes) of the spec's data set; n_classes is 1 for regression."""
    d = spec.dataset
    if d.points is not None and d.name == "custom" and "custom" not in catalog.DATASETS:
        labels = sorted({int(p[2]) for p in d.points})
        n = max(labels) + 1 if labels else 2
        return ("binary" if n <= 2 else "multiclass"), max(n, 2)
    entry = catalog.DATASETS[d.name]
    params = _params(spec)
    kind = entry.kind
    return kind, (entry.n_classes(params) if kind != "regression" else 1)


def _params(spec: RunSpec) -> dict:
    """The data set's parameters: the spec's values over the defaults, integers as int."""
    if spec.dataset.name not in catalog.DATASETS:
        return {}
    merged = {}
    for p in catalog.DATASETS[spec.dataset.name].params:
        value = spec.dataset.params.get(p.name, p.default)
        merged[p.name] = int(value) if p.integer else float(value)
    return merged


def _loss(spec: RunSpec, kind: str) -> str:
    return spec.training.loss or NATURAL_LOSS[kind]


def _number(value: float) -> str:
    """A short, exact literal: 2 for 2.0, else Python's round-tripping repr."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return repr(value)
    return repr(value)


def _layer_words(spec: RunSpec, kind: str, n_classes: int) -> str:
    out = {"binary": "Dense(1, sigmoid)", "multiclass": f"Dense({n_classes}, softmax)",
           "regression": "Dense(1, linear)"}[kind]
    hidden = []
    for layer in spec.layers:
        hidden.append(f"Dense({layer.units}, {layer.activation})")
        if layer.dropout > 0:
            hidden.append(f"Dropout({layer.dropout:g})")
    return " -> ".join([f"{len(spec.features)} inputs", *hidden, out])


# ----- The header -----

def _header(spec: RunSpec, kind: str, n_classes: int) -> str:
    d, t = spec.dataset, spec.training
    if _is_custom(spec):
        data_words = f"custom ({len(d.points)} points drawn in the playground)"
    else:
        params = ", ".join(f"{k}={v:g}" for k, v in _params(spec).items())
        data_words = f"{d.name}" + (f" ({params})" if params else "") + f", noise {d.noise:g}"
    kind_words = KIND_WORDS[kind] + (f", {n_classes} classes" if kind == "multiclass" else "")
    train_words = f"{t.optimizer}, learning rate {t.learning_rate:g}"
    if t.optimizer == "sgd" and t.momentum > 0:
        train_words += f", momentum {t.momentum:g}"
    train_words += f", loss {_loss(spec, kind)}, batch size {t.batch_size}, {t.epochs} epochs"
    extras = []
    if t.regularization != "none" and t.regularization_rate > 0:
        extras.append(f"{t.regularization.upper()} regularization {t.regularization_rate:g}")
    if t.early_stopping_patience is not None:
        extras.append(f"early stopping after {t.early_stopping_patience} epochs without progress")
    if not t.shuffle:
        extras.append("no shuffling")
    lines = [
        "# Keras Playground run, exported as a standalone script.",
        "#",
        f"# Data set:  {data_words}",
        f"# Problem:   {kind_words}",
        f"# Inputs:    {', '.join(spec.features)}",
        f"# Points:    {d.n_train} for training, {d.n_val} for validation, {d.n_test} for test",
        f"# Network:   {_layer_words(spec, kind, n_classes)}",
        f"# Training:  {train_words}",
    ]
    if extras:
        lines.append(f"#            {'; '.join(extras)}")
    lines += [
        f"# Seeds:     data seed {d.seed}, training seed {t.seed}",
        "#",
        "# How to run it (needs only numpy and keras, with TensorFlow installed):",
        "#     python train.py",
        "#",
        "# The points are exactly the playground's (same code, same seed). The network",
        "# starts from its own random weights, so the final figures come close to the",
        "# playground's but are not identical.",
    ]
    return "\n".join(lines)


def _imports(spec: RunSpec) -> str:
    t = spec.training
    names = ["models", "layers", "optimizers"]
    if t.regularization != "none" and t.regularization_rate > 0 and spec.layers:
        names.append("regularizers")
    modules = _modules_needed(spec)
    lines = [f"import {m}" for m in modules if m not in ("numpy", "keras")]
    lines += ["import numpy as np", "import keras", f"from keras import {', '.join(names)}"]
    return "\n".join(lines)


# ----- The data -----

def _is_custom(spec: RunSpec) -> bool:
    return spec.dataset.points is not None and spec.dataset.name == "custom"


def _copied_functions(spec: RunSpec) -> list:
    funcs = [] if _is_custom(spec) else [getattr(generators, spec.dataset.name)]
    return funcs + [features.compute_features]


def _modules_needed(spec: RunSpec) -> list[str]:
    """Modules the copied functions use (e.g. numpy, math); anything else is refused."""
    modules = []
    for func in _copied_functions(spec):
        for name in _global_names(func.__code__):
            value = func.__globals__.get(name)
            if value is None:
                continue  # a builtin (len, range, ...)
            if not isinstance(value, types.ModuleType):
                raise ValueError(f"{func.__name__} uses {name!r} from its module: it must be "
                                 "self-contained to be copied into an exported script")
            if value.__name__ not in modules:
                modules.append(value.__name__)
    return modules


def _global_names(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _global_names(const)
    return names


def _source(func) -> str:
    return textwrap.dedent(inspect.getsource(func)).rstrip("\n")


def _data_section(spec: RunSpec) -> str:
    d = spec.dataset
    n_total = d.n_train + d.n_val + d.n_test
    a, b = d.n_train, d.n_train + d.n_val
    blocks = [f"{RULE}\n# 1. The data\n{RULE}"]
    if _is_custom(spec):
        rows = ",\n".join(f"    [{_number(float(x))}, {_number(float(y))}, {int(label)}]"
                          for x, y, label in d.points)
        blocks.append("# The points drawn in the playground: x1, x2, label.\n"
                      f"POINTS = [\n{rows},\n]")
    else:
        blocks.append("# The function that draws the points (copied from the playground).\n"
                      + _source(getattr(generators, d.name)))
    blocks.append("# The inputs the network sees, computed from each point's x1 and x2\n"
                  "# (copied from the playground).\n" + _source(features.compute_features))
    lines = [
        "def load_data():",
        '    """Draw the points and split them into training, validation and test sets."""',
        f"    rng = np.random.default_rng({d.seed})  # the data seed: same seed, same points",
    ]
    if _is_custom(spec):
        lines += [
            "    points = np.array(POINTS, dtype=float)",
            "    points = points[rng.permutation(len(points))]  # shuffle the rows",
            "    xy, labels = points[:, :2], points[:, 2].astype(int)",
        ]
    else:
        args = "".join(f", {k}={v!r}" for k, v in _params(spec).items())
        lines.append(f"    xy, labels = {d.name}({n_total}, rng, {d.noise!r}{args})")
    lines += [
        f"    data = compute_features(xy, {list(spec.features)!r})",
        "    # Split in order: training first, then validation, then test.",
        f"    Training_data, Training_label = data[:{a}], labels[:{a}]",
        f"    Validation_data, Validation_label = data[{a}:{b}], labels[{a}:{b}]",
        f"    Test_data, Test_label = data[{b}:], labels[{b}:]",
        "    return (Training_data, Training_label, Validation_data, Validation_label,",
        "            Test_data, Test_label)",
    ]
    blocks.append("\n".join(lines))
    return "\n\n\n".join(blocks)


# ----- The model, the training, the results -----

def _main_section(spec: RunSpec, kind: str, n_classes: int) -> str:
    d, t = spec.dataset, spec.training
    has_val, has_test = d.n_val > 0, d.n_test > 0
    metric = "mae" if kind == "regression" else "accuracy"
    out = []  # lines inside `if __name__ == "__main__":`
    out += ["(Training_data, Training_label, Validation_data, Validation_label,",
            " Test_data, Test_label) = load_data()",
            'print("Training points:", len(Training_data), " validation:", len(Validation_data),',
            '      " test:", len(Test_data))']
    if kind == "multiclass":
        out += ["",
                f"# One column per class (one-hot): class 2 of {n_classes} becomes "
                + str([1 if i == 2 else 0 for i in range(n_classes)]).replace(" ", " ") + ".",
                f"Training_label = keras.utils.to_categorical(Training_label, {n_classes})",
                f"Validation_label = keras.utils.to_categorical(Validation_label, {n_classes})",
                f"Test_label = keras.utils.to_categorical(Test_label, {n_classes})"]
    out += ["", RULE, "# 2. The model", RULE,
            f"keras.utils.set_random_seed({t.seed})  # the training seed: same seed, same start",
            "", "model = models.Sequential()",
            f"model.add(layers.Input(shape=({len(spec.features)},)))"
            f"  # {len(spec.features)} numbers per point; only the first layer needs the input shape"]
    out += _layer_lines(spec, kind, n_classes)
    out += ["model.summary()", ""]
    out += _compile_lines(spec, kind, metric)
    out += ["", RULE, "# 3. The training", RULE]
    out += _fit_lines(spec)
    out += ["", RULE, "# 4. The results", RULE]
    out += [f"print(f\"epochs_trained: {{len(history.history['loss'])}}\")",
            f"print(f\"final_loss: {{history.history['loss'][-1]:.4f}}\")",
            f"print(f\"final_{metric}: {{history.history['{metric}'][-1]:.4f}}\")"]
    if has_val:
        out += [f"print(f\"val_loss: {{history.history['val_loss'][-1]:.4f}}\")",
                f"print(f\"val_{metric}: {{history.history['val_{metric}'][-1]:.4f}}\")"]
    if has_test:
        out += ["",
                "# The test set: points the network has never seen, not even for early stopping.",
                f"test_loss, test_{metric} = model.evaluate(Test_data, Test_label, verbose=0)",
                'print(f"test_loss: {test_loss:.4f}")',
                f'print(f"test_{metric}: {{test_{metric}:.4f}}")']
    body = "\n".join(("    " + line) if line else "" for line in out)
    return 'if __name__ == "__main__":\n' + body


def _layer_lines(spec: RunSpec, kind: str, n_classes: int) -> list[str]:
    t = spec.training
    reg = ""
    if t.regularization != "none" and t.regularization_rate > 0:
        reg = f", kernel_regularizer=regularizers.{t.regularization}({t.regularization_rate!r})"
    lines = []
    for i, layer in enumerate(spec.layers, start=1):
        lines.append(f"model.add(layers.Dense({layer.units}, activation={layer.activation!r}{reg}))"
                     f"  # hidden layer {i}: {layer.units} neuron{'s' if layer.units > 1 else ''}")
        if layer.dropout > 0:
            lines.append(f"model.add(layers.Dropout({layer.dropout!r}))"
                         f"  # training switches off {layer.dropout:.0%} of these neurons at random")
    if kind == "binary":
        comment = ("the single neuron: sigmoid(w1*x1 + w2*x2 + b), the probability of class 1"
                   if not spec.layers and len(spec.features) == 2 else
                   "the single neuron: the probability of class 1" if not spec.layers else
                   "output: the probability of class 1 (cut at 0.5)")
        lines.append(f"model.add(layers.Dense(1, activation='sigmoid'))  # {comment}")
    elif kind == "multiclass":
        lines.append(f"model.add(layers.Dense({n_classes}, activation='softmax'))"
                     "  # output: one probability per class, summing to 1")
    else:
        lines.append("model.add(layers.Dense(1, activation='linear'))"
                     "  # output: a real number, not squashed")
    return lines


def _compile_lines(spec: RunSpec, kind: str, metric: str) -> list[str]:
    t = spec.training
    args = f"learning_rate={t.learning_rate!r}"
    if t.optimizer == "sgd" and t.momentum > 0:
        args += f", momentum={t.momentum!r}"
    loss = LOSS_NAMES[_loss(spec, kind)]
    return [f"model.compile(optimizer=optimizers.{OPTIMIZER_CLASSES[t.optimizer]}({args}),",
            f"              loss={loss!r},  # the distance to the expected result",
            f"              metrics=[{metric!r}])"]


def _fit_lines(spec: RunSpec) -> list[str]:
    d, t = spec.dataset, spec.training
    lines = []
    callbacks = ""
    if t.early_stopping_patience is not None and d.n_val > 0:
        lines += ["# Stop when the validation loss has not improved for "
                  f"{t.early_stopping_patience} epochs in a row.",
                  "early_stopping = keras.callbacks.EarlyStopping(monitor='val_loss', "
                  f"patience={t.early_stopping_patience})"]
        callbacks = ", callbacks=[early_stopping]"
    updates = -(-d.n_train // t.batch_size)
    lines += [f"# One epoch uses every training point once, in {updates} updates of "
              f"{t.batch_size} point{'s' if t.batch_size > 1 else ''}"
              + (" (the last one smaller)." if d.n_train % t.batch_size else "."),
              "history = model.fit(Training_data, Training_label,",
              f"                    batch_size={t.batch_size}, epochs={t.epochs},"]
    if d.n_val > 0:
        lines.append("                    validation_data=(Validation_data, Validation_label),")
    lines.append(f"                    shuffle={t.shuffle!r}, verbose=2{callbacks})")
    return lines
