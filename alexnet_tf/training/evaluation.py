"""Evaluation: loss and top-1/top-5 error with a centre crop or the paper's ten crops.

With ten crops (the four corners and the centre, and their reflections) the softmax
outputs of the crops are averaged, as in the paper, and the loss and errors are those
of the averaged probabilities. A centre crop is the same with one crop.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Sequence

import keras
import tensorflow as tf
from tqdm.auto import tqdm

from alexnet_tf.data import DataSource, load_stats, read_labels
from alexnet_tf.data.sources import CLASSES_FILENAME, read_names
from alexnet_tf.training import metrics
from alexnet_tf.training.config import load_config
from alexnet_tf.training.inputs import eval_dataset_fn
from alexnet_tf.training.outputs import ModelDir

# Keeps log(p) finite when an averaged probability underflows to zero.
_MIN_PROBABILITY = 1e-12


class Evaluator:
    """Runs a model over distributed evaluation batches and returns exact metric means.

    Args:
        model: keras.Model. Maps images to logits.
        strategy: tf.distribute.Strategy. The strategy the model was built under.
    """

    def __init__(self, model: keras.Model, strategy: tf.distribute.Strategy):
        self.model = model
        self.strategy = strategy
        # One step function per image rank (centre crops: 4, ten crops: 5), each traced
        # for any batch size, as final partial batches are smaller.
        self._steps: dict[int, Callable] = {}

    def _step_function(self, batch) -> Callable:
        rank = self.strategy.experimental_local_results(batch[0])[0].shape.rank
        if rank not in self._steps:
            self._steps[rank] = tf.function(self._distributed_step, reduce_retracing=True)
        return self._steps[rank]

    def _replica_step(self, images: tf.Tensor, labels: tf.Tensor) -> dict[str, tf.Tensor]:
        # A replica whose data ran out gets an empty batch. It adds nothing, and must not
        # run the model: TensorFlow 2.21's oneDNN CPU convolution returns a wrongly
        # shaped result for an empty batch, failing the next layer.
        return tf.cond(
            tf.size(labels) > 0,
            lambda: self._batch_sums(images, labels),
            lambda: {key: tf.constant(0.0, tf.float64) for key in metrics.SUM_KEYS},
        )

    def _batch_sums(self, images: tf.Tensor, labels: tf.Tensor) -> dict[str, tf.Tensor]:
        probabilities = crop_averaged_probabilities(self.model, images)
        labels = tf.cast(labels, tf.int32)
        picked = tf.gather(probabilities, labels, axis=1, batch_dims=1)
        losses = -tf.math.log(tf.maximum(picked, _MIN_PROBABILITY))
        return metrics.classification_sums(labels, probabilities, losses)

    def _distributed_step(self, batch) -> dict[str, tf.Tensor]:
        sums = self.strategy.run(self._replica_step, args=batch)
        return {key: self.strategy.reduce("SUM", value, axis=None) for key, value in sums.items()}

    def evaluate(
        self,
        dataset_fn: Callable[[tf.distribute.InputContext], tf.data.Dataset],
        *,
        steps: int | None = None,
        prefix: str = "",
        progress: str | None = None,
        total_steps: int | None = None,
        before_batch: Callable[[], None] | None = None,
    ) -> dict[str, float]:
        """Evaluates over the batches of `dataset_fn`, distributed by the strategy.

        Args:
            dataset_fn: callable. Takes a `tf.distribute.InputContext`, returns that input
                pipeline's dataset of `(images, labels)` with per-replica batches; images
                are `[batch, H, W, 3]` or `[batch, crops, H, W, 3]`.
            steps: int or None. Evaluate only this many batches. Defaults to `None` (all).
            prefix: str. Prefix of the returned keys, e.g. `"val_"`. Defaults to `""`.
            progress: str or None. Show a tqdm progress bar of the batches with this
                description; None shows nothing. Defaults to `None`.
            total_steps: int or None. The number of batches, for the progress bar's
                length. Defaults to `None` (unknown).
            before_batch: callable or None. Called before each batch; an exception it
                raises ends the evaluation (a training loop's stop check). Defaults to
                `None`.

        Returns:
            `{prefix + "loss", prefix + "top1_error", prefix + "top5_error"}` means and
            `prefix + "examples"`, the number of examples evaluated.
        """
        dataset = self.strategy.distribute_datasets_from_function(dataset_fn)
        totals = dict.fromkeys(metrics.SUM_KEYS, 0.0)
        with tqdm(total=total_steps, desc=progress, unit="batch", disable=progress is None) as bar:
            for step, batch in enumerate(dataset):
                if steps is not None and step >= steps:
                    break
                if before_batch is not None:
                    before_batch()
                for key, value in self._step_function(batch)(batch).items():
                    totals[key] += float(value)
                bar.update(1)
        return {**metrics.means(totals, prefix), prefix + "examples": int(totals["examples"])}


def crop_averaged_probabilities(model: keras.Model, images: tf.Tensor) -> tf.Tensor:
    """Class probabilities of `model`, averaged over crops when `images` has a crop axis.

    Args:
        model: keras.Model. Maps `[batch, H, W, 3]` images to logits.
        images: float tensor `[batch, H, W, 3]` or `[batch, crops, H, W, 3]`.

    Returns:
        float32 `[batch, classes]`: the softmax, or the mean of the crops' softmaxes.
    """
    if images.shape.rank == 4:
        return tf.nn.softmax(tf.cast(model(images, training=False), tf.float32))
    flat = tf.reshape(images, [-1, *images.shape[2:]])
    probabilities = tf.nn.softmax(tf.cast(model(flat, training=False), tf.float32))
    per_image = tf.reshape(probabilities, [-1, tf.shape(images)[1], probabilities.shape[-1]])
    return tf.reduce_mean(per_image, axis=1)


def model_dir_classes(model_dir: str | os.PathLike) -> list[str]:
    """The class folder names a trained model's outputs stand for (`MODEL_DIR/classes.txt`)."""
    return read_names(Path(model_dir) / CLASSES_FILENAME)


def evaluate_model_dir(
    model_dir: str | os.PathLike,
    source: DataSource,
    *,
    crops: Sequence[str] = ("center", "ten"),
    batch_size: int = 128,
    strategy: tf.distribute.Strategy | None = None,
    steps: int | None = None,
    progress: bool = False,
) -> dict[str, dict[str, float]]:
    """Evaluates the model a training run kept, with the run's preprocessing.

    Uses `MODEL_DIR/model.keras`, the training statistics `dataset_stats.json` and the
    image size of `config.json`; the crop size is the model's input size.

    Args:
        model_dir: str or Path. A training run's output folder.
        source: DataSource. The images and labels to evaluate, labelled with the
            model's class indices (see `model_dir_classes`).
        crops: sequence of str. `"center"` and/or `"ten"`. Defaults to both.
        batch_size: int. Images per step (ten crops: a tenth of this). Defaults to `128`.
        strategy: tf.distribute.Strategy or None. Where to run; None for the default
            strategy. Defaults to `None`.
        steps: int or None. Evaluate only this many batches. Defaults to `None` (all).
        progress: bool. Show a tqdm progress bar per crop. Defaults to `False`.

    Returns:
        `{crop: {"loss", "top1_error", "top5_error", "examples"}}`.
    """
    paths = ModelDir(model_dir)
    if not paths.model.is_file():
        raise FileNotFoundError(
            f"No trained model at {paths.model}. Received: model_dir={str(model_dir)!r}"
        )
    strategy = strategy or tf.distribute.get_strategy()
    with strategy.scope():
        model = keras.saving.load_model(paths.model, compile=False)
    num_classes = model.output_shape[-1]
    if len(read_labels(paths.root)) != num_classes:
        raise ValueError(
            f"{paths.root} has {len(read_labels(paths.root))} labels but the model has "
            f"{num_classes} outputs. Received: model_dir={str(model_dir)!r}"
        )
    config = load_config(paths.config)
    evaluator = Evaluator(model, strategy)
    return {
        crop: evaluator.evaluate(
            eval_dataset_fn(
                source,
                stats=load_stats(paths.root),
                batch_size=batch_size,
                crop=crop,
                image_size=config.image_size,
                crop_size=model.input_shape[1],
                num_classes=num_classes,
            ),
            steps=steps,
            progress=f"{crop} crop{'s' if crop == 'ten' else ''}" if progress else None,
            total_steps=_eval_steps(source.num_examples, batch_size, crop, steps),
        )
        for crop in crops
    }


def _eval_steps(num_examples: int | None, batch_size: int, crop: str, steps: int | None) -> int | None:
    """Batches of an evaluation: ten crops take a tenth of `batch_size` images per step."""
    if num_examples is None:
        return steps
    per_step = max(1, batch_size // 10) if crop == "ten" else batch_size
    batches = -(-num_examples // per_step)
    return batches if steps is None else min(steps, batches)
