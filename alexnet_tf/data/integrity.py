"""Cheap structural checks that image files are complete, without decoding them.

A downloaded data set holds truncated files, HTML error pages saved as `.JPEG` and
empty files. The rule (`image_problem`, TensorFlow ops, vectorized over many files)
recognises them from the first `HEAD_BYTES` and the last `TAIL_BYTES` of a file: the
head must carry a JPEG, PNG, GIF, BMP or WebP signature, and a JPEG must end with its
end-of-image marker (`FF D9`, possibly followed by padding) and a PNG with its `IEND`
chunk. `find_problem_files` applies it to a split's files before training, reading only
their heads and tails, so every skipped file is counted and reported by name before the
first step, at a small fraction of the cost of decoding.

Corruption inside the compressed data is not visible to the rule; JPEG decoders render
most such files with artefacts, and a file that still fails to decode is dropped inside
the pipeline (`tf.data.Dataset.ignore_errors`) instead of ending the epoch. A JPEG with
more than `TAIL_BYTES` of extra data after its end marker is reported as truncated.
"""

from __future__ import annotations

import concurrent.futures
import os
from pathlib import Path
from typing import Sequence

import tensorflow as tf

HEAD_BYTES = 12
TAIL_BYTES = 1024

OK = 0
UNKNOWN_FORMAT = 1
TRUNCATED = 2
PROBLEMS = {
    UNKNOWN_FORMAT: "not an image: no JPEG, PNG, GIF, BMP or WebP signature",
    TRUNCATED: "truncated: no end-of-image marker",
}

# (format, offset, bytes): the file signatures of the formats TensorFlow decodes.
SIGNATURES = (
    ("JPEG", 0, b"\xff\xd8\xff"),
    ("PNG", 0, b"\x89PNG\r\n\x1a\n"),
    ("GIF", 0, b"GIF87a"),
    ("GIF", 0, b"GIF89a"),
    ("BMP", 0, b"BM"),
    ("WEBP", 8, b"WEBP"),
)
_JPEG_END = (0xFF, 0xD9)
_PNG_END = tuple(b"IEND")
_CHECK_BATCH = 4096


def _has_bytes(data: tf.Tensor, offset: int, pattern: bytes) -> tf.Tensor:
    """Whether `pattern` sits at `offset` along the last axis of the uint8 `data`."""
    expected = tf.constant(list(pattern), tf.uint8)
    return tf.reduce_all(data[..., offset : offset + len(pattern)] == expected, axis=-1)


def _contains(tail_bytes: tf.Tensor, pattern: tuple[int, ...]) -> tf.Tensor:
    """Whether the byte sequence `pattern` occurs along the last axis of `tail_bytes`."""
    length = tail_bytes.shape[-1] - len(pattern) + 1
    found = tf.ones_like(tail_bytes[..., :length], dtype=tf.bool)
    for i, value in enumerate(pattern):
        found &= tail_bytes[..., i : i + length] == value
    return tf.reduce_any(found, axis=-1)


def image_problem(head: tf.Tensor, tail: tf.Tensor) -> tf.Tensor:
    """Classifies images from their first and last bytes.

    Args:
        head: string tensor (any shape). The first `HEAD_BYTES` bytes of each image
            (fewer for shorter files).
        tail: string tensor of the same shape. The last `TAIL_BYTES` bytes of each image.

    Returns:
        An int32 tensor of the same shape: `OK`, `UNKNOWN_FORMAT` or `TRUNCATED`
        (keys of `PROBLEMS`).
    """
    head_bytes = tf.io.decode_raw(head, tf.uint8, fixed_length=HEAD_BYTES)
    tail_bytes = tf.io.decode_raw(tail, tf.uint8, fixed_length=TAIL_BYTES)
    is_format = {}
    for name, offset, signature in SIGNATURES:
        matches = _has_bytes(head_bytes, offset, signature)
        is_format[name] = is_format[name] | matches if name in is_format else matches
    is_jpeg, is_png = is_format.pop("JPEG"), is_format.pop("PNG")
    is_other = tf.reduce_any(tf.stack(list(is_format.values())), axis=0)
    complete = (
        (is_jpeg & _contains(tail_bytes, _JPEG_END))
        | (is_png & _contains(tail_bytes, _PNG_END))
        | is_other
    )
    known = is_jpeg | is_png | is_other
    return tf.where(complete, OK, tf.where(known, TRUNCATED, UNKNOWN_FORMAT))


def image_format(encoded: bytes) -> str:
    """The format name (`"JPEG"`, `"PNG"`, ...) of encoded bytes by their signature, or `""`."""
    return next(
        (
            name
            for name, offset, signature in SIGNATURES
            if encoded[offset : offset + len(signature)] == signature
        ),
        "",
    )


def _read_head_and_tail(path: str) -> tuple[bytes, bytes]:
    try:
        with open(path, "rb") as file:
            head = file.read(HEAD_BYTES)
            size = file.seek(0, os.SEEK_END)
            file.seek(max(size - TAIL_BYTES, 0))
            return head, file.read(TAIL_BYTES)
    except OSError:
        return b"", b""


def find_problem_files(
    paths: Sequence[str | Path], workers: int | None = None
) -> dict[str, str]:
    """Finds the files that are not complete images, reading only their heads and tails.

    Args:
        paths: sequence of str or Path. The image files to check.
        workers: int or None. Reader threads; None picks a few per core. Defaults to
            `None`.

    Returns:
        A dict from each bad path (as given, converted to str) to the reason it is bad.
        Unreadable files count as "not an image".
    """
    paths = [str(path) for path in paths]
    workers = workers or min(32, 4 * (os.cpu_count() or 1))
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        ends = list(pool.map(_read_head_and_tail, paths, chunksize=256))
    problems = {}
    for start in range(0, len(paths), _CHECK_BATCH):
        batch = ends[start : start + _CHECK_BATCH]
        codes = image_problem(
            tf.constant([head for head, _ in batch], tf.string),
            tf.constant([tail for _, tail in batch], tf.string),
        ).numpy()
        for path, code in zip(paths[start : start + _CHECK_BATCH], codes):
            if code != OK:
                problems[path] = PROBLEMS[int(code)]
    return problems
