"""Checkpoints of the whole training state, for resuming after any interruption.

One `tf.train.Checkpoint` holds the model's variables (weights and the dropout seed
generators' states), the optimizer's (momentum, step counter, learning rate or schedule
position, loss scale), the training progress (epoch, step within the epoch, the epoch's
running metric sums) and the state of stateful callbacks (the plateau schedule, the best
validation error). A checkpoint is complete or absent:
TensorFlow writes the data and index files first and then atomically rewrites the
`checkpoint` file that names the latest one, so a kill or power loss during a save
leaves the previous checkpoint in force.

Why not `keras.callbacks.BackupAndRestore`: in Keras 3 it restarts an interrupted epoch
from its first batch (it records the batch but only restores the epoch), saves only the
model's weights and optimizer (not callback state), overwrites its single file in place,
and has every worker of a multi-worker run write the same file.

In a multi-worker run only the chief writes; all workers restore from the shared model
directory. The variables saved here are mirrored or local, never synchronized on read,
so saving needs no collective operations from the other workers.
"""

from __future__ import annotations

import logging
import os

import tensorflow as tf

logger = logging.getLogger(__name__)


class TrainingCheckpoint:
    """Saves and restores the training state in a directory.

    Args:
        directory: str or Path. Where checkpoints go (`MODEL_DIR/checkpoints`).
        is_chief: bool. Whether this process writes checkpoints. Defaults to `True`.
        max_to_keep: int. Checkpoints kept on disk. Defaults to `2`.
        **trackables: The objects to save by name, e.g. `model=list(model.variables)`,
            `progress=` (lists of variables, `tf.Module`s, `tf.Variable`s).
    """

    def __init__(
        self,
        directory: str | os.PathLike,
        *,
        is_chief: bool = True,
        max_to_keep: int = 2,
        **trackables,
    ):
        self.directory = os.fspath(directory)
        self.is_chief = is_chief
        self.checkpoint = tf.train.Checkpoint(**trackables)
        self.manager = tf.train.CheckpointManager(
            self.checkpoint, self.directory, max_to_keep=max_to_keep
        )

    @property
    def latest(self) -> str | None:
        """The path prefix of the latest checkpoint, or None when there is none."""
        return self.manager.latest_checkpoint

    def restore(self) -> str | None:
        """Restores the latest checkpoint, if any, and returns its path prefix.

        Every saved value must find its object: a checkpoint from a different model or
        optimizer is an error, not a partial restore.
        """
        path = self.latest
        if path is None:
            return None
        self.checkpoint.restore(path).assert_existing_objects_matched()
        logger.info("Restored the training state from %s.", path)
        return path

    def save(self) -> str | None:
        """Writes a checkpoint (on the chief) and returns its path prefix (None elsewhere)."""
        if not self.is_chief:
            return None
        return self.manager.save()
