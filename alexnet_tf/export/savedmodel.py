"""A SavedModel of AlexNet with serving signatures for encoded images and float tensors.

Three signatures, each returning `{"probabilities": [batch, num_classes],
"features": [batch, fc7]}` float32 (softmax probabilities and the post-ReLU fc7
activations the paper uses for image similarity):

- `predict_encoded` (also `serving_default`): `encoded`, a string vector of JPEG, PNG,
  GIF, BMP or WebP files. The paper's test-time preprocessing runs in the graph: shorter
  side to 256, central 256x256 square, the central 227x227 crop, minus the training
  mean (sizes scaled by `input_size / 227` for smaller models).
- `predict_encoded_ten_crop`: the same input; probabilities and features averaged over
  the paper's ten crops (four corners and centre, and their reflections).
- `predict_images`: `images`, float32 `[batch, size, size, 3]` already preprocessed
  (RGB pixel values in 0-255 minus the training mean).

The labels and dataset statistics travel with it in `assets.extra/` (`labels.txt`,
`dataset_stats.json`), beside the graph's own copy of the mean.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import keras
import tensorflow as tf

from alexnet_tf.data.labels import write_labels
from alexnet_tf.data.preprocessing import CROP_SIZE, IMAGE_SIZE, eval_preprocess
from alexnet_tf.data.stats import DatasetStats, save_stats
from alexnet_tf.models import feature_model, probability_model

SIGNATURE_ENCODED = "predict_encoded"
SIGNATURE_ENCODED_TEN_CROP = "predict_encoded_ten_crop"
SIGNATURE_IMAGES = "predict_images"
INPUT_ENCODED = "encoded"
INPUT_IMAGES = "images"
OUTPUT_PROBABILITIES = "probabilities"
OUTPUT_FEATURES = "features"
ASSETS_EXTRA = "assets.extra"
_TEN = 10


def preprocessing_sizes(input_size: int) -> tuple[int, int]:
    """The rescaled-square and crop sides for a model with `input_size` inputs.

    The paper's 256 -> 227 ratio, scaled to the model: `(256, 227)` for 227.

    Args:
        input_size: int. Side of the model's square input.
    """
    return round(input_size * IMAGE_SIZE / CROP_SIZE), input_size


def serving_outputs_model(model: keras.Model) -> keras.Model:
    """A model sharing `model`'s weights that returns probabilities and fc7 features.

    Args:
        model: keras.Model. A model made by `alexnet_tf.build_alexnet` (or loaded from
            its `.keras` file).

    Returns:
        A `keras.Model` mapping images to `{"probabilities": ..., "features": ...}`.
    """
    input_shape = tuple(model.input_shape)
    if len(input_shape) != 4 or input_shape[1] != input_shape[2] or input_shape[3] != 3:
        raise ValueError(
            "The model must take square RGB images (batch, size, size, 3). "
            f"Received: model.input_shape={input_shape}"
        )
    outputs = {
        OUTPUT_PROBABILITIES: probability_model(model).output,
        OUTPUT_FEATURES: feature_model(model).output,
    }
    return keras.Model(model.inputs, outputs, name=f"{model.name}_serving")


def save_serving_model(
    model: keras.Model,
    path: str | os.PathLike,
    *,
    stats: DatasetStats,
    labels: Sequence[str],
    extra_files: Sequence[str | os.PathLike] = (),
) -> Path:
    """Writes `model` as a SavedModel with the serving signatures described above.

    Args:
        model: keras.Model. A model made by `alexnet_tf.build_alexnet`; its input size
            sets the crop size and the rescaled square's side.
        path: str or Path. The SavedModel directory to create.
        stats: DatasetStats. The training set's statistics; the mean is subtracted in
            the graph.
        labels: sequence of str. One label per class, in class-index order.
        extra_files: sequence of paths. More files to copy into `assets.extra/`, e.g.
            the training run's `config.json`. Defaults to `()`.

    Returns:
        The SavedModel directory.
    """
    outputs_model = serving_outputs_model(model)
    num_classes = model.output_shape[-1]
    if len(labels) != num_classes:
        raise ValueError(
            f"`labels` must name each of the model's {num_classes} classes. "
            f"Received: len(labels)={len(labels)}"
        )
    input_size = int(model.input_shape[1])
    image_size, crop_size = preprocessing_sizes(input_size)

    def predict(images: tf.Tensor) -> dict[str, tf.Tensor]:
        outputs = outputs_model([images], training=False)
        return {name: tf.cast(value, tf.float32) for name, value in outputs.items()}

    def preprocess(encoded: tf.Tensor, crop: str, views: tuple[int, ...]) -> tf.Tensor:
        return tf.map_fn(
            lambda image: eval_preprocess(image, stats, crop, image_size, crop_size),
            encoded,
            fn_output_signature=tf.TensorSpec([*views, crop_size, crop_size, 3], tf.float32),
        )

    def predict_encoded(encoded: tf.Tensor) -> dict[str, tf.Tensor]:
        return predict(preprocess(encoded, "center", ()))

    def predict_encoded_ten_crop(encoded: tf.Tensor) -> dict[str, tf.Tensor]:
        crops = preprocess(encoded, "ten", (_TEN,))
        outputs = predict(tf.reshape(crops, [-1, crop_size, crop_size, 3]))
        batch = tf.shape(encoded)[0]
        return {
            name: tf.reduce_mean(tf.reshape(value, [batch, _TEN, value.shape[-1]]), axis=1)
            for name, value in outputs.items()
        }

    encoded_spec = [tf.TensorSpec([None], tf.string, name=INPUT_ENCODED)]
    images_spec = [tf.TensorSpec([None, input_size, input_size, 3], tf.float32, name=INPUT_IMAGES)]
    archive = keras.export.ExportArchive()
    archive.track(outputs_model)
    # The first endpoint is also exported as `serving_default`.
    archive.add_endpoint(SIGNATURE_ENCODED, predict_encoded, encoded_spec)
    archive.add_endpoint(SIGNATURE_ENCODED_TEN_CROP, predict_encoded_ten_crop, encoded_spec)
    archive.add_endpoint(SIGNATURE_IMAGES, predict, images_spec)
    path = Path(path)
    archive.write_out(str(path), verbose=False)

    assets = path / ASSETS_EXTRA
    write_labels(labels, assets / "labels.txt")
    save_stats(stats, assets)
    for extra in extra_files:
        (assets / Path(extra).name).write_bytes(Path(extra).read_bytes())
    return path
