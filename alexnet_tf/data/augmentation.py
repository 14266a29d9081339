"""The paper's training augmentation, as pure TensorFlow functions.

Random 227x227 crops of the 256x256 image, horizontal reflections, and "fancy PCA"
lighting (DESIGN.md section 3). Random parameters are drawn statelessly from a `seed`
(an int tensor of shape [2]) for many images at once (`draw_augmentations`), so a
pipeline with a fixed seed is reproducible regardless of parallelism; the per-image
functions then apply them.
"""

from __future__ import annotations

import tensorflow as tf

from alexnet_tf.data.preprocessing import (
    central_square,
    decode_image,
    resize_shorter_and_center_crop,
    resize_square,
)
from alexnet_tf.data.stats import DatasetStats

LIGHTING_STD = 0.1


def decode_and_crop(
    encoded: tf.Tensor,
    offsets: tf.Tensor,
    image_size: int,
    crop_size: int,
    *,
    square_jpeg: bool = False,
) -> tf.Tensor:
    """Decodes an image and cuts a crop of its central `image_size` square.

    Equivalent to `resize_shorter_and_center_crop(decode_image(encoded), image_size)`
    followed by the `crop_size` window at `offsets`, but faster for JPEGs: only the
    central square is decoded, and when that square already is `image_size` (images
    stored pre-resized to 256x256) only the crop window is decoded and nothing is
    resized. Decoding a window can differ from slicing the decoded image by a few
    levels at chroma-subsampled block edges.

    Args:
        encoded: scalar string tensor. Encoded image bytes.
        offsets: int32 tensor [2]. Top-left corner of the crop in the central square.
        image_size: int. Side of the rescaled central square.
        crop_size: int. Side of the crop.
        square_jpeg: bool. The caller guarantees that `encoded` is a JPEG of exactly
            `image_size` x `image_size` (TFRecords written pre-resized), so the crop
            window is decoded without inspecting the image first. Defaults to `False`.

    Returns:
        A uint8 tensor `[crop_size, crop_size, 3]`.
    """
    if square_jpeg:
        window = tf.concat([offsets, [crop_size, crop_size]], axis=0)
        image = tf.image.decode_and_crop_jpeg(encoded, window, channels=3)
        image.set_shape([crop_size, crop_size, 3])
        return image

    def crop(image):
        return image[offsets[0] : offsets[0] + crop_size, offsets[1] : offsets[1] + crop_size]

    def decode_jpeg():
        shape = tf.io.extract_jpeg_shape(encoded)
        offset_y, offset_x, side = central_square(shape[0], shape[1])

        def decode_window():
            window = tf.stack([offset_y + offsets[0], offset_x + offsets[1], crop_size, crop_size])
            return tf.image.decode_and_crop_jpeg(encoded, window, channels=3)

        def decode_square_and_resize():
            window = tf.stack([offset_y, offset_x, side, side])
            square = tf.image.decode_and_crop_jpeg(encoded, window, channels=3)
            return crop(resize_square(square, image_size))

        return tf.cond(side == image_size, decode_window, decode_square_and_resize)

    def decode_other():
        return crop(resize_shorter_and_center_crop(decode_image(encoded), image_size))

    image = tf.cond(tf.io.is_jpeg(encoded), decode_jpeg, decode_other)
    image.set_shape([crop_size, crop_size, 3])
    return image


def flip_if(image: tf.Tensor, flip: tf.Tensor) -> tf.Tensor:
    """Mirrors an image left-right when `flip` (a scalar bool tensor) is true.

    Args:
        image: tensor `[height, width, channels]`.
        flip: bool scalar tensor. Whether to mirror.
    """
    return tf.cond(flip, lambda: tf.reverse(image, axis=[1]), lambda: image)


def pca_lighting_offset(alpha: tf.Tensor, stats: DatasetStats) -> tf.Tensor:
    """The paper's lighting change for given coefficients, in 0-255 pixel units.

    Returns `255 * eigenvectors @ (alpha * eigenvalues)`: the quantity
    `[p1 p2 p3][a1 l1, a2 l2, a3 l3]^T` of the paper, computed for pixels in [0, 1]
    (as the statistics are), scaled to 0-255 pixels. It is added to every pixel.

    Args:
        alpha: float32 tensor `[..., 3]`. The coefficients `a_i` (of one or many images).
        stats: DatasetStats. Supplies `eigenvalues` and `eigenvectors`.

    Returns:
        A float32 tensor `[..., 3]`: the RGB offsets.
    """
    eigenvectors = tf.constant(stats.eigenvectors, tf.float32)
    eigenvalues = tf.constant(stats.eigenvalues, tf.float32)
    return 255.0 * tf.linalg.matvec(eigenvectors, alpha * eigenvalues)


def draw_augmentations(
    seed: tf.Tensor,
    count: int,
    stats: DatasetStats,
    *,
    image_size: int,
    crop_size: int,
    random_crop: bool = True,
    flip: bool = True,
    pca_lighting: bool = True,
    lighting_std: float = LIGHTING_STD,
) -> dict[str, tf.Tensor]:
    """Draws the random augmentation parameters of `count` images at once.

    Drawing for many images in a few vectorized ops keeps the per-image work down to
    decoding. A switched-off augmentation gets its neutral value: the central crop, no
    reflection, a zero lighting offset.

    Args:
        seed: int tensor [2]. Stateless random seed.
        count: int. Number of images.
        stats: DatasetStats. Supplies the principal components.
        image_size: int. Side of the rescaled square.
        crop_size: int. Side of the crops.
        random_crop: bool. Uniformly random crop corners. Defaults to `True`.
        flip: bool. Reflections with probability 1/2. Defaults to `True`.
        pca_lighting: bool. Lighting coefficients `alpha_i ~ N(0, lighting_std)`, drawn
            once per image. Defaults to `True`.
        lighting_std: float. Standard deviation of the coefficients. Defaults to `0.1`.

    Returns:
        A dict of `"offsets"` (int32 `[count, 2]` crop corners `(y, x)`, each in
        `[0, image_size - crop_size]`), `"flip"` (bool `[count]`) and `"lighting"`
        (float32 `[count, 3]` RGB offsets in 0-255 units, see `pca_lighting_offset`).
    """
    crop_seed, flip_seed, lighting_seed = tf.unstack(
        tf.random.experimental.stateless_split(seed, num=3)
    )
    if random_crop:
        offsets = tf.random.stateless_uniform(
            [count, 2], crop_seed, minval=0, maxval=image_size - crop_size + 1, dtype=tf.int32
        )
    else:
        offsets = tf.fill([count, 2], (image_size - crop_size) // 2)
    if flip:
        flips = tf.random.stateless_uniform([count], flip_seed) < 0.5
    else:
        flips = tf.zeros([count], tf.bool)
    if pca_lighting:
        alpha = tf.random.stateless_normal([count, 3], lighting_seed, stddev=lighting_std)
        lighting = pca_lighting_offset(alpha, stats)
    else:
        lighting = tf.zeros([count, 3], tf.float32)
    return {"offsets": offsets, "flip": flips, "lighting": lighting}
