"""Training curves: the per-epoch history a training run writes, as plottable series.

Training writes `MODEL_DIR/history/history.json` (`training.callbacks.HistoryWriter`):
a JSON list with one record per epoch, e.g.

```
[{"epoch": 0, "loss": 2.1, "top1_error": 0.71, "top5_error": 0.33,
  "val_loss": 1.9, "val_top1_error": 0.65, "val_top5_error": 0.28,
  "learning_rate": 0.01}, ...]
```

`epoch` counts from 0; `val_` values are present when the run validated, and errors are
fractions in [0, 1].
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import numpy as np

from alexnet_tf.training.callbacks import HistoryWriter
from alexnet_tf.training.outputs import ModelDir


@dataclasses.dataclass(frozen=True)
class CurvePanel:
    """One panel of the training-curves figure.

    Args:
        title: str. The panel's title.
        keys: tuple of str. The history keys drawn in the panel, e.g.
            `("loss", "val_loss")`.
        percent: bool. Whether the values are fractions shown as percentages.
        log_scale: bool. Whether the y axis is logarithmic.
    """

    title: str
    keys: tuple[str, ...]
    percent: bool = False
    log_scale: bool = False


CURVE_PANELS = (
    CurvePanel("Cross-entropy loss", ("loss", "val_loss")),
    CurvePanel("Top-1 error (%)", ("top1_error", "val_top1_error"), percent=True),
    CurvePanel("Top-5 error (%)", ("top5_error", "val_top5_error"), percent=True),
    CurvePanel("Learning rate", ("learning_rate",), log_scale=True),
)


def history_path(model_dir: str | os.PathLike) -> Path:
    """The history file of a model directory: `MODEL_DIR/history/history.json`."""
    return ModelDir(model_dir).history / HistoryWriter.JSON_NAME


def load_history(model_dir: str | os.PathLike) -> list[dict]:
    """Reads the per-epoch records a training run wrote into its model directory.

    Args:
        model_dir: str or Path. The training run's output folder.

    Returns:
        The records, one dict per epoch, in the order they were written.

    Raises:
        FileNotFoundError: when the directory has no `history/history.json`.
        ValueError: when the file is not a non-empty JSON list of records that each
            hold an integer `epoch`.
    """
    path = history_path(model_dir)
    if not path.is_file():
        raise FileNotFoundError(
            f"No training history at {path}: training writes it after the first epoch. "
            f"Received: model_dir={str(model_dir)!r}"
        )
    try:
        records = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not JSON ({error}). Received: model_dir={str(model_dir)!r}") from error
    if (
        not isinstance(records, list)
        or not records
        or not all(isinstance(record, dict) and isinstance(record.get("epoch"), int) for record in records)
    ):
        raise ValueError(
            f"{path} must be a non-empty JSON list of per-epoch records, each with an integer "
            f"'epoch', as training writes it. Received: model_dir={str(model_dir)!r}"
        )
    return records


def history_series(records: list[dict]) -> dict[str, np.ndarray]:
    """Turns per-epoch records into one float64 array per plotted key.

    Args:
        records: list of dict. Per-epoch records as `load_history` returns them.

    Returns:
        `{"epoch": 1-based epoch numbers, key: values, ...}` for every key of
        `CURVE_PANELS` that some record holds; an epoch without the key gives NaN
        (a gap in the curve).
    """
    keys = [key for panel in CURVE_PANELS for key in panel.keys if any(key in record for record in records)]
    series = {"epoch": np.array([record["epoch"] + 1 for record in records], np.float64)}
    for key in keys:
        series[key] = np.array([record.get(key, np.nan) for record in records], np.float64)
    return series


def curve_panels(series: dict[str, np.ndarray]) -> list[CurvePanel]:
    """The panels of `CURVE_PANELS` with at least one of their keys in `series`."""
    return [panel for panel in CURVE_PANELS if any(key in series for key in panel.keys)]
