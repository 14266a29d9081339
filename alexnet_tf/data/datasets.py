"""The training and evaluation `tf.data` pipelines.

Both read a split (image folders or TFRecord shards, see `alexnet_tf.data.sources`),
parse, batch and prefetch. Bad files are reported by name before the pipeline runs:
folder sources leave out files that are not complete images
(`alexnet_tf.data.integrity`), and the TFRecord builder stores only images it decoded.
An example that still fails to decode is skipped with a logged TensorFlow warning
(`ignore_errors`) instead of ending the epoch.

Example:

```python
from alexnet_tf.data import find_stats, resolve_source, train_dataset

stats = find_stats("/data/imagenet")
source = resolve_source("/data/imagenet", "train")
dataset = train_dataset(source, batch_size=128, stats=stats, seed=0)
# With a strategy: per-replica batches, input sharded by file across workers.
dataset = strategy.distribute_datasets_from_function(
    lambda context: train_dataset(source, batch_size=128, stats=stats, input_context=context)
)
```
"""

from __future__ import annotations

import tensorflow as tf

from alexnet_tf.data import augmentation, features, parsers, preprocessing
from alexnet_tf.data.augmentation import LIGHTING_STD
from alexnet_tf.data.sources import DataSource, SourceLike, as_source, check_labels
from alexnet_tf.data.stats import DatasetStats

DEFAULT_SHUFFLE_BUFFER = 10_000
_SEED_STRIDE = 7919  # separates the random streams of input pipelines sharing a seed
_PARAMS_CHUNK = 256  # images whose augmentation parameters are drawn at once


def train_dataset(
    source: SourceLike,
    *,
    batch_size: int,
    stats: DatasetStats,
    seed: int | None = None,
    image_size: int = preprocessing.IMAGE_SIZE,
    crop_size: int = preprocessing.CROP_SIZE,
    random_crop: bool = True,
    flip: bool = True,
    pca_lighting: bool = True,
    lighting_std: float = LIGHTING_STD,
    shuffle_buffer: int = DEFAULT_SHUFFLE_BUFFER,
    num_classes: int | None = None,
    input_context: tf.distribute.InputContext | None = None,
) -> tf.data.Dataset:
    """One shuffled epoch of augmented training batches, as in the paper.

    Each image is decoded, rescaled so its shorter side is `image_size` and cut to the
    central square (for TFRecords stored at that size, only the crop is decoded); then
    a random `crop_size` crop is taken, mirrored with probability 1/2, shifted by PCA
    lighting noise drawn once per image, and the training mean is subtracted. Call
    `.repeat()` for more epochs; each epoch reshuffles and draws new augmentations.

    Args:
        source: DataSource, str or list. What `sources.as_source` accepts: a
            `DataSource` (from `resolve_source`), an ImageNet-layout split folder
            (`ROOT/train`), or a glob / list of TFRecord shards.
        batch_size: int. Global batch size; with `input_context` each replica gets
            `input_context.get_per_replica_batch_size(batch_size)`. The last partial
            batch is dropped.
        stats: DatasetStats. Mean and principal components (see `find_stats`).
        seed: int or None. Seed of shuffling and augmentation; with a seed the
            pipeline is deterministic. Defaults to `None`.
        image_size: int. Side of the rescaled square. Defaults to `256`.
        crop_size: int. Side of the crops (the model's input). Defaults to `227`.
        random_crop: bool. Random crops; False takes the central crop. Defaults to `True`.
        flip: bool. Random horizontal reflections. Defaults to `True`.
        pca_lighting: bool. PCA lighting noise. Defaults to `True`.
        lighting_std: float. Standard deviation of the lighting coefficients. Defaults
            to `0.1`.
        shuffle_buffer: int. Examples held for shuffling TFRecord data (folder sources
            shuffle their whole file list instead). Defaults to `10000`.
        num_classes: int or None. When given (or known from the source), a label outside
            `[0, num_classes)` is an error raised here, before training. Defaults to
            `None`.
        input_context: tf.distribute.InputContext or None. From
            `strategy.distribute_datasets_from_function`; shards the input by file
            across input pipelines. Defaults to `None`.

    Returns:
        A dataset of `(images, labels)`: float32 `[batch, crop_size, crop_size, 3]` in
        0-255 units minus the mean, int32 `[batch]`.
    """
    preprocessing.check_sizes(image_size, crop_size)
    source = _checked_source(source, num_classes)
    batch_size = _per_replica_batch_size(batch_size, input_context)
    if input_context is not None and seed is not None:
        seed += _SEED_STRIDE * input_context.input_pipeline_id
    examples = read_examples(source, input_context, shuffle_seed=seed, shuffle_buffer=shuffle_buffer)
    params = (
        tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)
        .batch(2)
        .map(
            lambda params_seed: augmentation.draw_augmentations(
                params_seed, _PARAMS_CHUNK, stats, image_size=image_size, crop_size=crop_size,
                random_crop=random_crop, flip=flip, pca_lighting=pca_lighting,
                lighting_std=lighting_std,
            )
        )
        .unbatch()
    )

    def parse(example, image_params):
        encoded, label = example
        image = parsers.parse_train_example(
            encoded, image_params, image_size=image_size, crop_size=crop_size,
            square_jpeg=source.image_size == image_size,
        )
        return image, label, image_params["lighting"]

    dataset = (
        tf.data.Dataset.zip(examples, params)
        .map(parse, num_parallel_calls=tf.data.AUTOTUNE)
        .ignore_errors(log_warning=True)
        .batch(batch_size, drop_remainder=True)
        .map(
            lambda images, labels, lighting: (
                parsers.finish_train_batch(images, lighting, stats), labels,
            ),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
        .prefetch(tf.data.AUTOTUNE)
    )
    options = tf.data.Options()
    options.deterministic = seed is not None
    return dataset.with_options(options)


def eval_dataset(
    source: SourceLike,
    *,
    batch_size: int,
    stats: DatasetStats,
    crop: str = "center",
    image_size: int = preprocessing.IMAGE_SIZE,
    crop_size: int = preprocessing.CROP_SIZE,
    num_classes: int | None = None,
    input_context: tf.distribute.InputContext | None = None,
) -> tf.data.Dataset:
    """Every example of a split once, in a fixed order, as the paper evaluates.

    Args:
        source: DataSource, str or list. As for `train_dataset`.
        batch_size: int. Global batch size (per replica with `input_context`); the last
            batch may be smaller.
        stats: DatasetStats. Supplies the per-channel mean.
        crop: str. `"center"` for the central crop, `"ten"` for the paper's ten views
            (order in `preprocessing.ten_crops`). Defaults to `"center"`.
        image_size: int. Side of the rescaled square. Defaults to `256`.
        crop_size: int. Side of the crops. Defaults to `227`.
        num_classes: int or None. As for `train_dataset`. Defaults to `None`.
        input_context: tf.distribute.InputContext or None. As for `train_dataset`.
            Defaults to `None`.

    Returns:
        A dataset of `(images, labels)`: float32 `[batch, crop_size, crop_size, 3]`
        (`crop="center"`) or `[batch, 10, crop_size, crop_size, 3]` (`crop="ten"`),
        and int32 `[batch]`.
    """
    parse = parsers.make_eval_parser(stats, crop=crop, image_size=image_size, crop_size=crop_size)
    source = _checked_source(source, num_classes)
    batch_size = _per_replica_batch_size(batch_size, input_context)
    return (
        read_examples(source, input_context)
        .map(lambda encoded, label: (parse(encoded), label), num_parallel_calls=tf.data.AUTOTUNE)
        .ignore_errors(log_warning=True)
        .batch(batch_size)
        .prefetch(tf.data.AUTOTUNE)
    )


def _checked_source(source: SourceLike, num_classes: int | None) -> DataSource:
    source = as_source(source)
    num_classes = num_classes or source.num_classes
    if num_classes is not None:
        check_labels(source, num_classes)
    return source


def _per_replica_batch_size(
    batch_size: int, input_context: tf.distribute.InputContext | None
) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"`batch_size` must be a positive integer. Received: batch_size={batch_size!r}")
    if input_context is None:
        return batch_size
    return input_context.get_per_replica_batch_size(batch_size)


def read_examples(
    source: DataSource,
    input_context: tf.distribute.InputContext | None = None,
    *,
    shuffle_seed: int | None = None,
    shuffle_buffer: int | None = None,
) -> tf.data.Dataset:
    """The encoded examples of a source: `(encoded image bytes, int32 label)` pairs.

    Args:
        source: DataSource. The split to read.
        input_context: tf.distribute.InputContext or None. Shards the files across input
            pipelines. Defaults to `None`.
        shuffle_seed: int or None. Seed of the shuffling. Defaults to `None`.
        shuffle_buffer: int or None. None reads in a fixed order; otherwise the file list
            is shuffled and, for TFRecords, records pass through a shuffle buffer of this
            many examples. Defaults to `None`.
    """
    shuffle = shuffle_buffer is not None
    if source.kind == "folder":
        files = tf.data.Dataset.from_tensor_slices((list(source.files), list(source.labels)))
    else:
        files = tf.data.Dataset.from_tensor_slices(list(source.files))
    if input_context is not None and input_context.num_input_pipelines > 1:
        if len(source.files) < input_context.num_input_pipelines:
            raise ValueError(
                f"Cannot shard {len(source.files)} files ({source.files[0]}, ...) across "
                f"{input_context.num_input_pipelines} input pipelines; write more TFRecord "
                f"shards. Received: num_input_pipelines={input_context.num_input_pipelines}"
            )
        files = files.shard(input_context.num_input_pipelines, input_context.input_pipeline_id)
    if shuffle:
        files = files.shuffle(len(source.files), seed=shuffle_seed, reshuffle_each_iteration=True)
    if source.kind == "folder":
        examples = files.map(
            lambda path, label: (tf.io.read_file(path), tf.cast(label, tf.int32)),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
    else:
        examples = files.interleave(
            tf.data.TFRecordDataset,
            cycle_length=min(len(source.files), 16),
            num_parallel_calls=tf.data.AUTOTUNE,
            deterministic=not shuffle or shuffle_seed is not None,
        )
        if shuffle:
            examples = examples.shuffle(shuffle_buffer, seed=shuffle_seed, reshuffle_each_iteration=True)
        examples = examples.map(features.decode_image_and_label, num_parallel_calls=tf.data.AUTOTUNE)
    return examples
