"""Learning curves: per task, training and validation loss and metrics over the epochs.

The figure has one row per task: its loss on the left, its metrics on the
right, training values as solid lines and validation values as dashed lines
of the same color. It is drawn on a stand-alone matplotlib `Figure` (no
pyplot, no process-wide backend switch) and written as a PNG.

Example:

>>> history = {"left_digit_loss": [0.9, 0.4], "val_left_digit_loss": [0.8, 0.5],
...            "left_digit_accuracy": [0.7, 0.9], "val_left_digit_accuracy": [0.75, 0.88]}
>>> figure = plot_learning_curves(history, {"left_digit": ["accuracy"]}, "/tmp/curves.png")
>>> [axes.get_title() for axes in figure.axes]
['left_digit: loss', 'left_digit: metrics']
"""

from __future__ import annotations

from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

PANEL_SIZE = (5.0, 3.0)  # inches, one panel


def _plot_series(axes, history: dict, task: str, names) -> None:
    for index, name in enumerate(names):
        key = f"{task}_{name}"
        color = f"C{index}"
        for prefix, style, label in (("", "-", name), ("val_", "--", f"val {name}")):
            values = history.get(prefix + key)
            if values:
                axes.plot(range(1, len(values) + 1), values, style, color=color, marker=".", label=label)
    if axes.lines:
        axes.legend(fontsize="small")
    else:
        axes.text(0.5, 0.5, "nothing recorded", ha="center", va="center", transform=axes.transAxes)


def plot_learning_curves(history: dict, task_metrics: dict, path) -> Figure:
    """Draws every task's training and validation curves and writes them as a PNG.

    Args:
        history: dict. Keras history: `"<task>_<metric>"` and
            `"val_<task>_<metric>"` -> one value per epoch.
        task_metrics: dict. Task name -> list of its metric names (its loss
            is drawn in any case).
        path: str or Path. The PNG file to write.

    Returns:
        The matplotlib `Figure`: two panels (loss, metrics) per task, in task order.
    """
    figure = Figure(figsize=(2 * PANEL_SIZE[0], PANEL_SIZE[1] * max(1, len(task_metrics))), layout="constrained")
    panels = figure.subplots(max(1, len(task_metrics)), 2, squeeze=False)
    for row, (task, metrics) in zip(panels, task_metrics.items()):
        for axes, title, names in ((row[0], "loss", ["loss"]), (row[1], "metrics", list(metrics))):
            _plot_series(axes, history, task, names)
            axes.set_title(f"{task}: {title}")
            axes.set_xlabel("epoch")
            axes.xaxis.set_major_locator(MaxNLocator(integer=True))
            axes.grid(alpha=0.3)
    figure.savefig(path, dpi=100)
    return figure


def plot_task_weights(history: dict, task_names, path) -> Figure:
    """Draws each task's balancer weight over the epochs (`{task}_weight` in the history); writes a PNG.

    Every balancer logs the weight it gives each task per epoch (a learned
    or adaptive loss weight, or for gradient balancers the weight implied by
    the update), so this one panel shows how the balance moved in training.

    Args:
        history: dict. Keras history with `"<task>_weight"` -> one value per epoch.
        task_names: list of str. Tasks to draw, in order.
        path: str or Path. The PNG file to write.

    Returns:
        The matplotlib `Figure`: one panel, one line per task with a logged weight.

    Example:

    >>> history = {"left_digit_weight": [1.0, 0.8, 0.7], "right_digit_weight": [1.0, 1.2, 1.3]}
    >>> figure = plot_task_weights(history, ["left_digit", "right_digit"], "/tmp/task_weights.png")
    >>> [line.get_label() for line in figure.axes[0].lines]
    ['left_digit', 'right_digit']
    """
    figure = Figure(figsize=PANEL_SIZE, layout="constrained")
    axes = figure.subplots()
    for index, task in enumerate(task_names):
        values = history.get(f"{task}_weight")
        if values:
            axes.plot(range(1, len(values) + 1), values, "-", color=f"C{index}", marker=".", label=task)
    if axes.lines:
        axes.legend(fontsize="small")
    else:
        axes.text(0.5, 0.5, "nothing recorded", ha="center", va="center", transform=axes.transAxes)
    axes.set_title("task weights")
    axes.set_xlabel("epoch")
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.grid(alpha=0.3)
    figure.savefig(path, dpi=100)
    return figure
