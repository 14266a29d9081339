"""Computing `DatasetStats` from a training split.

The statistics describe the images the network sees before cropping: each image is
decoded and rescaled to its central 256x256 square (`resize_shorter_and_center_crop`),
and every pixel of every image counts once. The mean is in 0-255 units; the covariance
(population, divided by the pixel count) and its eigen decomposition are for pixels
scaled to [0, 1], like the ImageNet values.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf
from tqdm import tqdm

from alexnet_tf.data.datasets import read_examples
from alexnet_tf.data.preprocessing import IMAGE_SIZE, decode_image, resize_shorter_and_center_crop
from alexnet_tf.data.sources import SourceLike, as_source
from alexnet_tf.data.stats import DatasetStats

_SAMPLE_SHUFFLE_BUFFER = 10_000


class PixelMoments:
    """Running first and second moments of RGB pixels, in float64: start empty, `add`."""

    def __init__(self):
        self.count = 0
        self.num_images = 0
        self.total = np.zeros(3)
        self.outer = np.zeros((3, 3))

    def add(self, count: int, total: np.ndarray, outer: np.ndarray, num_images: int = 1) -> None:
        """Adds the pixel count, the per-channel sum and the sum of `x x^T` of some images."""
        self.count += int(count)
        self.num_images += int(num_images)
        self.total += total
        self.outer += outer

    def stats(self) -> DatasetStats:
        """The statistics of the pixels added so far.

        Eigenvectors are the columns of the returned matrix, in order of decreasing
        eigenvalue; each is signed so that its largest-magnitude component is positive.
        """
        if self.count == 0:
            raise ValueError("No pixels were added; cannot compute statistics. Received: count=0")
        mean = self.total / self.count
        covariance = (self.outer / self.count - np.outer(mean, mean)) / 255.0**2
        eigenvalues, eigenvectors = np.linalg.eigh(covariance)
        order = np.argsort(eigenvalues)[::-1]
        eigenvalues, eigenvectors = eigenvalues[order], eigenvectors[:, order]
        signs = np.sign(eigenvectors[np.argmax(np.abs(eigenvectors), axis=0), range(3)])
        eigenvectors = eigenvectors * signs
        return DatasetStats(
            mean_rgb=tuple(mean),
            eigenvalues=tuple(np.maximum(eigenvalues, 0.0)),
            eigenvectors=tuple(tuple(row) for row in eigenvectors),
            num_images=self.num_images,
        )


def image_moments(encoded: tf.Tensor, image_size: int = IMAGE_SIZE) -> tuple[tf.Tensor, tf.Tensor]:
    """Per-channel sum and sum of `x x^T` (float64, 0-255 units) of one image's pixels.

    Args:
        encoded: scalar string tensor. Encoded image bytes.
        image_size: int. Side of the central square the image is rescaled to. Defaults
            to `256`.
    """
    image = resize_shorter_and_center_crop(decode_image(encoded), image_size)
    pixels = tf.reshape(tf.cast(image, tf.float64), [-1, 3])
    return tf.reduce_sum(pixels, axis=0), tf.matmul(pixels, pixels, transpose_a=True)


def compute_stats(
    source: SourceLike,
    *,
    image_size: int = IMAGE_SIZE,
    max_images: int | None = None,
    progress: bool = False,
) -> DatasetStats:
    """Computes the mean and RGB principal components of a (training) split.

    Args:
        source: DataSource, str or list. As for `train_dataset`.
        image_size: int. Side of the central square images are rescaled to. Defaults to
            `256`.
        max_images: int or None. Use a random sample (fixed seed) of this many images;
            None uses every image. Defaults to `None`.
        progress: bool. Show a tqdm progress bar. Defaults to `False`.

    Returns:
        The split's `DatasetStats`.
    """
    source = as_source(source)
    if max_images is None:
        examples = read_examples(source)
        total = source.num_examples
    else:
        examples = read_examples(source, shuffle_seed=0, shuffle_buffer=_SAMPLE_SHUFFLE_BUFFER)
        examples = examples.take(max_images)
        total = min(max_images, source.num_examples or max_images)
    sums = (
        examples.map(
            lambda encoded, label: image_moments(encoded, image_size),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
        .ignore_errors(log_warning=True)
        .batch(64)
        .map(lambda totals, outers: (tf.shape(totals)[0], tf.reduce_sum(totals, 0), tf.reduce_sum(outers, 0)))
        .prefetch(tf.data.AUTOTUNE)
    )
    moments = PixelMoments()
    pixels_per_image = image_size * image_size
    with tqdm(total=total, unit="img", desc="statistics", disable=not progress) as bar:
        for num_images, total_sum, outer in sums.as_numpy_iterator():
            moments.add(num_images * pixels_per_image, total_sum, outer, num_images)
            bar.update(num_images)
    return moments.stats()
