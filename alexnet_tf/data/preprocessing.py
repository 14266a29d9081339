"""The paper's deterministic image preprocessing, as pure TensorFlow functions.

Every function here is a graph of TensorFlow ops without Python side effects, so the
same code runs in `tf.data` pipelines, inside `tf.function`, and in an exported
SavedModel's serving signature. Images are `[height, width, 3]` RGB tensors; the model's
input is float32 RGB in 0-255 pixel units minus the training set's per-channel mean.

The paper (DESIGN.md section 3): rescale so the shorter side is 256, keep the central
256x256 patch, subtract the training mean; at test time average the predictions of ten
227x227 crops (the four corners and the centre, and their horizontal reflections).
"""

from __future__ import annotations

import tensorflow as tf

from alexnet_tf.data.stats import DatasetStats

IMAGE_SIZE = 256
CROP_SIZE = 227
EVAL_CROPS = ("center", "ten")


def decode_image(encoded: tf.Tensor) -> tf.Tensor:
    """Decodes a JPEG, PNG, GIF, BMP or WebP image into uint8 RGB.

    The format is sniffed from the bytes, never taken from a file name, so a PNG named
    `.JPEG` decodes. Greyscale images are replicated to three channels, CMYK JPEGs are
    converted to RGB, alpha channels are dropped and animations give their first frame.

    Args:
        encoded: scalar string tensor. The encoded image bytes.

    Returns:
        A uint8 tensor `[height, width, 3]`.
    """
    image = tf.io.decode_image(encoded, channels=3, dtype=tf.uint8, expand_animations=False)
    image.set_shape([None, None, 3])
    return image


def central_square(height: tf.Tensor, width: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """The largest central square of a `height` x `width` image.

    Args:
        height: int32 scalar tensor. Image height.
        width: int32 scalar tensor. Image width.

    Returns:
        `(offset_y, offset_x, side)` int32 scalars: the square's top-left corner and side.
    """
    side = tf.minimum(height, width)
    return (height - side) // 2, (width - side) // 2, side


def resize_square(image: tf.Tensor, size: int) -> tf.Tensor:
    """Resizes a square uint8 image to `size` x `size`.

    Shrinking averages the source pixels each output pixel covers (`"area"`, a box
    filter: antialiased, and several times faster on CPU than antialiased bilinear);
    enlarging interpolates bilinearly. An image that already has that size is returned
    unchanged, pixel for pixel.

    Args:
        image: uint8 tensor `[side, side, 3]`.
        size: int. Side of the output.

    Returns:
        A uint8 tensor `[size, size, 3]`.
    """
    image = tf.convert_to_tensor(image)
    side = tf.shape(image)[0]

    def resize(method):
        resized = tf.image.resize(image, [size, size], method=method)
        return tf.saturate_cast(tf.round(resized), tf.uint8)

    resized = tf.case(
        [(side > size, lambda: resize("area")), (side < size, lambda: resize("bilinear"))],
        default=lambda: image,
    )
    resized.set_shape([size, size, 3])
    return resized


def resize_shorter_and_center_crop(image: tf.Tensor, size: int = IMAGE_SIZE) -> tf.Tensor:
    """Rescales so the shorter side is `size` and keeps the central `size` x `size` patch.

    Implemented as "cut the central square, then resize it to `size` x `size`", which
    selects the same region as resizing first (up to the rounding of the longer side to
    whole pixels) without resizing pixels that are then thrown away. An image that is
    already `size` x `size` is returned unchanged.

    Args:
        image: uint8 tensor `[height, width, 3]`.
        size: int. Side of the output. Defaults to `256`.

    Returns:
        A uint8 tensor `[size, size, 3]`.
    """
    image = tf.convert_to_tensor(image)
    shape = tf.shape(image)
    offset_y, offset_x, side = central_square(shape[0], shape[1])
    square = image[offset_y : offset_y + side, offset_x : offset_x + side]
    return resize_square(square, size)


def _crop(image: tf.Tensor, offset_y, offset_x, size: int) -> tf.Tensor:
    crop = image[offset_y : offset_y + size, offset_x : offset_x + size]
    crop.set_shape([size, size, image.shape[-1]])
    return crop


def _check_crop_fits(image: tf.Tensor, size: int) -> tuple[tf.Tensor, tf.Tensor]:
    shape = tf.shape(image)
    tf.debugging.assert_greater_equal(
        tf.minimum(shape[0], shape[1]), size,
        message=f"The image is smaller than the {size}x{size} crop",
    )
    return shape[0], shape[1]


def center_crop(image: tf.Tensor, size: int = CROP_SIZE) -> tf.Tensor:
    """Cuts the central `size` x `size` patch (offsets rounded down: 14 for 256 -> 227).

    Args:
        image: tensor `[height, width, channels]`, at least `size` on each side.
        size: int. Side of the crop. Defaults to `227`.

    Returns:
        A tensor `[size, size, channels]` of the input's dtype.
    """
    image = tf.convert_to_tensor(image)
    height, width = _check_crop_fits(image, size)
    return _crop(image, (height - size) // 2, (width - size) // 2, size)


def ten_crops(image: tf.Tensor, size: int = CROP_SIZE) -> tf.Tensor:
    """The paper's ten test-time views of an image.

    The order is: centre, top-left, top-right, bottom-left, bottom-right, then the same
    five crops mirrored left-right (crop `i + 5` is crop `i` reflected).

    Args:
        image: tensor `[height, width, channels]`, at least `size` on each side.
        size: int. Side of each crop. Defaults to `227`.

    Returns:
        A tensor `[10, size, size, channels]` of the input's dtype.
    """
    image = tf.convert_to_tensor(image)
    height, width = _check_crop_fits(image, size)
    bottom, right = height - size, width - size
    crops = tf.stack(
        [
            _crop(image, bottom // 2, right // 2, size),
            _crop(image, 0, 0, size),
            _crop(image, 0, right, size),
            _crop(image, bottom, 0, size),
            _crop(image, bottom, right, size),
        ]
    )
    return tf.concat([crops, tf.reverse(crops, axis=[2])], axis=0)


def subtract_mean(image: tf.Tensor, stats: DatasetStats) -> tf.Tensor:
    """Converts to float32 0-255 pixel units and subtracts the per-channel training mean.

    Args:
        image: tensor `[..., 3]` of RGB pixels in 0-255 units (uint8 or float).
        stats: DatasetStats. Supplies `mean_rgb`.

    Returns:
        A float32 tensor of the input's shape.
    """
    return tf.cast(image, tf.float32) - tf.constant(stats.mean_rgb, tf.float32)


def eval_preprocess(
    encoded: tf.Tensor,
    stats: DatasetStats,
    crop: str = "center",
    image_size: int = IMAGE_SIZE,
    crop_size: int = CROP_SIZE,
) -> tf.Tensor:
    """Turns encoded image bytes into the model's evaluation input.

    Decodes, rescales the shorter side to `image_size` and keeps the central square,
    then takes the central crop or the ten crops, and subtracts the training mean.

    Args:
        encoded: scalar string tensor. Encoded image bytes (any format `decode_image`
            reads).
        stats: DatasetStats. Supplies the per-channel mean.
        crop: str. `"center"` for the central crop, `"ten"` for the paper's ten views in
            the order of `ten_crops`. Defaults to `"center"`.
        image_size: int. Side of the rescaled square. Defaults to `256`.
        crop_size: int. Side of the crops. Defaults to `227`.

    Returns:
        float32 `[crop_size, crop_size, 3]` for `crop="center"`, or
        `[10, crop_size, crop_size, 3]` for `crop="ten"`.
    """
    check_sizes(image_size, crop_size)
    if crop not in EVAL_CROPS:
        raise ValueError(f"`crop` must be one of {EVAL_CROPS}. Received: crop={crop!r}")
    image = resize_shorter_and_center_crop(decode_image(encoded), image_size)
    views = center_crop(image, crop_size) if crop == "center" else ten_crops(image, crop_size)
    return subtract_mean(views, stats)


def check_sizes(image_size: int, crop_size: int) -> None:
    """Raises ValueError unless `0 < crop_size <= image_size` are integers."""
    for name, value in (("image_size", image_size), ("crop_size", crop_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"`{name}` must be a positive integer. Received: {name}={value!r}")
    if crop_size > image_size:
        raise ValueError(
            "`crop_size` must not exceed `image_size`. "
            f"Received: crop_size={crop_size}, image_size={image_size}"
        )
