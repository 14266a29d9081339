"""Loss and top-1/top-5 error, as sums that add up exactly over replicas, steps and workers.

Every replica returns sums over its share of the batch (loss, examples in error, example
count); the strategy adds them up across replicas and workers; an epoch adds them over
steps. Dividing at the end gives exact means regardless of how the data was split,
including uneven final batches, which per-replica means averaged with equal weights
would not.
"""

from __future__ import annotations

import tensorflow as tf

SUM_KEYS = ("loss", "top1_error", "top5_error", "examples")


def classification_sums(labels: tf.Tensor, scores: tf.Tensor, losses: tf.Tensor) -> dict[str, tf.Tensor]:
    """Sums of one batch: loss, top-1 and top-5 errors, and the number of examples.

    Args:
        labels: int tensor `[batch]`. True class indices.
        scores: float tensor `[batch, classes]`. Logits or probabilities (any scores
            whose order ranks the classes).
        losses: float tensor `[batch]`. Per-example losses.

    Returns:
        A dict of float64 scalars keyed by `SUM_KEYS`. With fewer than 5 classes every
        example is in the top 5.
    """
    labels = tf.cast(labels, tf.int32)
    scores = tf.cast(scores, tf.float32)
    k = tf.minimum(5, tf.shape(scores)[-1])

    def errors(top: tf.Tensor) -> tf.Tensor:
        correct = tf.math.in_top_k(labels, scores, top)
        return tf.reduce_sum(1.0 - tf.cast(correct, tf.float64))

    return {
        "loss": tf.reduce_sum(tf.cast(losses, tf.float64)),
        "top1_error": errors(1),
        "top5_error": errors(k),
        "examples": tf.cast(tf.size(labels), tf.float64),
    }


def means(sums: dict[str, float], prefix: str = "") -> dict[str, float]:
    """Turns summed metrics into means per example, keyed `prefix + name`.

    Args:
        sums: dict. Totals keyed by `SUM_KEYS`.
        prefix: str. Prefix of the keys, e.g. `"val_"`. Defaults to `""`.
    """
    examples = float(sums["examples"])
    if not examples:
        raise ValueError(f"No examples were seen, so there are no means. Received: sums={sums}")
    return {prefix + key: float(sums[key]) / examples for key in SUM_KEYS if key != "examples"}
