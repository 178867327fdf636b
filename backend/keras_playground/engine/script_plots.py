"""The plots of an exported script (`engine/codegen.py`), as the course's notebooks draw them.

`plot_function(spec, kind)` is the text of `plot_results(history, model)`: the loss and the
metric per epoch (training and validation), and the network's output over the plane with
the training points (`engine/script_image_plots.py` draws an image run's). It uses
`draw_points`, `compute_features` and `FEATURES` of the script. Without matplotlib it says
so and returns; each figure is saved as a PNG file next to the script; `plt.show()` runs
only with an interactive backend, and on Linux without a display the backend is Agg, so a
headless run never blocks.
"""

from __future__ import annotations

from ..specs import RunSpec

PLOTS_FLAG = """\
# Plots of the training, as in the course's notebooks: the loss and accuracy curves
# and the decision boundary (needs matplotlib). Set PLOTS = False to skip them.
PLOTS = True"""

_PLOT_DEF = '''\
def plot_results(history, model):
    """Plot the training curves and the decision boundary; save each as a PNG file next to
    this script, and show them when there is a screen to show them on."""
'''

# The start of every `plot_results` (points' and images'): matplotlib if there is one,
# the folder to save in, the training curves.
PLOT_CURVES = '''\
    import os
    import sys
    try:
        import matplotlib
    except ImportError:
        print("matplotlib is not installed: no plots (pip install matplotlib to get them).")
        return
    screen = os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    if sys.platform.startswith("linux") and not screen and "inline" not in matplotlib.get_backend():
        matplotlib.use("Agg")  # no screen: the figures are only saved
    import matplotlib.pyplot as plt
    # Beside the script; in a notebook (Jupyter, Colab: no __file__), in the working folder.
    script = globals().get("__file__")
    folder = os.path.dirname(os.path.abspath(script)) if script else os.getcwd()
    saved = []

    # The loss and the {metric} at each epoch, for the training and the validation sets.
    history_dict = history.history
    epochs = range(1, len(history_dict['loss']) + 1)
    for key, name in (('loss', 'Loss'), ('{metric}', '{metric_name}')):
        plt.figure(figsize=(6, 6))
        plt.plot(epochs, history_dict[key], 'bo', label='Training ' + name.lower())
        if 'val_' + key in history_dict:
            plt.plot(epochs, history_dict['val_' + key], 'b', label='Validation ' + name.lower())
        plt.title('Training and validation ' + name.lower())
        plt.xlabel('Epochs', fontsize=15)
        plt.ylabel(name, fontsize=15)
        plt.legend()
        saved.append(key + '.png')
        plt.savefig(os.path.join(folder, saved[-1]))
'''

_BOUNDARY = '''
    # The decision boundary: the network's output over the plane, and the training points.
    xy, labels = draw_points()
    low, high = xy.min(axis=0), xy.max(axis=0)
    pad = (high - low) * 0.1
    x1, x2 = np.meshgrid(np.linspace(low[0] - pad[0], high[0] + pad[0], 200),
                         np.linspace(low[1] - pad[1], high[1] + pad[1], 200))
    grid = np.stack([x1.ravel(), x2.ravel()], axis=1)
    output = model.predict(compute_features(grid, FEATURES), verbose=0)
'''

_PLOT_TAIL = '''\
    plt.scatter(xy[:{n_train}, 0], xy[:{n_train}, 1], c=labels[:{n_train}], cmap=cmap, vmin=vmin, vmax=vmax,
                edgecolors='k', s=20)
    plt.xlabel('x1', fontsize=15)
    plt.ylabel('x2', fontsize=15)
    plt.title({title!r})
    saved.append('decision_boundary.png')
    plt.savefig(os.path.join(folder, saved[-1]))
'''

# The end of every `plot_results`: say where the files are, show the figures on a screen.
PLOT_END = '''\
    print("Plots saved next to this script:", ", ".join(saved))
    if matplotlib.get_backend().lower() not in ("agg", "pdf", "ps", "svg", "pgf", "cairo", "template"):
        plt.show()  # one window per figure: close them to end the script'''

_PLOT_KINDS = {
    "binary": ("    # Red: class 0, blue: class 1; the black line is where the output crosses 0.5.\n"
               "    value = output[:, 0].reshape(x1.shape)\n"
               "    cmap, vmin, vmax = 'bwr_r', 0.0, 1.0\n"
               "    plt.figure(figsize=(6, 6))\n"
               "    plt.contourf(x1, x2, value, levels=np.linspace(0, 1, 11), cmap=cmap, alpha=0.5)\n"
               "    plt.contour(x1, x2, value, levels=[0.5], colors='k')\n",
               "Decision boundary (output 0.5) and the training points"),
    "multiclass": ("    # Each colour is a class: the network's most probable class at each place.\n"
                   "    value = output.argmax(axis=1).reshape(x1.shape)\n"
                   "    cmap, vmin, vmax = 'tab10', 0, 9\n"
                   "    plt.figure(figsize=(6, 6))\n"
                   "    plt.pcolormesh(x1, x2, value, cmap=cmap, vmin=vmin, vmax=vmax, alpha=0.4, shading='auto')\n",
                   "The class the network predicts, and the training points"),
    "regression": ("    # The colour is the network's output; the points are coloured by their target.\n"
                   "    value = output[:, 0].reshape(x1.shape)\n"
                   "    cmap, vmin, vmax = 'RdBu', float(labels.min()), float(labels.max())\n"
                   "    plt.figure(figsize=(6, 6))\n"
                   "    plt.contourf(x1, x2, value, levels=np.linspace(vmin, vmax, 11), cmap=cmap, alpha=0.5,\n"
                   "                 extend='both')\n",
                   "The network's output and the training points"),
}


def plot_function(spec: RunSpec, kind: str) -> str:
    """The source of `plot_results(history, model)` (the script's and the notebook's)."""
    metric, metric_name = ("mae", "MAE") if kind == "regression" else ("accuracy", "Accuracy")
    body, title = _PLOT_KINDS[kind]
    head = (_PLOT_DEF + PLOT_CURVES + _BOUNDARY).replace("{metric}", metric).replace("{metric_name}", metric_name)
    tail = _PLOT_TAIL.replace("{n_train}", str(spec.dataset.n_train)).replace("{title!r}", repr(title))
    return head + "\n" + body + tail + PLOT_END
