"""A training run from a configuration: checks, set-up, resuming, and the loop.

`prepare_training` does everything that can fail early (devices, strategy, batch size,
data, model directory) before any long work, builds the model and optimizer under the
strategy, and restores the latest checkpoint when the model directory holds one.
`TrainingRun.fit` then trains to the configured number of epochs.

Example:

```python
from alexnet_tf.training import TrainConfig, train

run = train(TrainConfig(data_dir="/data/imagenet", model_dir="runs/alexnet"))
print(run.history[-1]["val_top1_error"])
```
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import platform
import random

import keras
import tensorflow as tf

import alexnet_tf
from alexnet_tf.data import load_stats
from alexnet_tf.models import build_alexnet
from alexnet_tf.training import inputs as inputs_lib
from alexnet_tf.training.callbacks import BestModelSaver, HistoryWriter, TensorBoardLogger
from alexnet_tf.training.checkpoint import TrainingCheckpoint
from alexnet_tf.training.config import TrainConfig, check_resumable
from alexnet_tf.training.interruption import StopSignals
from alexnet_tf.training.loop import Trainer
from alexnet_tf.training.optimizer import build_optimizer
from alexnet_tf.training.outputs import ModelDir, saved_config, write_run_files
from alexnet_tf.training.schedules import schedule_callbacks
from alexnet_tf.training.strategy import (
    Distribution,
    check_batch_size,
    configure_virtual_devices,
    make_distribution,
)

logger = logging.getLogger(__name__)


@dataclasses.dataclass
class TrainingRun:
    """A prepared run: call `fit` to train.

    Args:
        config: TrainConfig. The resolved configuration.
        distribution: Distribution. The strategy and tower placement.
        inputs: TrainingInputs. The data.
        trainer: Trainer. Model, optimizer and training progress.
        checkpoint: TrainingCheckpoint. The saved training state.
        callbacks: list of keras.callbacks.Callback. Schedule and output callbacks.
        history: list of dict. Epoch logs of this process's `fit` calls.
    """

    config: TrainConfig
    distribution: Distribution
    inputs: inputs_lib.TrainingInputs
    trainer: Trainer
    checkpoint: TrainingCheckpoint
    callbacks: list[keras.callbacks.Callback]
    history: list[dict] = dataclasses.field(default_factory=list)

    @property
    def model(self) -> keras.Model:
        """The trained model (its variables live under the run's strategy)."""
        return self.trainer.model

    def fit(self, verbose: int = 1, *, stop_on_signals: bool = True) -> list[dict]:
        """Trains up to `config.epochs` epochs and returns the logs of the epochs run.

        Args:
            verbose: int. 1 shows a progress bar (on the chief), 0 is silent.
                Defaults to `1`.
            stop_on_signals: bool. While training (from the main thread), the first
                SIGINT or SIGTERM stops the run after the current step with a checkpoint
                and raises `TrainingInterrupted`; a second one raises `KeyboardInterrupt`
                at once. Defaults to `True`.

        Raises:
            TrainingInterrupted: training stopped on a signal; re-running resumes it.
        """
        config = self.config
        validation_fn = None
        if self.inputs.validation is not None:
            validation_fn = inputs_lib.eval_dataset_fn(
                self.inputs.validation,
                stats=self.inputs.stats,
                batch_size=config.batch_size,
                crop=config.validation_crop,
                image_size=config.image_size,
                crop_size=config.crop_size,
                num_classes=self.inputs.num_classes,
            )
        done = int(self.trainer.progress.epoch.numpy())
        if done >= config.epochs:
            logger.info("All %d epochs are done; nothing to train.", config.epochs)
        with StopSignals() if stop_on_signals else contextlib.nullcontext() as stop:
            history = self.trainer.fit(
                inputs_lib.train_dataset_fn(config, self.inputs),
                epochs=config.epochs,
                steps_per_epoch=config.steps_per_epoch,
                checkpoint=self.checkpoint,
                checkpoint_steps=config.checkpoint_steps,
                validation_fn=validation_fn,
                validation_steps=config.validation_steps,
                callbacks=self.callbacks,
                verbose=verbose if self.distribution.is_chief else 0,
                stop=stop,
            )
        self.history += history
        return history


def prepare_training(config: TrainConfig) -> TrainingRun:
    """Checks a configuration against the machine and the data, and sets up the run.

    Splits the CPU into logical devices and creates the strategy first (both must
    precede other TensorFlow work), then checks the batch size, the data and the model
    directory, writes the run's files (on the chief), builds the model and optimizer
    and restores the latest checkpoint.

    Args:
        config: TrainConfig. The configuration; unresolved fields (seed, classes, steps
            per epoch) are filled in from the data or the saved run.

    Raises:
        ValueError, FileNotFoundError: for a configuration that cannot run here (too
            few devices, a batch that does not split over the replicas, missing or
            empty data, a model directory of a different run).
    """
    configure_virtual_devices(config.virtual_devices)
    distribution = make_distribution(config.strategy)
    check_batch_size(config.batch_size, distribution)
    inputs = inputs_lib.load_inputs(config)
    saved = saved_config(config.model_dir, strict=distribution.is_chief)
    config = _resolve(config, inputs, saved)
    if saved is not None:
        check_resumable(saved, config)
        # Go on with the statistics the run started with, even if the data's changed.
        inputs = dataclasses.replace(inputs, stats=load_stats(config.model_dir))
    paths = ModelDir(config.model_dir)
    if distribution.is_chief:
        write_run_files(config, inputs, _run_facts(inputs, distribution))
    logger.info(
        "Training %s: %d classes, %d steps of %d images per epoch, %s.",
        config.model_dir, inputs.num_classes, config.steps_per_epoch, config.batch_size,
        distribution.describe(),
    )

    keras.utils.set_random_seed(config.seed)
    with distribution.strategy.scope():
        model = _build_model(config, inputs.num_classes, distribution.tower_devices)
        optimizer = build_optimizer(config, config.steps_per_epoch)
        optimizer.build(model.trainable_variables)
    trainer = Trainer(model, optimizer, distribution.strategy, global_batch_size=config.batch_size)

    callbacks: list[keras.callbacks.Callback] = schedule_callbacks(config, optimizer)
    states = {f"schedule_{i}": callback.state for i, callback in enumerate(callbacks)}
    history_writer = None
    if distribution.is_chief:  # the outputs
        saver = BestModelSaver(
            paths.model,
            monitor="val_top1_error" if inputs.validation is not None else None,
            # The kept model carries no device placement, so it loads anywhere.
            model_to_save=_build_model(config, inputs.num_classes) if distribution.tower_devices else None,
        )
        history_writer = HistoryWriter(paths.history)
        callbacks += [saver, history_writer, TensorBoardLogger(paths.tensorboard)]
        states["best_model"] = saver.best
    checkpoint = TrainingCheckpoint(
        paths.checkpoints,
        is_chief=distribution.is_chief,
        max_to_keep=config.keep_checkpoints,
        # Variable lists, not the objects: tf.train.Checkpoint cannot see into Keras 3
        # layers that hold sublayers in Python lists (the tower stages) nor the dropout
        # seed generators, so `model=model` would save fc8 alone.
        model=list(model.variables),
        optimizer=list(optimizer.variables),
        progress=trainer.progress,
        **states,
    )
    checkpoint.restore()
    completed = int(trainer.progress.epoch.numpy())
    if completed:
        logger.info("%d of %d epochs were completed before.", completed, config.epochs)
    if history_writer is not None:
        history_writer.resume(completed)
    return TrainingRun(config, distribution, inputs, trainer, checkpoint, callbacks)


def train(config: TrainConfig, verbose: int = 1) -> TrainingRun:
    """Prepares a run (see `prepare_training`), trains it to the end, and returns it.

    Re-running with the same configuration and model directory resumes from the latest
    checkpoint.

    Args:
        config: TrainConfig. The configuration.
        verbose: int. 1 shows a progress bar, 0 is silent. Defaults to `1`.
    """
    run = prepare_training(config)
    run.fit(verbose)
    return run


def _resolve(
    config: TrainConfig, inputs: inputs_lib.TrainingInputs, saved: TrainConfig | None
) -> TrainConfig:
    """Fills in the seed (the saved run's, or a new one), class count and steps per epoch."""
    seed = config.seed
    if seed is None:
        seed = saved.seed if saved is not None else random.SystemRandom().randrange(2**31)
    config = config.replace(seed=seed, num_classes=inputs.num_classes)
    if config.steps_per_epoch is None:
        config = config.replace(steps_per_epoch=inputs_lib.steps_per_epoch(config, inputs))
    return config


def _build_model(
    config: TrainConfig, num_classes: int, tower_devices: tuple[str, ...] | None = None
) -> keras.Model:
    return build_alexnet(
        num_classes,
        towers=config.towers,
        width_multiplier=config.width_multiplier,
        input_size=config.crop_size,
        lrn=None if config.lrn == "none" else config.lrn,
        dropout=config.dropout,
        tower_devices=tower_devices,
        dtype=config.model_policy,
    )


def _run_facts(inputs: inputs_lib.TrainingInputs, distribution: Distribution) -> dict:
    return {
        "alexnet_tf": alexnet_tf.__version__,
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "python": platform.python_version(),
        "train_examples": inputs.train.num_examples,
        "validation_examples": inputs.validation.num_examples if inputs.validation else None,
        "replicas": distribution.num_replicas,
        "distribution": distribution.describe(),
    }
