"""The paper's input pipeline: data sources, preprocessing, augmentation and statistics.

Modules, one job each:

- `stats`: `DatasetStats` (per-channel mean, RGB principal components), stored as
  `dataset_stats.json`; `IMAGENET_STATS`.
- `labels`: `labels.txt`, one human-readable label per class.
- `preprocessing`: decode, shorter side to 256 with central crop, centre and ten crops,
  mean subtraction; `eval_preprocess` (also used by the serving graph).
- `augmentation`: random crops, reflections, PCA lighting.
- `integrity`: recognising truncated and non-image files without decoding.
- `layout`, `sources`: ImageNet folders, ground-truth files, TFRecord shards.
- `features`: the TFRecord feature keys and example decoder.
- `parsers`, `datasets`: the `tf.data` training and evaluation pipelines.
- `pixel_statistics`, `tfrecord_writer`, `fashion_mnist`, `benchmark`: the work behind
  the tools in `tools/`.
"""

from alexnet_tf.data.datasets import eval_dataset, train_dataset
from alexnet_tf.data.labels import LABELS_FILENAME, read_labels, write_labels
from alexnet_tf.data.preprocessing import (
    CROP_SIZE,
    IMAGE_SIZE,
    center_crop,
    decode_image,
    eval_preprocess,
    resize_shorter_and_center_crop,
    subtract_mean,
    ten_crops,
)
from alexnet_tf.data.sources import (
    DataSource,
    class_names,
    dataset_labels,
    num_classes,
    resolve_source,
)
from alexnet_tf.data.stats import (
    IMAGENET_STATS,
    STATS_FILENAME,
    DatasetStats,
    find_stats,
    load_stats,
    save_stats,
)

__all__ = [
    "CROP_SIZE",
    "IMAGENET_STATS",
    "IMAGE_SIZE",
    "LABELS_FILENAME",
    "STATS_FILENAME",
    "DataSource",
    "DatasetStats",
    "center_crop",
    "class_names",
    "dataset_labels",
    "decode_image",
    "eval_dataset",
    "eval_preprocess",
    "find_stats",
    "load_stats",
    "num_classes",
    "read_labels",
    "resize_shorter_and_center_crop",
    "resolve_source",
    "save_stats",
    "subtract_mean",
    "ten_crops",
    "train_dataset",
    "write_labels",
]
