"""Figures people would rather look at than read: training curves and the paper's Figures 3 and 4.

Needs matplotlib (the `figures` extra: `pip install -e .[figures]`). Modules, one job each:

- `curves`: a run's `history/history.json` as per-epoch series and panels.
- `kernels`: conv1 kernels per tower, normalized and laid out as mosaics (Figure 3).
- `neighbours`: k nearest neighbours by Euclidean distance over a streamed gallery.
- `retrieval`: fc7 features of query and gallery splits, and their neighbours (Figure 4).
- `plotting`: drawing each figure as a PNG with matplotlib's Agg backend.
- `model_dir`: `write_figures`, every figure of a model directory (`tools/figures.py`).
- `checks`: argument checks shared by the modules.

Example:

```python
from alexnet_tf.figures import write_figures

write_figures("runs/alexnet", "docs/figures", data_dir="data/fashion_mnist", max_gallery=5000)
```
"""

from alexnet_tf.figures.curves import CURVE_PANELS, curve_panels, history_series, load_history
from alexnet_tf.figures.kernels import conv1_kernels, kernel_mosaic, normalize_kernels
from alexnet_tf.figures.model_dir import FIGURE_FILES, load_trained_model, write_figures
from alexnet_tf.figures.neighbours import NeighbourSearch, euclidean_distances, spread_positions
from alexnet_tf.figures.plotting import plot_conv1_kernels, plot_neighbour_grid, plot_training_curves
from alexnet_tf.figures.retrieval import NeighbourGrid, find_neighbours

__all__ = [
    "CURVE_PANELS",
    "FIGURE_FILES",
    "NeighbourGrid",
    "NeighbourSearch",
    "conv1_kernels",
    "curve_panels",
    "euclidean_distances",
    "find_neighbours",
    "history_series",
    "kernel_mosaic",
    "load_history",
    "load_trained_model",
    "normalize_kernels",
    "plot_conv1_kernels",
    "plot_neighbour_grid",
    "plot_training_curves",
    "spread_positions",
    "write_figures",
]
