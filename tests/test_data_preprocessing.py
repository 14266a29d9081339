"""Tests of alexnet_tf.data.preprocessing: decoding, the 256 square, crops, mean."""

import numpy as np
import pytest
import tensorflow as tf

from alexnet_tf.data import preprocessing as pre
from alexnet_tf.data.stats import DatasetStats, IMAGENET_STATS

STATS = DatasetStats((10.0, 20.0, 30.0), (0.2, 0.02, 0.004), np.eye(3).tolist())


def test_decode_handles_greyscale_cmyk_png_and_alpha(encode_image):
    rng = np.random.default_rng(0)
    array = rng.integers(0, 256, (24, 40, 3), dtype=np.uint8)
    png = pre.decode_image(encode_image(array, "PNG")).numpy()
    np.testing.assert_array_equal(png, array)  # lossless, and no extension is involved
    rgba = pre.decode_image(encode_image(array, "PNG", mode="RGBA")).numpy()
    np.testing.assert_array_equal(rgba, array)
    grey = pre.decode_image(encode_image(array, "JPEG", mode="L")).numpy()
    assert grey.shape == (24, 40, 3)
    np.testing.assert_array_equal(grey[..., 0], grey[..., 2])
    smooth = np.repeat(np.linspace(40, 200, 40, dtype=np.uint8)[None, :, None], 24, 0).repeat(3, 2)
    cmyk = pre.decode_image(encode_image(smooth, "JPEG", mode="CMYK")).numpy()
    assert cmyk.shape == (24, 40, 3)
    assert np.abs(cmyk.astype(int) - smooth).mean() < 4  # colours survive CMYK


def test_decode_inside_a_graph_has_static_channels(encode_image):
    decode = tf.function(pre.decode_image, input_signature=[tf.TensorSpec([], tf.string)])
    assert decode.get_concrete_function().structured_outputs.shape.as_list() == [None, None, 3]
    image = decode(encode_image(np.zeros((5, 6, 3), np.uint8), "BMP"))
    assert image.shape == (5, 6, 3)


def test_resize_keeps_a_256_square_unchanged_and_cuts_the_central_square(coordinate_image):
    square = coordinate_image(256, 256)
    np.testing.assert_array_equal(pre.resize_shorter_and_center_crop(square).numpy(), square)
    wide = coordinate_image(256, 400)  # shorter side already 256: pure central crop
    np.testing.assert_array_equal(pre.resize_shorter_and_center_crop(wide).numpy(), wide[:, 72:328])
    tall = coordinate_image(300, 256)
    np.testing.assert_array_equal(pre.resize_shorter_and_center_crop(tall).numpy(), tall[22:278])


def test_resize_scales_the_shorter_side_to_256():
    # A 128x200 image whose left half is black and right half white: after rescaling the
    # central 128x128 square (columns 36..163, edge at column 100) to 256x256 the edge sits
    # at column 2 * (100 - 36) = 128.
    image = np.zeros((128, 200, 3), np.uint8)
    image[:, 100:] = 255
    resized = pre.resize_shorter_and_center_crop(image, 256).numpy()
    assert resized.shape == (256, 256, 3) and resized.dtype == np.uint8
    row = resized[50, :, 0]
    assert row[:126].max() == 0 and row[130:].min() == 255


def test_resize_shrinks_with_area_averaging():
    # 512x600: the central 512 square (columns 44..555) shrinks 2:1, so every output
    # pixel is the mean of a 2x2 block; columns 44..299 are 0 and 300..555 are 200 here.
    image = np.zeros((512, 600, 3), np.uint8)
    image[:, 300:] = 200
    image[1::2, 301::2] = 100  # a pattern that area averaging turns into 175 exactly
    resized = pre.resize_shorter_and_center_crop(image).numpy()
    np.testing.assert_array_equal(resized[:, :128], 0)
    np.testing.assert_array_equal(resized[:, 128:], 175)


def test_center_crop_offsets(coordinate_image):
    image = coordinate_image(256, 256)
    crop = pre.center_crop(image).numpy()
    np.testing.assert_array_equal(crop, image[14:241, 14:241])
    with pytest.raises(tf.errors.InvalidArgumentError, match="smaller than the 227x227"):
        pre.center_crop(coordinate_image(200, 256))


def test_ten_crops_are_the_corners_centre_and_their_mirrors(coordinate_image):
    image = coordinate_image(256, 260)
    crops = pre.ten_crops(image, 227).numpy()
    assert crops.shape == (10, 227, 227, 3)
    expected = [
        image[14:241, 16:243],  # centre
        image[:227, :227],  # top-left
        image[:227, 33:],  # top-right
        image[29:, :227],  # bottom-left
        image[29:, 33:],  # bottom-right
    ]
    for i, view in enumerate(expected):
        np.testing.assert_array_equal(crops[i], view)
        np.testing.assert_array_equal(crops[i + 5], view[:, ::-1])


def test_subtract_mean_uses_the_given_stats():
    image = np.full((2, 3, 3), 100, np.uint8)
    result = pre.subtract_mean(image, STATS).numpy()
    assert result.dtype == np.float32
    np.testing.assert_array_equal(result[0, 0], [90.0, 80.0, 70.0])


@pytest.mark.parametrize("crop, shape", [("center", (227, 227, 3)), ("ten", (10, 227, 227, 3))])
def test_eval_preprocess_in_a_serving_graph(crop, shape, coordinate_image, encode_image):
    image = coordinate_image(256, 256)
    serve = tf.function(
        lambda encoded: pre.eval_preprocess(encoded, STATS, crop),
        input_signature=[tf.TensorSpec([], tf.string)],
    )
    result = serve(encode_image(image, "PNG")).numpy()
    assert result.shape == shape
    views = pre.ten_crops(image).numpy() if crop == "ten" else image[14:241, 14:241]
    np.testing.assert_array_equal(result, views.astype(np.float32) - [10.0, 20.0, 30.0])


def test_eval_preprocess_rejects_bad_arguments():
    with pytest.raises(ValueError, match="Received: crop='five'"):
        pre.eval_preprocess(tf.constant(b""), IMAGENET_STATS, crop="five")
    with pytest.raises(ValueError, match="Received: crop_size=300, image_size=256"):
        pre.eval_preprocess(tf.constant(b""), IMAGENET_STATS, crop_size=300)
