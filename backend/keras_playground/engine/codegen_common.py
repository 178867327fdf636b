"""What the exported script's two kinds share (`engine/codegen.py` for points,
`engine/codegen_images.py` for images): the comment style, the loss and regularization
choices, the dense and output layers, the training facts of the header, and how copied
source loses the comments written for the playground's maintainers.
"""

from __future__ import annotations

import ast

import types

from ..data import CUSTOM, natural_loss
from ..specs import RunSpec

RULE = "# " + "-" * 66
NOTES_FOR_US = ("playground", "exported script", "self-contained")  # comments a learner needs not


def is_custom(spec: RunSpec) -> bool:
    return spec.dataset.name == CUSTOM


def loss_of(spec: RunSpec, kind: str) -> str:
    return spec.training.loss or natural_loss(kind)


def regularized(spec: RunSpec) -> bool:
    t = spec.training
    return t.regularization != "none" and t.regularization_rate > 0 and bool(spec.layers)


def regularizer_arg(spec: RunSpec) -> str:
    """`, kernel_regularizer=...` for a layer with a kernel, or "" without regularization."""
    t = spec.training
    return f", kernel_regularizer=regularizers.{t.regularization}({t.regularization_rate!r})" \
        if regularized(spec) else ""


def commented(code: str, comment: str) -> list[str]:
    """A line of code with its comment, as a sentence, on the line above."""
    return [f"# {comment[0].upper()}{comment[1:]}.", code]


def global_names(code: types.CodeType) -> set[str]:
    """Every global a function's code may read, its lambdas and comprehensions included."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= global_names(const)
    return names


def without_notes(lines: list[str], words: tuple[str, ...] = NOTES_FOR_US) -> str:
    """Source lines without the comment lines that speak of the playground's internals."""
    return "\n".join(line for line in lines if not (
        line.lstrip().startswith("#") and any(word in line.lower() for word in words)))


def training_facts(spec: RunSpec, kind: str) -> list[str]:
    """The header's training lines (optimizer, loss, batches, extras) and its seeds."""
    d, t = spec.dataset, spec.training
    train = f"{t.optimizer}, learning rate {t.learning_rate:g}"
    if t.optimizer == "sgd" and t.momentum > 0:
        train += f", momentum {t.momentum:g}"
    extras = []
    if regularized(spec):
        extras.append(f"{t.regularization.upper()} regularization {t.regularization_rate:g}")
    if t.early_stopping_patience is not None and d.n_val > 0:
        extras.append(f"early stopping after {t.early_stopping_patience} epochs without progress")
    if not t.shuffle:
        extras.append("no shuffling")
    return [
        f"Training:  {train}, loss {loss_of(spec, kind)}",
        f"           batch size {t.batch_size}, {t.epochs} epochs",
        *(f"           {extra}" for extra in extras),
        f"Seeds:     data seed {d.seed}, training seed {t.seed}",
    ]


def dense_lines(spec: RunSpec, layer, i: int, comment: str) -> list[str]:
    """A hidden Dense layer (and its Dropout), `comment` saying what it is."""
    t = spec.training
    reg = regularizer_arg(spec)
    if reg:
        comment += f"; the {t.regularization.upper()} penalty keeps its weights small"
    lines = commented(f"model.add(layers.Dense({layer.units}, activation={layer.activation!r}{reg}))", comment)
    if layer.dropout > 0:
        lines += commented(f"model.add(layers.Dropout({layer.dropout!r}))",
                           f"dropout: in training only, {layer.dropout:.0%} of these outputs are set to 0 "
                           "at random (against overfitting)")
    return lines


def output_lines(kind: str, n_classes: int, binary_comment: str) -> list[str]:
    """The output layer, as the problem wants it."""
    if kind == "binary":
        return commented("model.add(layers.Dense(1, activation='sigmoid'))", binary_comment)
    if kind == "multiclass":
        return commented(f"model.add(layers.Dense({n_classes}, activation='softmax'))",
                         "output: one probability per class, summing to 1")
    return commented("model.add(layers.Dense(1, activation='linear'))", "output: a real number, not squashed")


def defined_names(node) -> list[str]:
    """The names a module-level statement defines (a function, a class, an assignment): what
    the code copiers follow to copy a function with everything it reaches."""
    if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
        return [node.name]
    if isinstance(node, ast.Assign):
        return [t.id for t in node.targets if isinstance(t, ast.Name)]
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return [node.target.id]
    return []
