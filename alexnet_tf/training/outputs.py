"""The model directory a run writes, and the checks before writing into one.

```
MODEL_DIR/
  model.keras           best model by validation top-1 error (last model without validation)
  config.json           the resolved configuration (see `config.save_config`)
  labels.txt            human-readable labels, one per class
  classes.txt           class folder names (synsets), one per class
  dataset_stats.json    the training data's mean and principal components
  checkpoints/          the training state, for resuming
  history/              history.json, history.csv: one record per epoch
  tensorboard/          TensorBoard logs (train/, validation/)
```
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from alexnet_tf.data import save_stats, write_labels
from alexnet_tf.data.sources import CLASSES_FILENAME
from alexnet_tf.training.config import CONFIG_FILENAME, TrainConfig, load_config, save_config
from alexnet_tf.files import write_text_atomically
from alexnet_tf.training.inputs import TrainingInputs


@dataclasses.dataclass(frozen=True)
class ModelDir:
    """Paths inside a model directory.

    Args:
        root: str or Path. The model directory.
    """

    root: Path

    def __post_init__(self):
        object.__setattr__(self, "root", Path(self.root))

    @property
    def model(self) -> Path:
        """The kept model, `model.keras`."""
        return self.root / "model.keras"

    @property
    def config(self) -> Path:
        """The resolved configuration, `config.json`."""
        return self.root / CONFIG_FILENAME

    @property
    def checkpoints(self) -> Path:
        """The training-state checkpoints."""
        return self.root / "checkpoints"

    @property
    def history(self) -> Path:
        """The folder of `history.json` and `history.csv`."""
        return self.root / "history"

    @property
    def tensorboard(self) -> Path:
        """The TensorBoard log folder."""
        return self.root / "tensorboard"


def saved_config(model_dir: str | os.PathLike, *, strict: bool = True) -> TrainConfig | None:
    """The configuration of the run saved in `model_dir`, or None for a new directory.

    Args:
        model_dir: str or path. The run's output folder.
        strict: bool. Refuse a folder that holds files but no configuration. Workers
            other than the chief pass `False`: the chief may be writing a new run's
            files there at that moment (the configuration last), and the chief alone
            decides whether the folder belongs to another run. Defaults to `True`.

    Raises:
        ValueError: when `strict` and the directory holds files but no training
            configuration, so it is not a model directory of an earlier run.
    """
    paths = ModelDir(model_dir)
    if paths.config.is_file():
        return load_config(paths.config)
    # Hidden names are in-progress atomic writes (`alexnet_tf.files.atomic_path`) of a starting run.
    if strict and paths.root.is_dir() and any(not path.name.startswith(".") for path in paths.root.iterdir()):
        raise ValueError(
            f"The model directory {paths.root} is not empty but has no {CONFIG_FILENAME}, so "
            "it is not the output of an earlier run to resume; use an empty or new folder. "
            f"Received: model_dir={str(model_dir)!r}"
        )
    return None


def write_run_files(config: TrainConfig, inputs: TrainingInputs, run_facts: dict) -> ModelDir:
    """Writes the configuration, labels, class names and data statistics of a run.

    Args:
        config: TrainConfig. The resolved configuration.
        inputs: TrainingInputs. Supplies the labels, class names and statistics.
        run_facts: dict. Stored beside the configuration (versions, data sizes, devices).
    """
    paths = ModelDir(config.model_dir)
    paths.root.mkdir(parents=True, exist_ok=True)
    write_labels(inputs.labels, paths.root)
    write_text_atomically(paths.root / CLASSES_FILENAME, "".join(f"{name}\n" for name in inputs.class_names))
    save_stats(inputs.stats, paths.root)
    save_config(config, paths.root, run_facts)  # last: a config.json means the rest is there
    return paths
