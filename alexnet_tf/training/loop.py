"""The training loop: distributed steps, epochs, validation, callbacks and checkpoints.

Why not `model.fit`: in Keras 3, `fit` under `tf.distribute.MultiWorkerMirroredStrategy`
fails before the first step (it calls `strategy.reduce` on the `(images, labels)` batch
to build the model; keras-team/keras#20585), and it cannot resume inside an epoch.
This loop is the pattern TensorFlow documents for custom training under any strategy
(`strategy.run` on per-replica batches from `distribute_datasets_from_function`), and
it keeps Keras' callback protocol, so the Keras progress bar and TensorBoard callbacks
work unchanged.

Every training step updates the model, the optimizer and the `TrainingProgress` inside
one `tf.function` call, so the state is consistent at any point the Python interpreter
can be interrupted; a checkpoint records exactly where training stands, and resuming
skips the batches of the interrupted epoch that were already used (the epoch's input
order is a function of the seed and the epoch number).
"""

from __future__ import annotations

import logging
from typing import Callable, Sequence

import keras
import tensorflow as tf

from alexnet_tf.training import metrics
from alexnet_tf.training.checkpoint import TrainingCheckpoint
from alexnet_tf.training.evaluation import Evaluator
from alexnet_tf.training.interruption import StopRequested, StopSignals, TrainingInterrupted
from alexnet_tf.training.schedules import current_learning_rate

logger = logging.getLogger(__name__)

TrainDatasetFn = Callable[[int, tf.distribute.InputContext], tf.data.Dataset]
EvalDatasetFn = Callable[[tf.distribute.InputContext], tf.data.Dataset]


class TrainingProgress(tf.Module):
    """Where training stands: epochs completed, steps into the current epoch, and the
    current epoch's metric sums. All of it is checkpointed."""

    def __init__(self):
        super().__init__(name="training_progress")
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        self.sums = {
            key: tf.Variable(0.0, dtype=tf.float64, trainable=False, name=key)
            for key in metrics.SUM_KEYS
        }

    def add_step(self, sums: dict[str, tf.Tensor]) -> None:
        """Counts one step and adds its metric sums."""
        self.step.assign_add(1)
        for key, value in sums.items():
            self.sums[key].assign_add(value)

    def epoch_means(self) -> dict[str, float]:
        """Mean loss and errors of the current epoch so far."""
        return metrics.means({key: variable.numpy() for key, variable in self.sums.items()})

    def finish_epoch(self) -> None:
        """Moves on to the next epoch, clearing the step count and the sums."""
        self.epoch.assign_add(1)
        self.step.assign(0)
        for variable in self.sums.values():
            variable.assign(0.0)


class Trainer:
    """Runs distributed training steps of a model with softmax cross-entropy.

    Build `model` and `optimizer` inside `strategy.scope()`.

    Args:
        model: keras.Model. Maps images to logits (float32).
        optimizer: keras.optimizers.Optimizer. Built on the model's trainable variables.
        strategy: tf.distribute.Strategy. The strategy the model was built under.
        global_batch_size: int. Examples per step over all replicas; each replica's loss
            is its sum divided by this, so the summed gradients are those of the mean.
    """

    def __init__(
        self,
        model: keras.Model,
        optimizer: keras.optimizers.Optimizer,
        strategy: tf.distribute.Strategy,
        *,
        global_batch_size: int,
    ):
        self.model = model
        self.optimizer = optimizer
        self.strategy = strategy
        self.global_batch_size = global_batch_size
        self.progress = TrainingProgress()
        self.evaluator = Evaluator(model, strategy)
        self._train_step = tf.function(self._distributed_train_step)

    def _replica_train_step(self, images: tf.Tensor, labels: tf.Tensor) -> dict[str, tf.Tensor]:
        variables = self.model.trainable_variables
        logits = tf.cast(self.model(images, training=True), tf.float32)
        losses = tf.nn.sparse_softmax_cross_entropy_with_logits(tf.cast(labels, tf.int32), logits)
        loss = tf.reduce_sum(losses) / self.global_batch_size
        # tf.gradients, unlike GradientTape, puts every gradient op on the device of its
        # forward op, so each tower's backward pass stays on that tower's device.
        gradients = tf.gradients(self.optimizer.scale_loss(loss), variables)
        self.optimizer.apply_gradients(zip(gradients, variables))
        return metrics.classification_sums(labels, logits, losses)

    def _distributed_train_step(self, iterator) -> dict[str, tf.Tensor]:
        sums = self.strategy.run(self._replica_train_step, args=next(iterator))
        sums = {key: self.strategy.reduce("SUM", value, axis=None) for key, value in sums.items()}
        self.progress.add_step(sums)
        return sums

    def train_step(self, iterator) -> dict[str, tf.Tensor]:
        """Runs one step on the next batch of a distributed iterator; returns its sums."""
        return self._train_step(iterator)

    def fit(
        self,
        train_fn: TrainDatasetFn,
        *,
        epochs: int,
        steps_per_epoch: int,
        checkpoint: TrainingCheckpoint,
        checkpoint_steps: int = 0,
        validation_fn: EvalDatasetFn | None = None,
        validation_steps: int | None = None,
        callbacks: Sequence[keras.callbacks.Callback] = (),
        verbose: int = 1,
        stop: StopSignals | None = None,
    ) -> list[dict]:
        """Trains from where `self.progress` stands up to `epochs` epochs.

        Restore `checkpoint` before calling this to resume. After each epoch the
        validation metrics (prefix `val_`) and the learning rate join the epoch logs,
        the callbacks see them, and a checkpoint is saved.

        Args:
            train_fn: callable. `(epoch, input_context) -> dataset` of per-replica
                `(images, labels)` batches, at least `steps_per_epoch` of them, in an
                order fixed by `epoch` (so that resuming can skip the used batches).
            epochs: int. Total number of epochs.
            steps_per_epoch: int. Steps in every epoch.
            checkpoint: TrainingCheckpoint. Holds this trainer's model, optimizer and
                progress, and the callbacks' state.
            checkpoint_steps: int. Also save every this many steps (0: epochs only).
                Defaults to `0`.
            validation_fn: callable or None. `input_context -> dataset` of validation
                batches. Defaults to `None`.
            validation_steps: int or None. Validation batches per epoch (None: all).
                Defaults to `None`.
            callbacks: sequence of keras.callbacks.Callback. Called with Keras' training
                protocol; a progress bar is added when `verbose` is 1. Defaults to `()`.
            verbose: int. 1 shows a progress bar, 0 is silent. Defaults to `1`.
            stop: StopSignals or None. Checked after every step and before every
                validation batch; after a stop signal the state is saved and
                `TrainingInterrupted` raised. Defaults to `None` (signals keep their
                handlers).

        Returns:
            The logs of the epochs run by this call.

        Raises:
            TrainingInterrupted: a stop signal arrived; the state is checkpointed.
        """
        callback_list = keras.callbacks.CallbackList(
            list(callbacks), add_progbar=verbose == 1, model=self.model,
            verbose=verbose, epochs=epochs, steps=steps_per_epoch,
        )
        check_stop = stop.check if stop is not None else None
        history = []
        callback_list.on_train_begin()
        try:
            for epoch in range(int(self.progress.epoch.numpy()), epochs):
                callback_list.on_epoch_begin(epoch)
                self._run_epoch_steps(
                    train_fn, epoch, steps_per_epoch, checkpoint, checkpoint_steps,
                    callback_list, check_stop,
                )
                logs = self.progress.epoch_means()
                if validation_fn is not None:
                    logs.update(self.evaluator.evaluate(
                        validation_fn, steps=validation_steps, prefix="val_", before_batch=check_stop,
                    ))
                logs["learning_rate"] = current_learning_rate(self.optimizer)
                callback_list.on_epoch_end(epoch, logs)
                history.append(logs)
                self.progress.finish_epoch()
                self._save(checkpoint)
        except StopRequested as request:
            signal_name = request.signal_name
        else:
            callback_list.on_train_end(history[-1] if history else None)
            return history
        # Outside the handler, so that the interrupted frames (and their input iterators)
        # are released before saving. Every step updated the whole state in one call, so it
        # is consistent here. A worker of a multi-worker run cannot save alone: the others
        # may be mid-step.
        path = None
        if not isinstance(self.strategy, tf.distribute.MultiWorkerMirroredStrategy):
            path = self._save(checkpoint)
        raise TrainingInterrupted(signal_name, path)

    def _run_epoch_steps(
        self,
        train_fn: TrainDatasetFn,
        epoch: int,
        steps_per_epoch: int,
        checkpoint: TrainingCheckpoint,
        checkpoint_steps: int,
        callback_list: keras.callbacks.CallbackList,
        check_stop: Callable[[], None] | None,
    ) -> None:
        first_step = int(self.progress.step.numpy())
        if first_step:
            logger.info("Resuming epoch %d at step %d of %d.", epoch + 1, first_step, steps_per_epoch)
        dataset = self.strategy.distribute_datasets_from_function(
            lambda context: train_fn(epoch, context).skip(first_step)
        )
        iterator = iter(dataset)
        for step in range(first_step, steps_per_epoch):
            callback_list.on_train_batch_begin(step)
            self.train_step(iterator)
            callback_list.on_train_batch_end(step, self.progress.epoch_means())
            global_step = epoch * steps_per_epoch + step + 1
            # The epoch's last step is saved by the end of the epoch.
            if checkpoint_steps and global_step % checkpoint_steps == 0 and step + 1 < steps_per_epoch:
                self._save(checkpoint)
            if check_stop is not None:
                check_stop()

    def _save(self, checkpoint: TrainingCheckpoint) -> str | None:
        path = checkpoint.save()
        if path:
            logger.info(
                "Saved checkpoint %s (epochs completed: %d, step: %d).",
                path, int(self.progress.epoch.numpy()), int(self.progress.step.numpy()),
            )
        return path
