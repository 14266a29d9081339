"""Nearest neighbours by Euclidean distance, over a gallery that arrives in batches.

The paper's Figure 4 shows, for test images, the training images whose last-hidden-layer
(fc7) feature vectors are closest in Euclidean distance. `NeighbourSearch` keeps the `k`
closest gallery items of each query while the gallery's features stream past batch by
batch, so a gallery of any size never has to be held in memory.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from alexnet_tf.figures.checks import check_positive_int


def spread_positions(total: int, count: int) -> np.ndarray:
    """`count` positions spread evenly over `range(total)`, starting at 0.

    Splits stored class by class then contribute queries from many classes.

    Args:
        total: int. Number of items.
        count: int. Number of positions wanted; at most `total` are returned.

    Returns:
        Increasing int64 positions, `min(count, total)` of them.
    """
    check_positive_int("total", total)
    check_positive_int("count", count)
    return np.linspace(0, total, min(count, total), endpoint=False).astype(np.int64)


def euclidean_distances(queries: np.ndarray, gallery: np.ndarray) -> np.ndarray:
    """Euclidean distances between every query and every gallery vector.

    Computed from the differences (not from `|q|^2 - 2 q.g + |g|^2`), so a vector's
    distance to itself is exactly 0 and each distance does not depend on the other
    vectors in the batch.

    Args:
        queries: array `(queries, features)`.
        gallery: array `(items, features)`.

    Returns:
        A float64 array `(queries, items)`.
    """
    gallery = np.asarray(gallery, np.float64)
    return np.stack([np.sqrt(np.square(gallery - query).sum(axis=1)) for query in np.asarray(queries, np.float64)])


class NeighbourSearch:
    """Keeps the `k` nearest gallery items of each query over batches of gallery features.

    Items are identified by their gallery position; ties in distance go to the lower
    position. `positions` and `distances` (both `(queries, k)`, nearest first) hold
    the neighbours found so far; slots not yet filled hold position -1 and distance inf.

    Args:
        queries: array `(queries, features)`. The query feature vectors.
        k: int. Neighbours kept per query.
        exclude: sequence of int or None. For each query, a gallery position it may not
            match (its own, when the queries are drawn from the gallery), or None.
            Defaults to `None`.

    Example:

    >>> search = NeighbourSearch(np.zeros((1, 2)), k=1)
    >>> search.add(np.array([[3.0, 4.0], [1.0, 0.0]]), np.array([10, 11]))
    >>> search.positions, search.distances
    (array([[11]]), array([[1.]]))
    """

    def __init__(self, queries: np.ndarray, k: int, exclude: Sequence[int] | None = None):
        queries = np.asarray(queries, np.float64)
        if queries.ndim != 2 or not len(queries):
            raise ValueError(
                "`queries` must be a non-empty 2-D array of feature vectors. "
                f"Received: queries.shape={queries.shape}"
            )
        check_positive_int("k", k)
        if exclude is not None and len(exclude) != len(queries):
            raise ValueError(
                f"`exclude` must hold one position per query ({len(queries)}). Received: exclude={exclude!r}"
            )
        self.queries = queries
        self.k = k
        self.exclude = None if exclude is None else np.asarray(exclude, np.int64)
        self.positions = np.full((len(queries), k), -1, np.int64)
        self.distances = np.full((len(queries), k), np.inf)

    def add(self, features: np.ndarray, positions: np.ndarray) -> None:
        """Merges one batch of gallery items into the neighbours found so far.

        Args:
            features: array `(items, features)`. The batch's feature vectors.
            positions: int array `(items,)`. The batch's gallery positions.
        """
        positions = np.asarray(positions, np.int64)
        distances = euclidean_distances(self.queries, features)
        if self.exclude is not None:
            distances[positions[None, :] == self.exclude[:, None]] = np.inf
        candidates = np.concatenate([self.positions, np.broadcast_to(positions, distances.shape)], axis=1)
        distances = np.concatenate([self.distances, distances], axis=1)
        order = np.lexsort((candidates, distances), axis=1)
        best = order[:, : self.k]
        self.positions = np.take_along_axis(candidates, best, axis=1)
        self.distances = np.take_along_axis(distances, best, axis=1)

    @property
    def complete(self) -> bool:
        """Whether every query has `k` neighbours (the gallery held enough items)."""
        return bool(np.isfinite(self.distances).all())
