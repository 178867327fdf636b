"""Export a run as a Jupyter notebook (nbformat 4), in the course's style.

The notebook holds the pieces of the exported script (`engine/codegen.py`,
`engine/script_plots.py`), one step per cell, each after a short Markdown cell that says
what it does: the imports, the data (the playground's own generator and seed, then a
plot of the points), the model (`models.Sequential()`, `add`, `compile`), the training
(`fit` with validation data), the curves and the decision boundary (matplotlib, inline)
and the evaluation on the testing set. It needs only numpy, keras and matplotlib, so it
runs as is in Jupyter or a fresh Colab. Its figures print as the script's do
(`test_accuracy: 0.9500`, ...). An image run's notebook shows the first training images
instead of the points, and the filters, the confusion matrix and a few predictions
instead of the decision boundary (scikit-learn, in Colab too, draws the digits).

Only `nbformat` is imported here, never keras: the web path stays free of TensorFlow.
"""

from __future__ import annotations

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from ..data import CUSTOM, problem_of
from ..specs import RunSpec
from .codegen import (data_parts, fit_lines, imports_code, is_image, load_lines, model_lines, plots_code,
                      result_lines, run_facts)

MEDIA_TYPE = "application/x-ipynb+json"

_PLOT_POINTS = '''\
# The points: training (circles), validation (squares), testing (triangles).
import matplotlib.pyplot as plt

xy, labels = draw_points()
cuts = [0, {a}, {b}, {n}]
plt.figure(figsize=(6, 6))
for (start, end), marker, name in zip(zip(cuts, cuts[1:]), 'os^', ('training', 'validation', 'testing')):
    if end > start:
        plt.scatter(xy[start:end, 0], xy[start:end, 1], c=labels[start:end], cmap={cmap!r},
                    marker=marker, edgecolors='k', s=25, label=name)
plt.xlabel('x1', fontsize=15)
plt.ylabel('x2', fontsize=15)
plt.title('The points, coloured by their label')
plt.legend()
plt.show()'''

_SHOW_IMAGES = '''\
# The first training images, each with its class.
import matplotlib.pyplot as plt

images, labels = draw_images()
fig, axes = plt.subplots(2, 8, figsize=(12, 3.5))
for i, ax in enumerate(axes.flat):
    ax.axis('off')
    if i < {n_train}:
        ax.imshow(images[i, :, :, 0], cmap='gray', vmin=0, vmax=1)
        ax.set_title(CLASS_NAMES[labels[i]])
plt.show()'''

_KIND_WORDS = {
    "binary": "Each point belongs to class 0 or class 1: the network learns the probability of class 1.",
    "multiclass": "Each point belongs to one of {n} classes: the network learns one probability per class.",
    "regression": "Each point carries a real number: the network learns to predict it.",
}


def export_notebook(spec: RunSpec) -> nbformat.NotebookNode:
    """The run as a notebook: Markdown cells that explain, code cells that do."""
    if spec.unet is not None:  # microscopy: a U-Net on random patches
        return _finish(_unet_cells(spec))
    kind, n_classes = problem_of(spec.dataset)
    d = spec.dataset
    metric = "mean absolute error (MAE)" if kind == "regression" else "accuracy"
    source = "your own points" if d.name == CUSTOM else f"the `{d.name}` data set"
    cmap = {"binary": "bwr_r", "multiclass": "tab10", "regression": "RdBu"}[kind]
    a, b, n = d.n_train, d.n_train + d.n_val, d.n_train + d.n_val + d.n_test
    facts = "\n".join(run_facts(spec, kind, n_classes))

    def code(lines) -> object:
        return new_code_cell("\n".join(lines) if isinstance(lines, list) else lines)

    unit, needs = "point", "numpy, keras and matplotlib"
    if is_image(spec):
        source, unit = f"the `{d.name}` images", "image"
        if "from sklearn" in data_parts(spec)[0]:
            needs = "numpy, scikit-learn, keras and matplotlib"
        data_cells = _image_data_cells(spec, kind, n_classes, code)
        plots_words = ("## 5. The curves, the filters and the mistakes\n\nThe loss and the accuracy at each "
                       "epoch, for training and validation: when the validation curve turns away from the "
                       "training curve, the network overfits. Then the first convolution's filters, the "
                       "confusion matrix (which classes the network mixes up) and a few images with the "
                       "class it gives them.")
    else:
        generator, features, loading = data_parts(spec)
        data_cells = [
            new_markdown_cell("## 2. The data\n\nThe points are drawn by the playground's own code "
                              f"with the same seed (data seed {d.seed}), so they are the same points."),
            code(generator),
            new_markdown_cell("The network does not see only x1 and x2: it sees the *features* "
                              "computed from them, chosen in the playground."),
            code(features),
            new_markdown_cell(f"The points are split in order: {d.n_train} to train the network, "
                              f"{d.n_val} to watch it during training (validation), {d.n_test} to test it "
                              "at the end, on points it has never seen."),
            code(loading),
            code(load_lines(spec, kind, n_classes)),
            new_markdown_cell("Let us look at the points."),
            code(_PLOT_POINTS.format(a=a, b=b, n=n, cmap=cmap)),
        ]
        plots_words = (f"## 5. The curves and the decision boundary\n\nThe loss and the {metric} "
                       "at each epoch, for training and validation: when the validation curve "
                       "turns away from the training curve, the network overfits. Then the "
                       "network's output over the whole plane, with the training points.")

    cells = [
        new_markdown_cell(
            f"# Keras Playground: a network on {source}\n\n"
            "This notebook trains, with plain Keras, the network set up in the Keras Playground, "
            f"on exactly the same {unit}s. Run the cells from top to bottom (it needs only {needs}, "
            "as in Colab).\n\n"
            f"{_KIND_WORDS[kind].format(n=n_classes).replace('point', unit)}\n\n```text\n{facts}\n```"),
        new_markdown_cell("## 1. The imports\n\nnumpy for the arrays, keras for the network; "
                          "the plots appear below the cells."),
        code("%matplotlib inline\n" + imports_code(spec)),
        *data_cells,
        new_markdown_cell("## 3. The model\n\nA `Sequential` model: the layers are added one after "
                          "the other with `add`, then `compile` chooses the optimizer, the loss "
                          f"(what training makes small) and the metric we follow ({metric})."),
        code(model_lines(spec, kind, n_classes)),
        new_markdown_cell("## 4. The training\n\n`fit` shows the network the training points, "
                          "batch after batch, epoch after epoch"
                          + (", and measures it on the validation points after each epoch."
                             if d.n_val else ".")),
        code(fit_lines(spec)),
        new_markdown_cell(plots_words),
        code(plots_code(spec, kind)),
        code("plot_results(history, model)"),
        new_markdown_cell("## 6. The results\n\nThe figures of the last epoch"
                          + (", and the evaluation on the testing set." if d.n_test else ".")),
        code(result_lines(spec, kind)),
    ]
    return _finish(cells)


def _finish(cells: list) -> nbformat.NotebookNode:
    notebook = new_notebook(cells=cells, metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
    })
    nbformat.validate(notebook)
    return notebook


def _image_data_cells(spec: RunSpec, kind: str, n_classes: int, code) -> list:
    """The data part of an image run's notebook: the generator, the split, a look at the images."""
    d = spec.dataset
    generator, loading = data_parts(spec)
    return [
        new_markdown_cell("## 2. The data\n\nThe images are drawn by the playground's own code "
                          f"with the same seed (data seed {d.seed}), so they are the same images. "
                          "The drawing function calls a few small helpers: they come along."),
        code(generator),
        new_markdown_cell(f"The images are split in order: {d.n_train} to train the network, "
                          f"{d.n_val} to watch it during training (validation), {d.n_test} to test it "
                          "at the end, on images it has never seen."),
        code(loading),
        code(load_lines(spec, kind, n_classes)),
        new_markdown_cell("Let us look at a few of the images."),
        code(_SHOW_IMAGES.replace("{n_train}", str(d.n_train))),
    ]


def _code(lines) -> object:
    return new_code_cell("\n".join(lines) if isinstance(lines, list) else lines)


def _unet_cells(spec: RunSpec) -> list:
    """A microscopy run's notebook: the microscope, the patches, the U-Net, fit, the images."""
    from . import codegen_unet as cu  # nbformat and numpy only, as the rest
    from .script_unet_plots import unet_plot_function

    d, segmentation = spec.dataset, spec.unet.output != "restored"
    generator, loading, patches = cu.unet_data_parts(spec)
    custom, network = cu.unet_model_parts(spec)
    facts = "\n".join(cu.unet_facts(spec))
    task = ("finds the nuclei: for each pixel, the probability that it lies in a nucleus" if segmentation
            else "restores the images: from each noisy one, the clean one")
    return [
        new_markdown_cell(f"# Keras Playground: a U-Net on the `{d.name}` images\n\nThis notebook trains, "
                          "with plain Keras, the U-Net set up in the Keras Playground, on exactly the same "
                          "images. Run the cells from top to bottom (it needs only numpy, scipy, keras and "
                          f"matplotlib, as in Colab).\n\nThe network {task}.\n\n```text\n{facts}\n```"),
        new_markdown_cell("## 1. The imports\n\nnumpy for the arrays, keras for the network; the plots "
                          "appear below the cells."),
        _code("%matplotlib inline\n" + cu.unet_imports(spec)),
        new_markdown_cell("## 2. The data\n\nA synthetic fluorescence microscope draws the images with the "
                          f"playground's own code and seed (data seed {d.seed}), each with its exact ground "
                          "truth. The drawing function calls a few small helpers, and the scores printed at "
                          "the end come along."),
        _code(generator),
        new_markdown_cell(f"The images are split in order: {d.n_train} to train the network, {d.n_val} to "
                          f"watch it during training (validation), {d.n_test} to test it at the end."),
        _code(loading),
        _code(cu.unet_load_lines(spec)),
        new_markdown_cell("Let us look at a few images and what the network should make of them."),
        _code(_SHOW_SCOPE.replace("{truth}", "Training_label" if segmentation else "Training_label[..., 0]")),
        new_markdown_cell("The network trains on patches: each epoch a new random crop of every training "
                          "image, turned and flipped at random, so it sees new examples every time."),
        _code(patches),
        new_markdown_cell("## 3. The model\n\nFirst the U-Net's own pieces: a layer that scales each image "
                          "by its own percentiles, the loss and the metric. Then the U-Net: down, a bottom, "
                          "back up, each level joined to the same level on the way down."),
        _code(custom),
        _code(network),
        _code(cu.unet_model_lines(spec)),
        new_markdown_cell("## 4. The training\n\n`fit` shows the network the patches, batch after batch, "
                          "epoch after epoch" + (", and measures it on the whole validation images after each "
                                                 "epoch." if d.n_val else ".")),
        _code(cu.unet_fit_lines(spec)),
        new_markdown_cell("## 5. The curves and the images\n\nThe loss and the score at each epoch, then a "
                          "few images beside the network's output."),
        _code(unet_plot_function(spec)),
        _code("plot_results(history, model)"),
        new_markdown_cell("## 6. The results\n\nThe figures of the last epoch"
                          + (", and the scores on the testing images." if d.n_test else ".")),
        _code(cu.unet_result_lines(spec)),
    ]


_SHOW_SCOPE = '''\
# The first training images (top) and their ground truth (bottom: the classes or the clean image).
import matplotlib.pyplot as plt

fig, axes = plt.subplots(2, 4, figsize=(12, 6))
for i in range(4):
    for ax in axes[:, i]:
        ax.axis('off')
    if i < len(Training_data):
        axes[0, i].imshow(Training_data[i, :, :, 0], cmap='gray')
        axes[1, i].imshow({truth}[i], cmap='gray')
plt.show()'''


def notebook_text(spec: RunSpec) -> str:
    """The notebook as the text of a .ipynb file."""
    return nbformat.writes(export_notebook(spec))
