"""The plots of an image run's exported script and notebook.

`image_plot_function(spec, kind)` is the text of `plot_results(history, model)`: the loss
and accuracy curves (as for points, `engine/script_plots.py`), the first convolution's
filters (`filters.png`), the confusion matrix on the testing images (`confusion_matrix.png`,
counts written in the cells) and the first testing images with the class the network
gives them (`predictions.png`). Without a testing set it looks at the validation images,
without those at the training images. It uses `load_data` and `CLASS_NAMES` of the script
and saves beside the script, or in the working folder in a notebook.
"""

from __future__ import annotations

from ..specs import RunSpec
from .script_plots import PLOT_CURVES, PLOT_END

IMAGE_PLOTS_FLAG = """\
# Plots of the training, as in the course's notebooks: the loss and accuracy curves, the
# first convolution's filters, the confusion matrix and a few testing images with the
# network's answer (needs matplotlib). Set PLOTS = False to skip them.
PLOTS = True"""

_DEF = '''\
def plot_results(history, model):
    """Plot the training curves, the first convolution's filters, the confusion matrix and a
    few {images} images with the network's answer; save each as a PNG file next to this
    script, and show them when there is a screen to show them on."""
'''

_IMAGES = '''
    # The {images} images and their labels (0, 1, ...), and what the network says of them.
    images, labels = load_data()[{at}:{at_end}]
    probabilities = model.predict(images, verbose=0)
{predicted}
    n_classes = len(CLASS_NAMES)

    # The first convolution's filters, one small square each: red weights are positive, blue
    # negative. A filter answers most where the image looks like it.
    convolutions = [layer for layer in model.layers if isinstance(layer, layers.Conv2D)]
    if convolutions:
        kernel = convolutions[0].get_weights()[0]  # (height, width, input channels, filters)
        count = kernel.shape[3]
        columns = min(count, 8)
        rows = -(-count // columns)
        scale = float(np.abs(kernel).max()) or 1.0
        fig, axes = plt.subplots(rows, columns, figsize=(1.3 * columns, 1.3 * rows + 0.7), squeeze=False)
        for i, ax in enumerate(axes.flat):
            ax.axis('off')
            if i < count:
                ax.imshow(kernel[:, :, 0, i], cmap='bwr', vmin=-scale, vmax=scale)
                ax.set_title(str(i + 1), fontsize=9)
        fig.suptitle('The filters of the first convolution')
        fig.tight_layout()
        saved.append('filters.png')
        plt.savefig(os.path.join(folder, saved[-1]))

    # The confusion matrix: row = the true class, column = the predicted class; the diagonal
    # holds the images the network gets right.
    matrix = np.zeros((n_classes, n_classes), dtype=int)
    np.add.at(matrix, (labels, predicted), 1)
    plt.figure(figsize=(6, 6))
    plt.imshow(matrix, cmap='Blues')
    for true in range(n_classes):
        for guess in range(n_classes):
            plt.text(guess, true, matrix[true, guess], ha='center', va='center',
                     color='white' if matrix[true, guess] > matrix.max() / 2 else 'black')
    plt.xticks(range(n_classes), CLASS_NAMES)
    plt.yticks(range(n_classes), CLASS_NAMES)
    plt.xlabel('Predicted class', fontsize=15)
    plt.ylabel('True class', fontsize=15)
    plt.title(f'Confusion matrix, {images_word} images (accuracy {np.mean(predicted == labels):.0%})')
    saved.append('confusion_matrix.png')
    plt.savefig(os.path.join(folder, saved[-1]))

    # The first {images} images with the network's answer: green when right, red (with the
    # true class in brackets) when wrong.
    fig, axes = plt.subplots(2, 6, figsize=(10, 4))
    for i, ax in enumerate(axes.flat):
        ax.axis('off')
        if i < len(images):
            right = predicted[i] == labels[i]
            ax.imshow(images[i, :, :, 0], cmap='gray', vmin=0, vmax=1)
            ax.set_title(CLASS_NAMES[predicted[i]] + ('' if right else f' ({CLASS_NAMES[labels[i]]})'),
                         color='green' if right else 'red', fontsize=10)
    fig.suptitle('The class the network predicts')
    saved.append('predictions.png')
    plt.savefig(os.path.join(folder, saved[-1]))
'''

_PREDICTED = {
    "multiclass": "    predicted = probabilities.argmax(axis=1)  # the most probable class",
    "binary": "    predicted = (probabilities[:, 0] > 0.5).astype(int)  # class 1 above 0.5",
}


def image_plot_function(spec: RunSpec, kind: str) -> str:
    """The source of `plot_results(history, model)` for an image run."""
    d = spec.dataset
    # load_data() returns train, its labels, validation, ..., testing: the testing pair if any.
    word, at = ("testing", 4) if d.n_test else ("validation", 2) if d.n_val else ("training", 0)
    images = (_IMAGES.replace("{images}", word).replace("{images_word}", word)
              .replace("{at}", str(at)).replace("{at_end}", str(at + 2)).replace("{predicted}", _PREDICTED[kind]))
    curves = PLOT_CURVES.replace("{metric}", "accuracy").replace("{metric_name}", "Accuracy")
    return _DEF.replace("{images}", word) + curves + images + PLOT_END
