"""The plots of a microscopy run's exported script and notebook (`engine/codegen_unet.py`).

`unet_plot_function(spec)` is the text of `plot_results(history, model)`: the loss and the
Dice score (or PSNR) per epoch, as for the other runs (`engine/script_plots.py`), then the
first testing images (else validation, else training) in rows: for segmentation the image,
the network's probability of a nucleus, and its mask (cut at 0.5) with the true nuclei's
outline in red (`segmentation.png`); for restoration the noisy image, the restored one and
the clean one on one grey scale (`restoration.png`). It uses `load_data` of the script and
saves beside the script, or in the working folder in a notebook.
"""

from __future__ import annotations

from ..specs import RunSpec
from .script_plots import PLOT_CURVES, PLOT_END

UNET_PLOTS_FLAG = """\
# Plots of the training, as in the course's notebooks: the loss and the score per epoch,
# and a few testing images beside the network's output (needs matplotlib).
# Set PLOTS = False to skip them.
PLOTS = True"""

_DEF = '''\
def plot_results(history, model):
    """Plot the training curves and a few {images} images beside what the network makes
    of them; save each as a PNG file next to this script, and show them when there is a
    screen to show them on."""
'''

_ROWS = '''
    # The first {images} images, whole, and the network's output for them.
    images, truth = load_data()[{at}:{at_end}]
    images, truth = images[:3], truth[:3]
    output = model.predict(images, verbose=0)
    fig, axes = plt.subplots(len(images), 3, figsize=(10, 3.4 * len(images)), squeeze=False)
'''

_SEGMENTATION = '''\
    probability = {probability}  # the probability of a nucleus, at each pixel
    for row, ax in enumerate(axes):
        ax[0].imshow(images[row, :, :, 0], cmap='gray')
        ax[0].set_title('Image')
        ax[1].imshow(probability[row], cmap='magma', vmin=0, vmax=1)
        ax[1].set_title('Probability of a nucleus')
        ax[2].imshow(probability[row] > 0.5, cmap='gray', vmin=0, vmax=1)
        ax[2].contour(truth[row] > 0, levels=[0.5], colors='red', linewidths=1)
        ax[2].set_title('Mask (above 0.5), true outline in red')
        for a in ax:
            a.axis('off')
    fig.suptitle('Segmentation: image, prediction, ground truth')
    fig.tight_layout()
    saved.append('segmentation.png')
    plt.savefig(os.path.join(folder, saved[-1]))
'''

_RESTORATION = '''\
    for row, ax in enumerate(axes):
        low, high = float(truth[row].min()), float(truth[row].max())  # one grey scale for all three
        for a, picture, title in zip(ax, (images[row], output[row], truth[row]), ('Noisy', 'Restored', 'Clean')):
            a.imshow(picture[:, :, 0], cmap='gray', vmin=low, vmax=high)
            a.set_title(title)
            a.axis('off')
    fig.suptitle('Restoration: noisy, restored, clean')
    fig.tight_layout()
    saved.append('restoration.png')
    plt.savefig(os.path.join(folder, saved[-1]))
'''


def unet_plot_function(spec: RunSpec) -> str:
    """The source of `plot_results(history, model)` for a microscopy run."""
    d = spec.dataset
    # load_data() returns train, its labels, validation, ..., testing: the testing pair if any.
    word, at = ("testing", 4) if d.n_test else ("validation", 2) if d.n_val else ("training", 0)
    metric, name = ("psnr", "PSNR (dB)") if spec.unet.output == "restored" else ("dice", "Dice")
    curves = PLOT_CURVES.replace("{metric}", metric).replace("{metric_name}", name)
    rows = _ROWS.replace("{images}", word).replace("{at}", str(at)).replace("{at_end}", str(at + 2))
    if spec.unet.output == "restored":
        kind = _RESTORATION
    else:
        probability = "output[..., 0]" if spec.unet.output == "foreground" else "1 - output[..., 0]"
        kind = _SEGMENTATION.replace("{probability}", probability)
    return _DEF.replace("{images}", word) + curves + rows + kind + PLOT_END
