"""Training outputs written at the end of each epoch: kept model, history, TensorBoard.

Both survive resuming: `BestModelSaver` keeps the best value in a checkpointed
variable, and `HistoryWriter` rewrites its files from the epochs a checkpoint covers,
so an epoch that is redone after an interruption appears once. Files are replaced
atomically, so `model.keras` is never half-written when serving picks it up.

Why not `keras.callbacks.ModelCheckpoint`, `CSVLogger` and `TensorBoard`:
`ModelCheckpoint` writes `model.keras` in place (a kill during the write destroys the
kept model) and forgets its best value on restart; `CSVLogger(append=True)` repeats the
rows of redone epochs; `TensorBoard` reads `model.optimizer`, which only `compile` sets,
and the training loop does not compile the model (a compiled model would also carry
the optimizer into `model.keras`).
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
from pathlib import Path

import keras
import tensorflow as tf

from alexnet_tf.files import atomic_path, write_text_atomically

logger = logging.getLogger(__name__)


class BestModelSaver(keras.callbacks.Callback):
    """Saves the model as a `.keras` file when a monitored error reaches a new low.

    With `monitor=None` the model is saved after every epoch, so the file holds the
    last model.

    Args:
        path: str or Path. The `.keras` file to write.
        monitor: str or None. The epoch log to minimize, e.g. `"val_top1_error"`.
            Defaults to `"val_top1_error"`.
        model_to_save: keras.Model or None. A model with the same architecture to
            receive the trained weights and be saved instead, e.g. one without device
            placement. Defaults to `None` (save the trained model itself).
    """

    def __init__(
        self,
        path: str | os.PathLike,
        monitor: str | None = "val_top1_error",
        model_to_save: keras.Model | None = None,
    ):
        super().__init__()
        self.path = Path(path)
        self.monitor = monitor
        self.model_to_save = model_to_save
        self.best = tf.Variable(float("inf"), dtype=tf.float64, trainable=False, name="best")

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor is not None:
            value = float(logs[self.monitor])
            if not value < float(self.best):
                return
            self.best.assign(value)
            logger.info("Epoch %d: %s %.4f is the best so far; saving %s.", epoch + 1, self.monitor, value, self.path)
        model = self.model
        if self.model_to_save is not None:
            self.model_to_save.set_weights(model.get_weights())
            model = self.model_to_save
        with atomic_path(self.path) as temporary:
            model.save(temporary)


class HistoryWriter(keras.callbacks.Callback):
    """Writes the epoch logs to a JSON list and a CSV table after every epoch.

    Args:
        directory: str or Path. Folder of `history.json` and `history.csv`.
    """

    JSON_NAME = "history.json"
    CSV_NAME = "history.csv"

    def __init__(self, directory: str | os.PathLike):
        super().__init__()
        self.directory = Path(directory)
        self.records: list[dict] = []

    def resume(self, completed_epochs: int) -> None:
        """Loads the records of the first `completed_epochs` epochs from an earlier run.

        Records of later epochs, written after the checkpoint being resumed from, are
        dropped: those epochs will run again.
        """
        path = self.directory / self.JSON_NAME
        records = json.loads(path.read_text()) if path.is_file() else []
        self.records = [record for record in records if record["epoch"] < completed_epochs]
        if len(self.records) != completed_epochs:
            logger.warning(
                "%s has %d of the %d completed epochs; the history starts incomplete.",
                path, len(self.records), completed_epochs,
            )

    def on_epoch_end(self, epoch, logs=None):
        self.records.append({"epoch": epoch, **{key: _plain(value) for key, value in (logs or {}).items()}})
        write_text_atomically(self.directory / self.JSON_NAME, json.dumps(self.records, indent=1) + "\n")
        write_text_atomically(self.directory / self.CSV_NAME, _csv(self.records))


def _plain(value):
    return value if isinstance(value, (int, str)) else float(value)


def _csv(records: list[dict]) -> str:
    columns = list(dict.fromkeys(key for record in records for key in record))
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    return text.getvalue()


class TensorBoardLogger(keras.callbacks.Callback):
    """Writes the epoch logs as TensorBoard scalars, as `keras.callbacks.TensorBoard` does.

    Training values go to `log_dir/train`, validation values (`val_` prefix, removed) to
    `log_dir/validation`, each named `epoch_<name>` with the epoch as the step.

    Args:
        log_dir: str or Path. The TensorBoard log folder.
    """

    def __init__(self, log_dir: str | os.PathLike):
        super().__init__()
        self.log_dir = Path(log_dir)
        self._writers: dict[str, tf.summary.SummaryWriter] = {}

    def _writer(self, name: str) -> tf.summary.SummaryWriter:
        if name not in self._writers:
            self._writers[name] = tf.summary.create_file_writer(str(self.log_dir / name))
        return self._writers[name]

    def on_epoch_end(self, epoch, logs=None):
        for key, value in (logs or {}).items():
            validation = key.startswith("val_")
            writer = self._writer("validation" if validation else "train")
            with writer.as_default():
                tf.summary.scalar(f"epoch_{key[4:] if validation else key}", value, step=epoch)
        for writer in self._writers.values():
            writer.flush()

    def on_train_end(self, logs=None):
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()
