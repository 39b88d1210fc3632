"""Plots of gradient norms through time (matplotlib, imported only when a plot is made)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from torch import Tensor

Curve = Sequence[float] | Tensor


def plot_gradient_norms(
    panels: Mapping[str, Mapping[str, Curve]],
    path: str | Path,
    title: str | None = None,
    ylabel: str = r"mean $\|\partial L / \partial h_t\|_2$",
) -> Path:
    """Write a PNG with one panel per entry of ``panels``, each a line per ``{label: curve (T,)}``, log y axis.

    Args:
        panels: Panel title -> label -> norms per time step.
        path: Output file (``.png``); parent directories are created.
        title: Figure title.
        ylabel: Y axis label.

    Returns:
        The path written.
    """
    # The object-oriented API with the Agg canvas: no pyplot global state, no GUI backend, safe in workers.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure = Figure(figsize=(5.0 * len(panels), 4.0), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, len(panels), squeeze=False)[0]
    for ax, (panel, curves) in zip(axes, panels.items()):
        for label, curve in curves.items():
            values = curve.detach().cpu().tolist() if isinstance(curve, Tensor) else list(curve)
            # A zero norm cannot be drawn on a log axis; leave that point out rather than fail.
            ax.plot(range(1, len(values) + 1), [v if v > 0 else float("nan") for v in values], label=label)
        ax.set_yscale("log")
        ax.set_xlabel("time step t")
        ax.set_ylabel(ylabel)
        ax.set_title(panel)
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize="small")
    if title:
        figure.suptitle(title)
    figure.savefig(path, dpi=110)
    return path
