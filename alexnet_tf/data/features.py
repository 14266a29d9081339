"""The TFRecord format: feature keys, writing an example, and the example decoder.

Shards hold `tf.train.Example` protos with the standard keys of the TensorFlow
ImageNet tooling: `image/encoded` and `image/class/label` (required), and
`image/class/synset`, `image/height`, `image/width`, `image/filename`, `image/format`
(optional). Labels are 0-based class indices.
"""

from __future__ import annotations

import tensorflow as tf

ENCODED_KEY = "image/encoded"
LABEL_KEY = "image/class/label"
SYNSET_KEY = "image/class/synset"
HEIGHT_KEY = "image/height"
WIDTH_KEY = "image/width"
FILENAME_KEY = "image/filename"
FORMAT_KEY = "image/format"

_FEATURES = {
    ENCODED_KEY: tf.io.FixedLenFeature([], tf.string),
    LABEL_KEY: tf.io.FixedLenFeature([], tf.int64),
    SYNSET_KEY: tf.io.FixedLenFeature([], tf.string, default_value=""),
    HEIGHT_KEY: tf.io.FixedLenFeature([], tf.int64, default_value=-1),
    WIDTH_KEY: tf.io.FixedLenFeature([], tf.int64, default_value=-1),
    FILENAME_KEY: tf.io.FixedLenFeature([], tf.string, default_value=""),
    FORMAT_KEY: tf.io.FixedLenFeature([], tf.string, default_value=""),
}


def _bytes(value: bytes) -> tf.train.Feature:
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))


def _int64(value: int) -> tf.train.Feature:
    return tf.train.Feature(int64_list=tf.train.Int64List(value=[value]))


def make_example(
    encoded: bytes,
    label: int,
    *,
    synset: str,
    height: int,
    width: int,
    filename: str,
    image_format: str,
) -> tf.train.Example:
    """Builds the `tf.train.Example` of one image.

    Args:
        encoded: bytes. The encoded image.
        label: int. The 0-based class index.
        synset: str. The class folder name (an ImageNet synset id such as `n01440764`).
        height: int. Image height in pixels.
        width: int. Image width in pixels.
        filename: str. The source file's name, for reports.
        image_format: str. `"JPEG"`, `"PNG"`, ... as sniffed from the bytes.
    """
    return tf.train.Example(
        features=tf.train.Features(
            feature={
                ENCODED_KEY: _bytes(encoded),
                LABEL_KEY: _int64(label),
                SYNSET_KEY: _bytes(synset.encode()),
                HEIGHT_KEY: _int64(height),
                WIDTH_KEY: _int64(width),
                FILENAME_KEY: _bytes(filename.encode()),
                FORMAT_KEY: _bytes(image_format.encode()),
            }
        )
    )


def decode_example(serialized: tf.Tensor) -> dict[str, tf.Tensor]:
    """Parses one serialized example into a dict of tensors keyed by the feature keys.

    Missing optional features get defaults: `""` for strings, `-1` for sizes.

    Args:
        serialized: scalar string tensor. A serialized `tf.train.Example`.
    """
    return tf.io.parse_single_example(serialized, _FEATURES)


def decode_image_and_label(serialized: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """Parses only `image/encoded` and `image/class/label` (as int32) from an example."""
    features = tf.io.parse_single_example(
        serialized, {key: _FEATURES[key] for key in (ENCODED_KEY, LABEL_KEY)}
    )
    return features[ENCODED_KEY], tf.cast(features[LABEL_KEY], tf.int32)


def decode_label(serialized: tf.Tensor) -> tf.Tensor:
    """Parses only `image/class/label` (as int64) from a 1-D batch of serialized examples."""
    return tf.io.parse_example(serialized, {LABEL_KEY: _FEATURES[LABEL_KEY]})[LABEL_KEY]
