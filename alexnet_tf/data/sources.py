"""Resolving where a split's examples come from: image folders or TFRecord shards.

A data directory `ROOT` holds splits (`train`, `val`, ...) in one of two forms:

- ImageNet layout: `ROOT/<split>/<class>/<image>`, or a flat `ROOT/<split>/` plus
  `ROOT/<split>_ground_truth.txt` (see `alexnet_tf.data.layout`);
- TFRecord shards `ROOT/<split>-00000-of-00016.tfrecord`, ... as written by
  `tools/build_tfrecords.py`, with `ROOT/<split>-info.json` (example count, label range,
  skipped files) beside them.

Either way `ROOT/classes.txt` may list the class folder names in index order (the
TFRecord builder writes it; for the ImageNet layout the sorted folders of `ROOT/train`
define the classes), `ROOT/labels.txt` the human-readable labels, and
`ROOT/dataset_stats.json` the pixel statistics.
"""

from __future__ import annotations

import dataclasses
import glob
import json
import logging
import os
import re
from pathlib import Path
from typing import Sequence, Union

import tensorflow as tf

from alexnet_tf.data import features, integrity, layout
from alexnet_tf.data.labels import LABELS_FILENAME, read_labels

logger = logging.getLogger(__name__)

CLASSES_FILENAME = "classes.txt"
TRAIN_SPLIT = "train"
SHARD_SUFFIX = ".tfrecord"
_SHARD_NAME = re.compile(r"^(?P<split>.+)-\d{5}-of-\d{5}" + re.escape(SHARD_SUFFIX) + "$")
_REPORTED_FILES = 20


@dataclasses.dataclass(frozen=True)
class DataSource:
    """The examples of one split.

    Args:
        kind: str. `"folder"` (image files) or `"tfrecord"` (TFRecord shards).
        files: tuple of str. The image files, or the shard paths.
        labels: tuple of int. The class index of each image file; empty for TFRecords.
        class_names: tuple of str. The data set's class folder names (synsets) in index
            order; empty when unknown (TFRecords without `classes.txt`).
        num_examples: int or None. Number of examples, when known (always for folders;
            for TFRecords from the split's info file).
        max_label: int or None. The largest label, when known without reading shards.
        image_size: int or None. When every image is stored as a JPEG of exactly
            `image_size` x `image_size` (TFRecords written pre-resized), that size.
        skipped: tuple of (str, str). Files left out because they are not complete
            images, with the reason.
    """

    kind: str
    files: tuple[str, ...]
    labels: tuple[int, ...] = ()
    class_names: tuple[str, ...] = ()
    num_examples: int | None = None
    max_label: int | None = None
    image_size: int | None = None
    skipped: tuple[tuple[str, str], ...] = ()

    @property
    def num_classes(self) -> int | None:
        """Number of classes of the data set, or None when unknown."""
        return len(self.class_names) or None


SourceLike = Union[DataSource, str, os.PathLike, Sequence[Union[str, os.PathLike]]]


def shard_path(directory: str | Path, split: str, index: int, num_shards: int) -> Path:
    """The path of shard `index` of `num_shards` of a split: `DIR/<split>-00003-of-00016.tfrecord`."""
    return Path(directory) / f"{split}-{index:05d}-of-{num_shards:05d}{SHARD_SUFFIX}"


def split_info_path(directory: str | Path, split: str) -> Path:
    """The path of a TFRecord split's info file: `DIR/<split>-info.json`."""
    return Path(directory) / f"{split}-info.json"


def read_names(path: str | Path) -> list[str]:
    """Reads a file of one name per line (`classes.txt`), ignoring blank lines."""
    return [line.strip() for line in Path(path).read_text().splitlines() if line.strip()]


def class_names(data_dir: str | Path) -> list[str]:
    """The class folder names of a data directory, in class-index order.

    Read from `DATA_DIR/classes.txt` when present, else the sorted class folders of
    `DATA_DIR/train`.

    Args:
        data_dir: str or Path. The data set's root folder.

    Raises:
        FileNotFoundError: when neither exists.
    """
    data_dir = Path(data_dir)
    if (data_dir / CLASSES_FILENAME).is_file():
        return read_names(data_dir / CLASSES_FILENAME)
    train_dir = data_dir / TRAIN_SPLIT
    if train_dir.is_dir() and layout.list_class_folders(train_dir):
        return layout.list_class_folders(train_dir)
    raise FileNotFoundError(
        f"Cannot tell the classes of {data_dir}: it has neither {CLASSES_FILENAME} nor "
        f"class folders in {train_dir}. Received: data_dir={str(data_dir)!r}"
    )


def num_classes(data_dir: str | Path) -> int:
    """Number of classes of a data directory (see `class_names`)."""
    return len(class_names(data_dir))


def dataset_labels(data_dir: str | Path) -> list[str]:
    """Human-readable labels of a data directory, in class-index order.

    `DATA_DIR/labels.txt` when present (it must have one line per class), else the
    class folder names.
    """
    names = class_names(data_dir)
    path = Path(data_dir) / LABELS_FILENAME
    if not path.is_file():
        return names
    labels = read_labels(path)
    if len(labels) != len(names):
        raise ValueError(
            f"{path} has {len(labels)} labels but the data set has {len(names)} classes. "
            f"Received: data_dir={str(data_dir)!r}"
        )
    return labels


def resolve_source(
    data_dir: str | Path,
    split: str,
    *,
    ground_truth: str | Path | None = None,
    check_files: bool = True,
) -> DataSource:
    """Finds a split of a data directory, as image folders or TFRecord shards.

    Args:
        data_dir: str or Path. The data set's root folder.
        split: str. The split's name, e.g. `"train"` or `"val"`.
        ground_truth: str, Path or None. Ground-truth file of a flat image split; None
            looks for `DATA_DIR/<split>_ground_truth.txt`. Defaults to `None`.
        check_files: bool. Whether to check every image file's head and tail before
            training and leave out (and report) the ones that are not complete images.
            Defaults to `True`.

    Returns:
        The split's `DataSource`.

    Raises:
        FileNotFoundError: when the data directory has neither `DATA_DIR/<split>/` nor
            `DATA_DIR/<split>-*-of-*.tfrecord`.
    """
    data_dir = Path(data_dir)
    split_dir = data_dir / split
    if split_dir.is_dir():
        return folder_source(
            split_dir, class_names(data_dir), ground_truth=ground_truth, check_files=check_files
        )
    shards = sorted(glob.glob(str(data_dir / f"{split}-*-of-*{SHARD_SUFFIX}")))
    if shards:
        return tfrecord_source(shards)
    raise FileNotFoundError(
        f"No split {split!r} in {data_dir}: expected the folder {split_dir} or TFRecord "
        f"shards {data_dir / (split + '-*-of-*' + SHARD_SUFFIX)}. "
        f"Received: data_dir={str(data_dir)!r}, split={split!r}"
    )


def folder_source(
    split_dir: str | Path,
    names: Sequence[str] | None = None,
    *,
    ground_truth: str | Path | None = None,
    check_files: bool = True,
) -> DataSource:
    """The `DataSource` of an ImageNet-layout split folder.

    Args:
        split_dir: str or Path. The split folder (class folders, or flat with ground
            truth).
        names: sequence of str or None. Class folder names in index order; None takes
            those of the parent data directory (`class_names`), or the split's own
            sorted class folders when the parent has none. Defaults to `None`.
        ground_truth: str, Path or None. See `resolve_source`. Defaults to `None`.
        check_files: bool. See `resolve_source`. Defaults to `True`.
    """
    split_dir = Path(split_dir)
    if names is None:
        try:
            names = class_names(split_dir.parent)
        except FileNotFoundError:
            names = layout.list_class_folders(split_dir) if split_dir.is_dir() else []
    files, labels = layout.list_split(split_dir, names, ground_truth)
    problems = integrity.find_problem_files(files) if check_files else {}
    if problems:
        shown = "; ".join(f"{path}: {reason}" for path, reason in list(problems.items())[:_REPORTED_FILES])
        logger.warning(
            "Skipping %d of %d files in %s that are not complete images: %s%s",
            len(problems), len(files), split_dir, shown,
            " ..." if len(problems) > _REPORTED_FILES else "",
        )
        kept = [(file, label) for file, label in zip(files, labels) if file not in problems]
        if not kept:
            raise ValueError(
                f"None of the {len(files)} files in {split_dir} is a complete image. "
                f"Received: split_dir={str(split_dir)!r}"
            )
        files, labels = map(list, zip(*kept))
    return DataSource(
        kind="folder",
        files=tuple(files),
        labels=tuple(labels),
        class_names=tuple(names),
        num_examples=len(files),
        max_label=max(labels),
        skipped=tuple(problems.items()),
    )


def tfrecord_source(shards: str | Path | Sequence[str | Path]) -> DataSource:
    """The `DataSource` of TFRecord shards.

    When the shards are named `<split>-NNNNN-of-NNNNN.tfrecord` and their folder holds
    `<split>-info.json` and `classes.txt` (as `tools/build_tfrecords.py` writes them),
    the example count, label range and class names are taken from there.

    Args:
        shards: str, Path or sequence of them. A glob pattern, one shard, or a list of
            shards.

    Raises:
        FileNotFoundError: when no shard matches or a listed shard does not exist.
    """
    if isinstance(shards, (str, os.PathLike)):
        paths = sorted(glob.glob(str(shards)))
    else:
        paths = [str(path) for path in shards]
    missing = [path for path in paths if not os.path.isfile(path)]
    if not paths or missing:
        raise FileNotFoundError(
            f"No TFRecord shards found{': missing ' + str(missing[:5]) if missing else ''}. "
            f"Received: shards={shards!r}"
        )
    info = _split_info(paths)
    folders = {os.path.dirname(path) for path in paths}
    classes_path = Path(folders.pop(), CLASSES_FILENAME) if len(folders) == 1 else None
    return DataSource(
        kind="tfrecord",
        files=tuple(paths),
        class_names=tuple(read_names(classes_path)) if classes_path and classes_path.is_file() else (),
        num_examples=info.get("num_examples"),
        max_label=info.get("max_label"),
        image_size=info.get("image_size"),
    )


def _split_info(paths: list[str]) -> dict:
    """The info of the split all `paths` belong to, or {} when that is not known."""
    folders = {os.path.dirname(path) for path in paths}
    matches = [_SHARD_NAME.match(os.path.basename(path)) for path in paths]
    splits = {match["split"] for match in matches if match}
    if len(folders) != 1 or len(splits) != 1 or not all(matches):
        return {}
    folder, split = folders.pop(), splits.pop()
    info_path = split_info_path(folder, split)
    if not info_path.is_file():
        return {}
    info = json.loads(info_path.read_text())
    return info if info.get("num_shards") == len(paths) else {}


def as_source(source: SourceLike) -> DataSource:
    """Turns what the dataset functions accept into a `DataSource`.

    Args:
        source: DataSource; a path to an ImageNet-layout split folder (`ROOT/train`);
            or a glob pattern, path or list of paths of TFRecord shards.
    """
    if isinstance(source, DataSource):
        return source
    if isinstance(source, (str, os.PathLike)) and os.path.isdir(source):
        if glob.glob(os.path.join(source, f"*-of-*{SHARD_SUFFIX}")):
            raise ValueError(
                f"{source} holds TFRecord shards of several splits; pick one with "
                f"`resolve_source(data_dir, split)` or a glob. Received: source={str(source)!r}"
            )
        return folder_source(source)
    return tfrecord_source(source)


def check_labels(source: DataSource, num_classes: int) -> None:
    """Raises a clear error when a label of `source` is outside `[0, num_classes)`.

    Uses the known largest label when there is one; otherwise reads every label from
    the TFRecord shards (a pass over the data that parses nothing but labels).

    Raises:
        ValueError: when a label is out of range.
    """
    if source.max_label is not None:
        low, high = 0, source.max_label
    else:
        logger.info("Reading the labels of %d TFRecord shards to check their range.", len(source.files))
        labels = (
            tf.data.TFRecordDataset(list(source.files), num_parallel_reads=tf.data.AUTOTUNE)
            .batch(4096)
            .map(features.decode_label, num_parallel_calls=tf.data.AUTOTUNE)
        )
        low, high = labels.reduce(
            (tf.constant(0, tf.int64), tf.constant(-1, tf.int64)),
            lambda bounds, batch: (
                tf.minimum(bounds[0], tf.reduce_min(batch)),
                tf.maximum(bounds[1], tf.reduce_max(batch)),
            ),
        )
        low, high = int(low), int(high)
    if low < 0 or high >= num_classes:
        raise ValueError(
            f"Labels must lie in [0, {num_classes}) for {num_classes} classes, but the "
            f"data ({source.kind}: {source.files[0]}, ...) has labels in [{low}, {high}]. "
            "(TFRecords from the original TensorFlow ImageNet scripts count classes from "
            f"1.) Received: num_classes={num_classes}"
        )
