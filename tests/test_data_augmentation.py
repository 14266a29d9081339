"""Tests of alexnet_tf.data.augmentation and the augmentations of train_dataset."""

import numpy as np
import pytest
import tensorflow as tf

from alexnet_tf.data import augmentation as aug
from alexnet_tf.data import preprocessing as pre
from alexnet_tf.data import train_dataset
from alexnet_tf.data.stats import IMAGENET_STATS, DatasetStats

STATS = DatasetStats((10.0, 20.0, 30.0), IMAGENET_STATS.eigenvalues, IMAGENET_STATS.eigenvectors)
MEAN = np.array(STATS.mean_rgb, np.float32)


@pytest.mark.parametrize("offsets", [(0, 0), (29, 29), (7, 13), (29, 0)])
def test_decode_and_crop_cuts_the_exact_window(offsets, coordinate_image, encode_image):
    image = coordinate_image(256, 256)
    crop = aug.decode_and_crop(encode_image(image, "PNG"), tf.constant(offsets), 256, 227).numpy()
    y, x = offsets
    np.testing.assert_array_equal(crop, image[y : y + 227, x : x + 227])


@pytest.mark.parametrize("shape", [(256, 256), (300, 420), (420, 300)])
def test_decode_and_crop_of_jpeg_matches_decoding_then_cropping(shape, encode_image):
    rng = np.random.default_rng(0)
    image = tf.image.resize(rng.uniform(0, 255, (9, 9, 3)), shape).numpy().astype(np.uint8)
    encoded = encode_image(image, "JPEG", quality=90)
    reference = pre.resize_shorter_and_center_crop(pre.decode_image(encoded)).numpy().astype(int)
    for y, x in [(0, 0), (13, 17), (29, 29)]:
        crop = aug.decode_and_crop(encoded, tf.constant([y, x]), 256, 227).numpy()
        difference = np.abs(crop - reference[y : y + 227, x : x + 227])
        # Decoding only a window may differ at chroma block edges by a few levels.
        assert difference.mean() < 0.5 and difference.max() <= 12


def test_pca_lighting_offset_is_the_papers_formula():
    alpha = np.array([0.1, -0.2, 0.05], np.float32)
    eigenvectors = np.array(IMAGENET_STATS.eigenvectors)
    expected = 255.0 * eigenvectors @ (alpha * np.array(IMAGENET_STATS.eigenvalues))
    offset = aug.pca_lighting_offset(tf.constant(alpha), IMAGENET_STATS).numpy()
    np.testing.assert_allclose(offset, expected, rtol=1e-5)
    batch = aug.pca_lighting_offset(tf.constant([alpha, -alpha]), IMAGENET_STATS).numpy()
    np.testing.assert_allclose(batch, [expected, -expected], rtol=1e-5)


def test_draw_augmentations_distributions():
    params = aug.draw_augmentations(
        tf.constant([1, 2]), 4000, IMAGENET_STATS, image_size=256, crop_size=227
    )
    offsets = params["offsets"].numpy()
    assert offsets.min() == 0 and offsets.max() == 29
    assert len(np.unique(offsets[:, 0])) == 30 and len(np.unique(offsets[:, 1])) == 30
    assert 0.45 < params["flip"].numpy().mean() < 0.55
    # Recover alpha from the offsets: alpha_i ~ N(0, 0.1), independent.
    eigenvectors = np.array(IMAGENET_STATS.eigenvectors)
    scaled = np.linalg.solve(eigenvectors, params["lighting"].numpy().T / 255.0).T
    alpha = scaled / np.array(IMAGENET_STATS.eigenvalues)
    np.testing.assert_allclose(alpha.std(axis=0), 0.1, rtol=0.06)
    np.testing.assert_allclose(alpha.mean(axis=0), 0.0, atol=0.01)


def test_switched_off_augmentations_are_neutral():
    params = aug.draw_augmentations(
        tf.constant([1, 2]), 50, IMAGENET_STATS, image_size=256, crop_size=227,
        random_crop=False, flip=False, pca_lighting=False,
    )
    assert (params["offsets"].numpy() == 14).all()
    assert not params["flip"].numpy().any()
    assert not params["lighting"].numpy().any()


@pytest.fixture
def coordinate_tree(tmp_path, coordinate_image, make_image_tree):
    """Six 256x256 coordinate PNGs (named .JPEG), each shifted in blue so they differ."""
    base = coordinate_image(256, 256)
    images = [base.copy() for _ in range(6)]
    for i, image in enumerate(images):
        image[..., 2] += np.uint8(i)
    root = make_image_tree(tmp_path, {"train": {"a": images[:3], "b": images[3:]}})
    return root / "train", base


def _images(dataset, epochs=1):
    return np.concatenate([x.numpy() for _ in range(epochs) for x, _ in dataset])


def test_without_augmentation_the_pipeline_gives_centre_crops_minus_mean(coordinate_tree):
    folder, base = coordinate_tree
    dataset = train_dataset(
        folder, batch_size=3, stats=STATS, seed=0, random_crop=False, flip=False, pca_lighting=False
    )
    images = _images(dataset) + MEAN
    assert images.shape == (6, 227, 227, 3) and images.dtype == np.float32
    np.testing.assert_array_equal(images[..., :2], np.broadcast_to(base[14:241, 14:241, :2], (6, 227, 227, 2)))


def test_pca_lighting_shifts_every_pixel_by_one_offset_per_image(coordinate_tree):
    folder, base = coordinate_tree
    dataset = train_dataset(folder, batch_size=6, stats=STATS, seed=0, random_crop=False, flip=False)
    images = _images(dataset) + MEAN
    shift = images[..., :2] - base[14:241, 14:241, :2]
    per_image = shift[:, :1, :1]
    np.testing.assert_allclose(shift, np.broadcast_to(per_image, shift.shape), atol=1e-3)
    assert len(np.unique(per_image[:, 0, 0, 0].round(3))) == 6  # drawn per image
    assert 0.1 < np.abs(per_image).max() < 40


def test_flips_mirror_the_crop(coordinate_tree):
    folder, base = coordinate_tree
    centre = base[14:241, 14:241, :2].astype(np.float32)
    dataset = train_dataset(folder, batch_size=6, stats=STATS, seed=0, random_crop=False, pca_lighting=False)
    images = _images(dataset, epochs=4)[..., :2] + MEAN[:2]
    flipped = [np.array_equal(image, centre[:, ::-1]) for image in images]
    plain = [np.array_equal(image, centre) for image in images]
    assert all(f != p for f, p in zip(flipped, plain))
    assert 4 <= sum(flipped) <= 20


def test_random_crops_are_windows_inside_the_image(coordinate_tree):
    folder, base = coordinate_tree
    dataset = train_dataset(folder, batch_size=6, stats=STATS, seed=0, flip=False, pca_lighting=False)
    images = (_images(dataset, epochs=3) + MEAN).astype(np.uint8)
    corners = set()
    for image in images:
        y, x = image[0, 0, 0], image[0, 0, 1]
        assert 0 <= y <= 29 and 0 <= x <= 29
        np.testing.assert_array_equal(image[..., :2], base[y : y + 227, x : x + 227, :2])
        corners.add((y, x))
    assert len(corners) > 10


def test_a_seed_makes_the_pipeline_deterministic_and_epochs_differ(coordinate_tree):
    folder, _ = coordinate_tree

    def run():
        dataset = train_dataset(folder, batch_size=2, stats=STATS, seed=3).repeat(2)
        return [(x.numpy(), y.numpy()) for x, y in dataset]

    first, second = run(), run()
    for (x1, y1), (x2, y2) in zip(first, second):
        np.testing.assert_array_equal(x1, x2)
        np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(np.stack([x for x, _ in first[:3]]), np.stack([x for x, _ in first[3:]]))
