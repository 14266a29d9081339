"""The fc7 nearest neighbours of query images in a gallery split: the paper's Figure 4.

Queries and gallery are read with the evaluation preprocessing (`eval_preprocess`:
shorter side to `image_size`, central square, centre crop of the model's input size,
training mean subtracted), passed through `feature_model` (the post-ReLU fc7
activations of both towers), and compared by Euclidean distance. Images are identified
by their position in their split's example order (`read_examples`), which is fixed.
"""

from __future__ import annotations

import dataclasses

import keras
import numpy as np
import tensorflow as tf
from tqdm import tqdm

from alexnet_tf.data import DataSource, DatasetStats, eval_preprocess
from alexnet_tf.data.datasets import read_examples
from alexnet_tf.data.preprocessing import IMAGE_SIZE
from alexnet_tf.figures.checks import check_positive_int
from alexnet_tf.figures.neighbours import NeighbourSearch, spread_positions
from alexnet_tf.models import feature_model


@dataclasses.dataclass(frozen=True)
class NeighbourGrid:
    """Query images and their nearest gallery images, nearest first.

    Images are the centre crops the network saw, with the training mean added back.

    Args:
        query_images: uint8 array `(queries, size, size, 3)`.
        query_labels: int array `(queries,)`. Class indices of the queries.
        query_positions: int array `(queries,)`. Positions in the query split.
        images: uint8 array `(queries, k, size, size, 3)`. The neighbours' images.
        labels: int array `(queries, k)`. The neighbours' class indices.
        positions: int array `(queries, k)`. The neighbours' positions in the gallery split.
        distances: float array `(queries, k)`. Euclidean distances of the fc7 features.
    """

    query_images: np.ndarray
    query_labels: np.ndarray
    query_positions: np.ndarray
    images: np.ndarray
    labels: np.ndarray
    positions: np.ndarray
    distances: np.ndarray


def find_neighbours(
    model: keras.Model,
    query_source: DataSource,
    gallery_source: DataSource,
    *,
    stats: DatasetStats,
    queries: int = 5,
    k: int = 6,
    max_gallery: int | None = None,
    image_size: int = IMAGE_SIZE,
    batch_size: int = 64,
    progress: bool = False,
) -> NeighbourGrid:
    """Finds the `k` gallery images closest to each query by fc7 features.

    When both sources are the same split, a query never matches itself.

    Args:
        model: keras.Model. A model built by `build_alexnet`; its input size is the
            crop size.
        query_source: DataSource. The split the queries come from (e.g. `val`).
        gallery_source: DataSource. The split searched (the paper: `train`).
        stats: DatasetStats. The training statistics the model was trained with.
        queries: int. Number of queries, spread evenly over the query split.
            Defaults to `5`.
        k: int. Neighbours per query. Defaults to `6`, the paper's.
        max_gallery: int or None. Search only this many gallery images, spread evenly
            over the split. Defaults to `None` (the whole split).
        image_size: int. Side of the rescaled central square the crop is taken from.
            Defaults to `256`.
        batch_size: int. Images per forward pass. Defaults to `64`.
        progress: bool. Show a tqdm progress bar over the gallery. Defaults to `False`.

    Raises:
        ValueError: when the gallery has fewer than `k` images a query may match.
    """
    check_positive_int("queries", queries)
    check_positive_int("k", k)
    if max_gallery is not None:
        check_positive_int("max_gallery", max_gallery)
    extractor = feature_model(model)
    crop_size = int(model.input_shape[1])

    def batches(source: DataSource, count: int | None) -> tuple[tf.data.Dataset, int]:
        """Batches of `count` examples spread over `source` (None: all), and their number."""
        total = _count(source)
        positions = spread_positions(total, total if count is None else count)
        dataset = _read(
            source, positions, total, stats, image_size=image_size, crop_size=crop_size, batch_size=batch_size
        )
        return dataset, -(-len(positions) // batch_size)

    def features(images: tf.Tensor) -> np.ndarray:
        return np.asarray(extractor.predict_on_batch(images), np.float64)

    found = [
        (positions.numpy(), _display(images.numpy(), stats), labels.numpy(), features(images))
        for positions, images, labels in batches(query_source, queries)[0]
    ]
    query_positions, query_images, query_labels, query_features = (np.concatenate(parts) for parts in zip(*found))
    search = NeighbourSearch(
        query_features, k, exclude=query_positions if query_source == gallery_source else None
    )
    gallery, steps = batches(gallery_source, max_gallery)
    kept: dict[int, tuple[np.ndarray, int]] = {}
    bar = tqdm(gallery, total=steps, desc="gallery", unit="batch", disable=not progress)
    for positions, images, labels in bar:
        positions = positions.numpy()
        search.add(features(images), positions)
        wanted = set(search.positions.ravel().tolist())
        kept = {position: item for position, item in kept.items() if position in wanted}
        for i in np.flatnonzero(np.isin(positions, search.positions)):
            kept[int(positions[i])] = (_display(images[i].numpy(), stats), int(labels[i]))
    if not search.complete:
        raise ValueError(
            f"The gallery ({gallery_source.files[0]}, ...) has fewer than k={k} images each "
            f"query may match. Received: k={k}, max_gallery={max_gallery}"
        )
    return NeighbourGrid(
        query_images=query_images,
        query_labels=query_labels,
        query_positions=query_positions,
        images=np.stack([[kept[position][0] for position in row] for row in search.positions.tolist()]),
        labels=np.array([[kept[position][1] for position in row] for row in search.positions.tolist()]),
        positions=search.positions,
        distances=search.distances,
    )


def _read(
    source: DataSource,
    positions: np.ndarray,
    total: int,
    stats: DatasetStats,
    *,
    image_size: int,
    crop_size: int,
    batch_size: int,
) -> tf.data.Dataset:
    """Batches of `(position, eval image, label)` of the examples at `positions` of a split
    of `total` examples."""
    selected = np.zeros(total, bool)
    selected[positions] = True
    selected = tf.constant(selected)
    return (
        read_examples(source)
        .enumerate()
        .filter(lambda position, example: tf.gather(selected, position))
        .map(
            lambda position, example: (
                position, eval_preprocess(example[0], stats, "center", image_size, crop_size), example[1],
            ),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
        .ignore_errors(log_warning=True)
        .batch(batch_size)
        .prefetch(tf.data.AUTOTUNE)
    )


def _count(source: DataSource) -> int:
    """Number of examples of a split; TFRecord shards without an info file are counted."""
    if source.num_examples is not None:
        return source.num_examples
    return int(tf.data.TFRecordDataset(list(source.files)).reduce(np.int64(0), lambda count, _: count + 1))


def _display(images: np.ndarray, stats: DatasetStats) -> np.ndarray:
    """Mean-subtracted float images back to uint8 RGB for display."""
    return np.clip(np.rint(images + np.asarray(stats.mean_rgb, np.float32)), 0, 255).astype(np.uint8)
