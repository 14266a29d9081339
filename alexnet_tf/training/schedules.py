"""Learning-rate schedules: the paper's reduction on plateaus, and step and cosine decay.

The paper divides the learning rate by 10 "when the validation error rate stopped
improving with the current learning rate", three times in all. That depends on
validation results, so it is a callback (`ReduceOnPlateau`) that sets the optimizer's
learning-rate variable at the end of an epoch; the learning rate itself is saved with
the optimizer and the callback keeps its own state (best error, epochs waited,
reductions made) in variables that are checkpointed with it, so a resumed run takes
the same decisions as an uninterrupted one. Keras' `ReduceLROnPlateau` keeps that state
in Python attributes, which a checkpoint does not restore.

The step and cosine schedules are functions of the optimizer's step counter
(`keras.optimizers.schedules`), which the checkpoint restores too.
"""

from __future__ import annotations

import logging

import keras
import tensorflow as tf

from alexnet_tf.training.config import TrainConfig

logger = logging.getLogger(__name__)


class PlateauState(tf.Module):
    """The checkpointed state of `ReduceOnPlateau`: best value, epochs waited, reductions."""

    def __init__(self):
        super().__init__(name="plateau_state")
        self.best = tf.Variable(float("inf"), dtype=tf.float64, trainable=False, name="best")
        self.wait = tf.Variable(0, dtype=tf.int64, trainable=False, name="wait")
        self.reductions = tf.Variable(0, dtype=tf.int64, trainable=False, name="reductions")


class ReduceOnPlateau(keras.callbacks.Callback):
    """Multiplies the learning rate by `factor` when a monitored error stops improving.

    At the end of each epoch, a value below `best - min_delta` is an improvement; after
    `patience` epochs in a row without one, the learning rate is multiplied by `factor`,
    at most `max_reductions` times in all.

    Args:
        optimizer: keras.optimizers.Optimizer. Its learning rate must be a float
            (a variable), not a schedule: Keras refuses to set a scheduled one.
        monitor: str. The epoch log to watch; lower is better. Defaults to
            `"val_top1_error"`.
        factor: float. Multiplier of each reduction. Defaults to `0.1`.
        patience: int. Epochs without improvement before a reduction. Defaults to `5`.
        min_delta: float. Smallest decrease that counts as an improvement.
            Defaults to `0.001`.
        max_reductions: int. Most reductions. Defaults to `3`.
    """

    def __init__(
        self,
        optimizer: keras.optimizers.Optimizer,
        *,
        monitor: str = "val_top1_error",
        factor: float = 0.1,
        patience: int = 5,
        min_delta: float = 0.001,
        max_reductions: int = 3,
    ):
        super().__init__()
        self.optimizer = optimizer
        self.monitor = monitor
        self.factor = factor
        self.patience = patience
        self.min_delta = min_delta
        self.max_reductions = max_reductions
        self.state = PlateauState()

    def on_epoch_end(self, epoch, logs=None):
        if not logs or self.monitor not in logs:
            raise KeyError(
                f"ReduceOnPlateau monitors {self.monitor!r}, which the epoch logs lack. "
                f"Received: logs={sorted(logs or {})}"
            )
        value = float(logs[self.monitor])
        state = self.state
        if value < float(state.best) - self.min_delta:
            state.best.assign(value)
            state.wait.assign(0)
            return
        state.wait.assign_add(1)
        if int(state.wait) >= self.patience and int(state.reductions) < self.max_reductions:
            old = current_learning_rate(self.optimizer)
            self.optimizer.learning_rate = old * self.factor
            state.reductions.assign_add(1)
            state.wait.assign(0)
            logger.info(
                "Epoch %d: %s has not improved on %.4f for %d epochs; learning rate %.3g -> %.3g "
                "(reduction %d of at most %d).",
                epoch + 1, self.monitor, float(state.best), self.patience, old,
                current_learning_rate(self.optimizer), int(state.reductions), self.max_reductions,
            )


def current_learning_rate(optimizer: keras.optimizers.Optimizer) -> float:
    """The learning rate the optimizer's next step uses (also under a strategy)."""
    return float(keras.ops.convert_to_numpy(optimizer.learning_rate))


def learning_rate_schedule(
    config: TrainConfig, steps_per_epoch: int
) -> float | keras.optimizers.schedules.LearningRateSchedule:
    """The optimizer's learning rate for `config.schedule`.

    Args:
        config: TrainConfig. Supplies the schedule, learning rate, decay factor,
            epochs, `step_epochs` and `warmup_epochs`.
        steps_per_epoch: int. Training steps per epoch.

    Returns:
        A float for `"plateau"` (adjusted by `ReduceOnPlateau`), or a Keras schedule of
        the step counter: piecewise constant for `"step"`, cosine decay with optional
        linear warm-up for `"cosine"`.
    """
    if config.schedule == "plateau":
        return config.learning_rate
    if config.schedule == "step":
        reductions = (config.epochs - 1) // config.step_epochs
        if not reductions:
            return config.learning_rate
        return keras.optimizers.schedules.PiecewiseConstantDecay(
            # The schedule sees the count of completed steps: epoch e starts at e * steps.
            boundaries=[k * config.step_epochs * steps_per_epoch - 1 for k in range(1, reductions + 1)],
            values=[config.learning_rate * config.decay_factor**k for k in range(reductions + 1)],
        )
    warmup_steps = config.warmup_epochs * steps_per_epoch
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0 if warmup_steps else config.learning_rate,
        decay_steps=(config.epochs - config.warmup_epochs) * steps_per_epoch,
        warmup_target=config.learning_rate if warmup_steps else None,
        warmup_steps=warmup_steps,
    )


def schedule_callbacks(
    config: TrainConfig, optimizer: keras.optimizers.Optimizer
) -> list[ReduceOnPlateau]:
    """The callbacks that drive `config.schedule`: `[ReduceOnPlateau]` for `"plateau"`."""
    if config.schedule != "plateau":
        return []
    return [
        ReduceOnPlateau(
            optimizer,
            factor=config.decay_factor,
            patience=config.plateau_patience,
            min_delta=config.plateau_min_delta,
            max_reductions=config.max_reductions,
        )
    ]
