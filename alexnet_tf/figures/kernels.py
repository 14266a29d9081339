"""The conv1 kernels of a model as images: the paper's Figure 3.

The paper shows the 96 first-layer kernels (11x11x3) of its two towers: the 48 of
tower 1 ("GPU 1") above the 48 of tower 2 ("GPU 2"), and notes that tower 1's are
largely colour-agnostic and tower 2's largely colour-specific. Here each tower's
kernels are laid out as one mosaic array; drawing is in `figures.plotting`.
"""

from __future__ import annotations

import keras
import numpy as np

from alexnet_tf.figures.checks import check_positive_int
from alexnet_tf.layers.towers import TowerConv2D

CONV1_LAYER = "conv1"


def conv1_kernels(model: keras.Model) -> list[np.ndarray]:
    """The first-layer kernels of a model built by `build_alexnet`, one array per tower.

    Args:
        model: keras.Model. A model whose layer `"conv1"` is a `TowerConv2D`, e.g. from
            `build_alexnet` (any number of towers and any width).

    Returns:
        One float32 array `(height, width, 3, kernels)` per tower, in tower order
        (the paper's: `(11, 11, 3, 48)` each).

    Raises:
        ValueError: when the model has no tower layer `"conv1"` or its kernels do not
            see 3 colour channels.
    """
    names = [layer.name for layer in model.layers]
    if CONV1_LAYER not in names or not isinstance(model.get_layer(CONV1_LAYER), TowerConv2D):
        raise ValueError(
            f"The model has no tower convolution '{CONV1_LAYER}' (a TowerConv2D, as "
            f"`build_alexnet` makes). Received: model={model.name!r} with layers {names}"
        )
    kernels = [
        np.asarray(keras.ops.convert_to_numpy(layer.kernel), np.float32)
        for layer in model.get_layer(CONV1_LAYER).tower_layers
    ]
    if kernels[0].shape[2] != 3:
        raise ValueError(
            "conv1 kernels must see 3 colour channels to be shown as images. "
            f"Received: kernel shape {kernels[0].shape}"
        )
    return kernels


def normalize_kernels(kernels: np.ndarray) -> np.ndarray:
    """Min-max normalizes each kernel on its own to [0, 1] for display.

    Each kernel's minimum over all its pixels and colour channels becomes 0 and its
    maximum 1 (one scale for the three channels, so a kernel's colours keep their
    balance); a constant kernel becomes 0.5 grey.

    Args:
        kernels: array `(height, width, channels, kernels)`. Kernels in Keras layout.

    Returns:
        A float32 array of the same shape with values in [0, 1].
    """
    kernels = np.asarray(kernels, np.float64)
    low = kernels.min(axis=(0, 1, 2), keepdims=True)
    span = kernels.max(axis=(0, 1, 2), keepdims=True) - low
    scaled = np.divide(kernels - low, span, out=np.full_like(kernels, 0.5), where=span > 0)
    return scaled.astype(np.float32)


def kernel_mosaic(kernels: np.ndarray, columns: int = 16, padding: int = 1, fill: float = 1.0) -> np.ndarray:
    """Lays kernels out row by row as tiles of one image, each normalized for display.

    Kernel `j` is the tile in row `j // columns` and column `j % columns`; its top-left
    pixel is at `(padding + row * (height + padding), padding + col * (width + padding))`.

    Args:
        kernels: array `(height, width, 3, kernels)`. One tower's kernels.
        columns: int. Tiles per row. Defaults to `16`.
        padding: int. Pixels of `fill` between tiles and around the mosaic. Defaults to
            `1`.
        fill: float. Value of the padding pixels in [0, 1]. Defaults to `1.0` (white).

    Returns:
        A float32 RGB image `(rows * (height + padding) + padding,
        columns * (width + padding) + padding, 3)` with values in [0, 1].
    """
    check_positive_int("columns", columns)
    if isinstance(padding, bool) or not isinstance(padding, int) or padding < 0:
        raise ValueError(f"`padding` must be a non-negative integer. Received: padding={padding!r}")
    height, width, _, count = kernels.shape
    rows = -(-count // columns)
    tiles = normalize_kernels(kernels)
    mosaic = np.full(
        (rows * (height + padding) + padding, columns * (width + padding) + padding, 3), fill, np.float32
    )
    for j in range(count):
        top = padding + (j // columns) * (height + padding)
        left = padding + (j % columns) * (width + padding)
        mosaic[top : top + height, left : left + width] = tiles[..., j]
    return mosaic
