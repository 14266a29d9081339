"""Writing the figures of a training run's model directory into a folder of PNGs."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Sequence

import keras

from alexnet_tf.data import IMAGE_SIZE, dataset_labels, find_stats, resolve_source
from alexnet_tf.data.sources import check_labels
from alexnet_tf.figures.curves import load_history
from alexnet_tf.figures.kernels import conv1_kernels
from alexnet_tf.figures.plotting import plot_conv1_kernels, plot_neighbour_grid, plot_training_curves
from alexnet_tf.figures.retrieval import NeighbourGrid, find_neighbours
from alexnet_tf.training.config import load_config
from alexnet_tf.training.outputs import ModelDir

logger = logging.getLogger(__name__)

# Figure name -> file written into the output folder.
FIGURE_FILES = {
    "curves": "training_curves.png",
    "kernels": "conv1_kernels.png",
    "neighbours": "nearest_neighbours.png",
}


def load_trained_model(model_dir: str | os.PathLike) -> keras.Model:
    """Loads `MODEL_DIR/model.keras`, the model a training run kept.

    Raises:
        FileNotFoundError: when there is none.
    """
    path = ModelDir(model_dir).model
    if not path.is_file():
        raise FileNotFoundError(f"No trained model at {path}. Received: model_dir={str(model_dir)!r}")
    return keras.saving.load_model(path, compile=False)


def write_figures(
    model_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    figures: Sequence[str] = tuple(FIGURE_FILES),
    data_dir: str | os.PathLike | None = None,
    query_split: str = "val",
    gallery_split: str = "train",
    queries: int = 5,
    neighbours: int = 6,
    max_gallery: int | None = None,
    image_size: int | None = None,
    batch_size: int = 64,
    dpi: int = 100,
    progress: bool = False,
) -> dict[str, Path]:
    """Writes the training curves, the conv1 kernels and the nearest-neighbour grid as PNGs.

    The file names are `FIGURE_FILES`. The curves need `MODEL_DIR/history/history.json`,
    the kernels `MODEL_DIR/model.keras`, and the neighbours also `data_dir`; images are
    preprocessed with the statistics in `MODEL_DIR/dataset_stats.json` (`find_stats`).

    Args:
        model_dir: str or Path. A training run's output folder.
        out_dir: str or Path. The folder to write into (created if missing).
        figures: sequence of str. Names from `FIGURE_FILES` to write. Defaults to all.
        data_dir: str, Path or None. The data set holding the query and gallery splits;
            required for `"neighbours"`. Defaults to `None`.
        query_split: str. Split of the query images. Defaults to `"val"`.
        gallery_split: str. Split searched for neighbours. Defaults to `"train"`.
        queries: int. Query images (rows of the grid). Defaults to `5`.
        neighbours: int. Neighbours per query. Defaults to `6`, the paper's.
        max_gallery: int or None. Search only this many gallery images, spread over the
            split. Defaults to `None` (all).
        image_size: int or None. Side of the rescaled square the centre crop is taken
            from. Defaults to `None`: the run's (`config.json`), else `256`.
        batch_size: int. Images per forward pass. Defaults to `64`.
        dpi: int. Pixels per inch of the PNGs. Defaults to `100`.
        progress: bool. Show a progress bar over the gallery. Defaults to `False`.

    Returns:
        `{figure name: written path}` in the order of `figures`.

    Raises:
        FileNotFoundError: when an input a figure needs is missing.
        ValueError: for an unknown figure name, `"neighbours"` without `data_dir`, or a
            model without conv1 towers.
    """
    unknown = [name for name in figures if name not in FIGURE_FILES]
    if unknown or not figures:
        raise ValueError(f"`figures` must name some of {list(FIGURE_FILES)}. Received: figures={list(figures)}")
    if "neighbours" in figures and data_dir is None:
        raise ValueError(
            "The nearest-neighbour figure needs `data_dir`, the data set to draw queries and "
            f"neighbours from. Received: data_dir=None, figures={list(figures)}"
        )
    out_dir = Path(out_dir)
    model = load_trained_model(model_dir) if {"kernels", "neighbours"} & set(figures) else None
    written = {}
    for name in figures:
        path = out_dir / FIGURE_FILES[name]
        if name == "curves":
            plot_training_curves(load_history(model_dir), path, dpi=dpi)
        elif name == "kernels":
            plot_conv1_kernels(conv1_kernels(model), path, dpi=dpi)
        else:
            grid, labels = _nearest_neighbours(
                model, model_dir, data_dir, query_split, gallery_split,
                queries=queries, k=neighbours, max_gallery=max_gallery,
                image_size=image_size or _run_image_size(model_dir), batch_size=batch_size, progress=progress,
            )
            plot_neighbour_grid(grid, labels, path, dpi=dpi)
        logger.info("Wrote the %s figure to %s.", name, path)
        written[name] = path
    return written


def _nearest_neighbours(
    model: keras.Model,
    model_dir: str | os.PathLike,
    data_dir: str | os.PathLike,
    query_split: str,
    gallery_split: str,
    **options,
) -> tuple[NeighbourGrid, list[str]]:
    """The neighbour grid of a data directory's splits and the data set's labels."""
    query_source = resolve_source(data_dir, query_split)
    gallery_source = resolve_source(data_dir, gallery_split)
    labels = dataset_labels(data_dir)
    for source in (query_source, gallery_source):
        check_labels(source, len(labels))
    grid = find_neighbours(model, query_source, gallery_source, stats=find_stats(model_dir), **options)
    return grid, labels


def _run_image_size(model_dir: str | os.PathLike) -> int:
    """The rescaled-square side the run trained with, or the paper's without a `config.json`."""
    config = ModelDir(model_dir).config
    return load_config(config).image_size if config.is_file() else IMAGE_SIZE
