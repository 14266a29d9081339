"""Writing TFRecord shards from ImageNet-layout folders.

Every image is fully decoded once: files that fail are skipped and reported by name in
the split's info file. Optionally each image is stored pre-resized to the paper's
256x256 central square (re-encoded as JPEG; JPEGs that already are 256x256 are kept
as they are), so training decodes only its crop and never resizes. Without resizing
the original bytes are stored unchanged.
"""

from __future__ import annotations

import concurrent.futures
import json
import logging
import os
import random
import re
import shutil
from pathlib import Path
from typing import Sequence

import tensorflow as tf
from tqdm import tqdm

from alexnet_tf.data import features, integrity, sources
from alexnet_tf.data.labels import write_labels
from alexnet_tf.data.preprocessing import decode_image, resize_shorter_and_center_crop
from alexnet_tf.data.stats import STATS_FILENAME

logger = logging.getLogger(__name__)

DEFAULT_QUALITY = 95
def _error_summary(error: tf.errors.OpError) -> str:
    """The last unindented line of a TensorFlow error: the op's own message."""
    lines = [line for line in error.message.splitlines() if line.strip() and not line[0].isspace()]
    return re.sub(r"\{\{.*?\}\}", "", lines[-1]).strip()


class _Converter:
    """Decodes one image to check it, and resizes and re-encodes it when asked."""

    def __init__(self, image_size: int | None, quality: int):
        self.image_size = image_size

        @tf.function(input_signature=[tf.TensorSpec([], tf.string)])
        def shape(encoded):
            return tf.shape(decode_image(encoded))[:2]

        @tf.function(input_signature=[tf.TensorSpec([], tf.string)])
        def resize(encoded):
            image = decode_image(encoded)
            shape = tf.shape(image)
            fits = tf.io.is_jpeg(encoded) & (shape[0] == image_size) & (shape[1] == image_size)
            return tf.cond(
                fits,
                lambda: encoded,
                lambda: tf.io.encode_jpeg(
                    resize_shorter_and_center_crop(image, image_size), quality=quality
                ),
            )

        self._shape, self._resize = shape, resize

    def __call__(self, encoded: bytes) -> tuple[bytes, int, int]:
        """Returns `(bytes to store, height, width)`; raises InvalidArgumentError."""
        if self.image_size is None:
            height, width = self._shape(encoded).numpy()
            return encoded, int(height), int(width)
        return self._resize(encoded).numpy(), self.image_size, self.image_size


def write_split(
    source: sources.DataSource,
    out_dir: str | Path,
    split: str,
    *,
    num_shards: int,
    image_size: int | None = 256,
    quality: int = DEFAULT_QUALITY,
    workers: int | None = None,
    seed: int = 0,
    progress: bool = False,
) -> dict:
    """Writes one split of image files as TFRecord shards plus `<split>-info.json`.

    Examples are shuffled (with `seed`) before they are dealt to shards, so every shard
    mixes all classes. Shards are written in parallel, one worker per shard at a time.

    Args:
        source: DataSource. A folder source (see `sources.resolve_source`).
        out_dir: str or Path. Output folder; created when missing.
        split: str. Split name used in the shard names, e.g. `"train"`.
        num_shards: int. Number of shards, at most the number of images.
        image_size: int or None. Store each image rescaled to its central
            `image_size` square as a JPEG; None stores the original bytes. Defaults to
            `256`.
        quality: int. JPEG quality of re-encoded images. Defaults to `95`.
        workers: int or None. Parallel shard writers; None uses the number of cores.
            Defaults to `None`.
        seed: int. Seed of the example shuffle. Defaults to `0`.
        progress: bool. Show a tqdm progress bar. Defaults to `False`.

    Returns:
        The split's info (also written to `<split>-info.json`): `num_examples`,
        `num_shards`, `max_label`, `image_size` and `skipped` (file name -> reason, for
        files the source check and the decoder rejected).
    """
    if source.kind != "folder":
        raise ValueError(f"TFRecords are written from image folders. Received: source.kind={source.kind!r}")
    if isinstance(num_shards, bool) or not isinstance(num_shards, int) or not 1 <= num_shards <= len(source.files):
        raise ValueError(
            f"`num_shards` must be between 1 and the number of images ({len(source.files)}). "
            f"Received: num_shards={num_shards!r}"
        )
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    examples = list(zip(source.files, source.labels))
    random.Random(seed).shuffle(examples)
    convert = _Converter(image_size, quality)
    with tqdm(total=len(examples), unit="img", desc=split, disable=not progress) as bar:

        def write_shard(index: int) -> tuple[int, int, dict[str, str]]:
            skipped, written, max_label = {}, 0, -1
            with tf.io.TFRecordWriter(str(sources.shard_path(out_dir, split, index, num_shards))) as writer:
                for path, label in examples[index::num_shards]:
                    encoded = Path(path).read_bytes()
                    try:
                        stored, height, width = convert(encoded)
                    except tf.errors.InvalidArgumentError as error:
                        skipped[path] = "cannot decode: " + _error_summary(error)
                    else:
                        example = features.make_example(
                            stored, label, synset=source.class_names[label], height=height,
                            width=width, filename=os.path.basename(path),
                            image_format=integrity.image_format(stored),
                        )
                        writer.write(example.SerializeToString())
                        written += 1
                        max_label = max(max_label, label)
                    bar.update(1)
            return written, max_label, skipped

        with concurrent.futures.ThreadPoolExecutor(workers or os.cpu_count()) as pool:
            results = list(pool.map(write_shard, range(num_shards)))
    skipped = dict(source.skipped)
    for _, _, shard_skipped in results:
        skipped.update(shard_skipped)
    if skipped:
        logger.warning("%s: skipped %d files that are not decodable images: %s", split, len(skipped), sorted(skipped))
    info = {
        "split": split,
        "num_examples": sum(written for written, _, _ in results),
        "num_shards": num_shards,
        "max_label": max(label for _, label, _ in results),
        "image_size": image_size,
        "skipped": dict(sorted(skipped.items())),
    }
    sources.split_info_path(out_dir, split).write_text(json.dumps(info, indent=2) + "\n")
    return info


def convert_data_dir(
    data_dir: str | Path,
    out_dir: str | Path,
    splits: Sequence[str] = ("train", "val"),
    *,
    shards: dict[str, int] | int = 16,
    ground_truth: str | Path | None = None,
    **kwargs,
) -> dict[str, dict]:
    """Converts an ImageNet-layout data directory to TFRecord shards.

    Writes each split's shards and info, `classes.txt`, `labels.txt`, and copies
    `dataset_stats.json` when the data directory has one.

    Args:
        data_dir: str or Path. The ImageNet-layout root (`DATA_DIR/train/<class>/...`).
        out_dir: str or Path. Output folder; created when missing.
        splits: sequence of str. The splits to convert. Defaults to `("train", "val")`.
        shards: dict or int. Number of shards per split name, or one number for all.
            Defaults to `16`.
        ground_truth: str, Path or None. Ground-truth file of a flat split (see
            `sources.resolve_source`). Defaults to `None`.
        **kwargs: Passed to `write_split` (`image_size`, `quality`, `workers`, `seed`,
            `progress`).

    Returns:
        The info of each split, by split name.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    names = sources.class_names(data_dir)
    (out_dir / sources.CLASSES_FILENAME).write_text("".join(f"{name}\n" for name in names))
    write_labels(sources.dataset_labels(data_dir), out_dir)
    if (Path(data_dir) / STATS_FILENAME).is_file():
        shutil.copyfile(Path(data_dir) / STATS_FILENAME, out_dir / STATS_FILENAME)
    infos = {}
    for split in splits:
        source = sources.resolve_source(data_dir, split, ground_truth=ground_truth)
        num_shards = shards if isinstance(shards, int) else shards[split]
        infos[split] = write_split(
            source, out_dir, split, num_shards=min(num_shards, len(source.files)), **kwargs
        )
    return infos
