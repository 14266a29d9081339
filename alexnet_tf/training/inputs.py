"""The data a run trains on: splits, statistics and classes of a data directory, and the
per-epoch `tf.data` pipelines of `alexnet_tf.data` for each input pipeline of a strategy.
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np
import tensorflow as tf

from alexnet_tf.data import (
    DataSource,
    DatasetStats,
    class_names,
    dataset_labels,
    eval_dataset,
    find_stats,
    resolve_source,
    train_dataset,
)
from alexnet_tf.training.config import TrainConfig


@dataclasses.dataclass(frozen=True)
class TrainingInputs:
    """The resolved data of a run.

    Args:
        train: DataSource. The training split.
        validation: DataSource or None. The validation split.
        stats: DatasetStats. Mean and principal components of the training images.
        class_names: list of str. Class folder names (synsets), in class-index order.
        labels: list of str. Human-readable labels, in class-index order.
    """

    train: DataSource
    validation: DataSource | None
    stats: DatasetStats
    class_names: list[str]
    labels: list[str]

    @property
    def num_classes(self) -> int:
        """Number of classes."""
        return len(self.class_names)


def load_inputs(config: TrainConfig) -> TrainingInputs:
    """Finds the splits, statistics and classes of `config.data_dir`.

    Raises:
        FileNotFoundError: when the data directory or a split is missing.
        ValueError: when a split holds no images or the class count disagrees with
            `config.num_classes`.
    """
    if not os.path.isdir(config.data_dir):
        raise FileNotFoundError(
            f"The data directory does not exist. Received: data_dir={config.data_dir!r}"
        )
    train = _split(config.data_dir, config.train_split)
    validation = None
    if config.validation_split is not None:
        validation = _split(
            config.data_dir, config.validation_split,
            hint=" Train without validation with --validation-split none and a step or "
            "cosine --schedule.",
        )
    names = class_names(config.data_dir)
    if config.num_classes is not None and config.num_classes != len(names):
        raise ValueError(
            f"The data directory {config.data_dir} has {len(names)} classes, but the "
            f"configuration asks for {config.num_classes}. Received: num_classes={config.num_classes}"
        )
    return TrainingInputs(
        train=train,
        validation=validation,
        stats=find_stats(config.data_dir),
        class_names=names,
        labels=dataset_labels(config.data_dir),
    )


def steps_per_epoch(config: TrainConfig, inputs: TrainingInputs) -> int:
    """Steps of one pass over the training split: its size over the global batch size.

    Raises:
        ValueError: when the size is unknown (TFRecords without an info file) or smaller
            than one batch.
    """
    examples = inputs.train.num_examples
    if examples is None:
        raise ValueError(
            f"The size of the training split of {config.data_dir} is unknown (TFRecord shards "
            "without a split info file); pass --steps-per-epoch. "
            "Received: steps_per_epoch=None"
        )
    if examples < config.batch_size:
        raise ValueError(
            f"The training split of {config.data_dir} has {examples} images, fewer than one "
            f"batch. Received: batch_size={config.batch_size}"
        )
    return examples // config.batch_size


def epoch_seed(seed: int, epoch: int) -> int:
    """The input seed of one epoch: a fixed, well-mixed function of the run's seed and the epoch."""
    return int(np.random.SeedSequence([seed, epoch]).generate_state(1)[0])


def train_dataset_fn(config: TrainConfig, inputs: TrainingInputs):
    """`(epoch, input_context) -> dataset`: the epoch's augmented training batches, repeated.

    The order and augmentation of an epoch depend only on the seed and the epoch number,
    so a resumed run can skip the batches it already trained on. The split is repeated
    so every epoch has its full number of steps even when unreadable files were dropped.
    """

    def make(epoch: int, context: tf.distribute.InputContext) -> tf.data.Dataset:
        return train_dataset(
            inputs.train,
            batch_size=config.batch_size,
            stats=inputs.stats,
            seed=epoch_seed(config.seed, epoch),
            image_size=config.image_size,
            crop_size=config.crop_size,
            random_crop=config.random_crop,
            flip=config.flip,
            pca_lighting=config.pca_lighting,
            num_classes=inputs.num_classes,
            input_context=context,
        ).repeat()

    return make


def eval_dataset_fn(
    source: DataSource,
    *,
    stats: DatasetStats,
    batch_size: int,
    crop: str,
    image_size: int,
    crop_size: int,
    num_classes: int,
):
    """`input_context -> dataset`: every example of `source` once, centre or ten crops.

    Args:
        source: DataSource. The split to evaluate.
        stats: DatasetStats. The training statistics (the model's mean).
        batch_size: int. Global batch size in images; with ten crops a step holds a
            tenth as many images.
        crop: str. `"center"` or `"ten"`.
        image_size: int. Side of the rescaled square.
        crop_size: int. Side of the crops.
        num_classes: int. The model's class count (labels are checked against it).
    """

    def make(context: tf.distribute.InputContext) -> tf.data.Dataset:
        replicas = context.num_replicas_in_sync
        images = batch_size // 10 if crop == "ten" else batch_size
        return eval_dataset(
            source,
            batch_size=max(1, images // replicas) * replicas,
            stats=stats,
            crop=crop,
            image_size=image_size,
            crop_size=crop_size,
            num_classes=num_classes,
            input_context=context,
        )

    return make


def _split(data_dir: str, split: str, hint: str = "") -> DataSource:
    try:
        source = resolve_source(data_dir, split)
    except FileNotFoundError as error:
        raise FileNotFoundError(f"{error}{hint}") from error
    if source.num_examples == 0 or not source.files:
        raise ValueError(
            f"The {split!r} split of {data_dir} holds no images. Received: data_dir={data_dir!r}"
        )
    return source
