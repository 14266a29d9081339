"""Drawing the figures with matplotlib's Agg backend (no display, no pyplot state).

Each function draws what the pure functions of `curves`, `kernels` and `retrieval`
computed and writes a PNG whose size in pixels is its size in inches times `dpi`
(the sizes are given in each docstring).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from alexnet_tf.figures.curves import curve_panels, history_series
from alexnet_tf.figures.kernels import kernel_mosaic
from alexnet_tf.figures.retrieval import NeighbourGrid

PANEL_INCHES = (4.0, 3.0)
TITLE_INCHES = 0.4
CELL_INCHES = 1.5
LABEL_INCHES = 0.5
HEADER_INCHES = 0.3
_SAME_CLASS, _OTHER_CLASS = "tab:green", "tab:red"


def plot_training_curves(records: list[dict], path: str | os.PathLike, *, dpi: int = 100) -> Path:
    """Draws loss, top-1 and top-5 error (train and validation) and the learning rate per epoch.

    One panel per quantity the history holds (`curves.CURVE_PANELS`), side by side:
    the figure is `4 * panels` by `3` inches. Validation curves name their best value
    and its epoch in the legend; the learning rate is on a log scale.

    Args:
        records: list of dict. Per-epoch records (`curves.load_history`).
        path: str or Path. The PNG to write.
        dpi: int. Pixels per inch. Defaults to `100`.

    Returns:
        The written path.
    """
    series = history_series(records)
    panels = curve_panels(series)
    figure = Figure(figsize=(PANEL_INCHES[0] * len(panels), PANEL_INCHES[1]), dpi=dpi, layout="constrained")
    epochs = series["epoch"]
    for axes, panel in zip(figure.subplots(1, len(panels), squeeze=False)[0], panels):
        scale = 100.0 if panel.percent else 1.0
        for key in (key for key in panel.keys if key in series):
            values = series[key] * scale
            marker = "." if len(epochs) < 30 else None
            axes.plot(epochs, values, marker=marker, label=_curve_label(key, values, epochs))
        axes.set_title(panel.title)
        axes.set_xlabel("epoch")
        axes.set_yscale("log" if panel.log_scale else "linear")
        axes.grid(alpha=0.3)
        axes.legend(fontsize="small")
    return _save(figure, path)


def _curve_label(key: str, values: np.ndarray, epochs: np.ndarray) -> str:
    if key == "learning_rate":
        return "learning rate"
    if not key.startswith("val_"):
        return "train"
    best = int(np.nanargmin(values))
    return f"validation (best {values[best]:.3g} at epoch {epochs[best]:.0f})"


def plot_conv1_kernels(
    kernels: Sequence[np.ndarray],
    path: str | os.PathLike,
    *,
    columns: int = 16,
    width_inches: float = 8.0,
    dpi: int = 100,
) -> Path:
    """Draws each tower's conv1 kernels as a labelled mosaic, tower 1 on top (Figure 3).

    Every kernel is min-max normalized on its own (`kernels.normalize_kernels`). The
    figure is `width_inches` wide; each tower takes `rows * width_inches / columns +
    0.4` inches of height (the paper's 48 kernels in 16 columns: 3 rows).

    Args:
        kernels: sequence of arrays `(height, width, 3, kernels)`. One per tower
            (`kernels.conv1_kernels`).
        path: str or Path. The PNG to write.
        columns: int. Kernels per row. Defaults to `16`.
        width_inches: float. Width of the figure. Defaults to `8.0`.
        dpi: int. Pixels per inch. Defaults to `100`.

    Returns:
        The written path.
    """
    mosaics = [kernel_mosaic(tower, columns) for tower in kernels]
    rows = [-(-tower.shape[-1] // columns) for tower in kernels]
    tile = width_inches / columns
    heights = [count * tile + TITLE_INCHES for count in rows]
    figure = Figure(figsize=(width_inches, sum(heights)), dpi=dpi, layout="constrained")
    grid = figure.subplots(len(mosaics), 1, squeeze=False, gridspec_kw={"height_ratios": heights})[:, 0]
    for tower, (axes, mosaic, weights) in enumerate(zip(grid, mosaics, kernels)):
        height, width, channels, count = weights.shape
        name = f"Tower {tower + 1} (GPU {tower + 1})" if len(kernels) > 1 else "One tower"
        axes.imshow(mosaic, interpolation="nearest")
        axes.set_title(f"{name}: {count} kernels of {height}x{width}x{channels}", fontsize="medium", loc="left")
        axes.set_axis_off()
    return _save(figure, path)


def plot_neighbour_grid(
    grid: NeighbourGrid, labels: Sequence[str], path: str | os.PathLike, *, dpi: int = 100
) -> Path:
    """Draws one row per query: the query, then its neighbours, nearest first (Figure 4).

    Each image is labelled with its class (the part of the label before the first
    comma, as ImageNet labels list synonyms); a neighbour's label is green when it is
    the query's class and red otherwise, with its fc7 distance. The figure is
    `1.5 * (k + 1)` inches wide and `2 * queries + 0.3` high.

    Args:
        grid: NeighbourGrid. Queries and neighbours (`retrieval.find_neighbours`).
        labels: sequence of str. Human-readable labels in class-index order.
        path: str or Path. The PNG to write.
        dpi: int. Pixels per inch. Defaults to `100`.

    Returns:
        The written path.
    """
    queries, k = grid.positions.shape
    figure = Figure(
        figsize=(CELL_INCHES * (k + 1), (CELL_INCHES + LABEL_INCHES) * queries + HEADER_INCHES),
        dpi=dpi,
        layout="constrained",
    )
    figure.suptitle("Nearest neighbours by Euclidean distance of fc7 features", fontsize="medium")
    cells = figure.subplots(queries, k + 1, squeeze=False)
    for row in range(queries):
        query_label = grid.query_labels[row]
        _draw_cell(cells[row, 0], grid.query_images[row], _short(labels[query_label]), "black")
        cells[row, 0].xaxis.label.set_fontweight("bold")
        for column in range(k):
            label = grid.labels[row, column]
            _draw_cell(
                cells[row, column + 1],
                grid.images[row, column],
                f"{_short(labels[label])}\nd = {grid.distances[row, column]:.3g}",
                _SAME_CLASS if label == query_label else _OTHER_CLASS,
            )
    cells[0, 0].set_title("query", fontsize="small")
    for column in range(k):
        cells[0, column + 1].set_title(f"#{column + 1}", fontsize="small")
    return _save(figure, path)


def _draw_cell(axes, image: np.ndarray, text: str, colour: str) -> None:
    axes.imshow(image)
    axes.set_xticks([])
    axes.set_yticks([])
    axes.set_xlabel(text, fontsize="x-small", color=colour)


def _short(label: str, length: int = 20) -> str:
    name = label.split(",")[0].strip()
    return name if len(name) <= length else name[: length - 1] + "…"


def _save(figure: Figure, path: str | os.PathLike) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    FigureCanvasAgg(figure).print_png(path)
    return path
