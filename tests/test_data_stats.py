"""Tests of alexnet_tf.data.stats, labels and pixel_statistics (with tools/dataset_stats.py)."""

import json
import logging

import numpy as np
import pytest

from alexnet_tf.data import labels as labels_lib
from alexnet_tf.data import stats as stats_lib
from alexnet_tf.data.pixel_statistics import PixelMoments
from tools import dataset_stats


def test_imagenet_stats_are_the_documented_values():
    stats = stats_lib.IMAGENET_STATS
    assert stats.mean_rgb == (123.68, 116.779, 103.939)
    assert stats.eigenvalues == (0.2175, 0.0188, 0.0045)
    assert stats.eigenvectors[1] == (-0.5808, -0.0045, -0.8140)
    # Columns are the (unit) eigenvectors.
    np.testing.assert_allclose(np.linalg.norm(np.array(stats.eigenvectors), axis=0), 1.0, atol=1e-3)


def test_save_and_load_round_trip(tmp_path):
    stats = stats_lib.DatasetStats((1.5, 2.0, 3.0), (0.3, 0.2, 0.1), np.eye(3).tolist(), num_images=7)
    path = stats_lib.save_stats(stats, tmp_path / "data")
    assert path == tmp_path / "data" / stats_lib.STATS_FILENAME
    assert stats_lib.load_stats(path) == stats
    assert stats_lib.load_stats(tmp_path / "data") == stats
    assert stats_lib.find_stats(tmp_path / "data") == stats
    assert stats.eigenvectors == ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0))


def test_load_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="dataset_stats.py"):
        stats_lib.load_stats(tmp_path)
    (tmp_path / stats_lib.STATS_FILENAME).write_text('{"mean_rgb": [1, 2]}')
    with pytest.raises(ValueError, match=r"Malformed .*Received: path="):
        stats_lib.load_stats(tmp_path)
    (tmp_path / stats_lib.STATS_FILENAME).write_text("not json")
    with pytest.raises(ValueError, match="Malformed"):
        stats_lib.find_stats(tmp_path)


def test_find_stats_falls_back_to_imagenet_with_a_warning(tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        assert stats_lib.find_stats(tmp_path) is stats_lib.IMAGENET_STATS
    assert "ImageNet" in caplog.text and str(tmp_path) in caplog.text


@pytest.mark.parametrize(
    "kwargs",
    [
        {"mean_rgb": (1.0, 2.0)},
        {"eigenvalues": (1.0, float("nan"), 2.0)},
        {"eigenvectors": ((1.0, 0.0, 0.0),)},
        {"num_images": 0},
    ],
)
def test_invalid_stats_are_rejected(kwargs):
    config = {**stats_lib.IMAGENET_STATS.to_dict(), **kwargs}
    with pytest.raises(ValueError, match="Received"):
        stats_lib.DatasetStats.from_dict(config)


def test_labels_round_trip_and_errors(tmp_path):
    labels = ["T-shirt/top", "Ankle boot", "tench, Tinca tinca"]
    path = labels_lib.write_labels(labels, tmp_path)
    assert path.name == labels_lib.LABELS_FILENAME
    assert path.read_text() == "T-shirt/top\nAnkle boot\ntench, Tinca tinca\n"
    assert labels_lib.read_labels(path) == labels
    assert labels_lib.read_labels(tmp_path) == labels
    (tmp_path / "gap.txt").write_text("a\n\nb\n")
    with pytest.raises(ValueError, match="blank lines"):
        labels_lib.read_labels(tmp_path / "gap.txt")
    with pytest.raises(ValueError, match="Received"):
        labels_lib.write_labels(["ok", " "], tmp_path / "bad.txt")
    with pytest.raises(FileNotFoundError):
        labels_lib.read_labels(tmp_path / "missing.txt")


def _numpy_stats(arrays):
    pixels = np.concatenate([a.reshape(-1, 3) for a in arrays]).astype(np.float64)
    covariance = np.cov(pixels / 255.0, rowvar=False, bias=True)
    eigenvalues, eigenvectors = np.linalg.eigh(covariance)
    return pixels.mean(axis=0), eigenvalues[::-1], eigenvectors[:, ::-1]


def test_pixel_moments_match_numpy():
    rng = np.random.default_rng(0)
    arrays = [rng.integers(0, 256, (5, 7, 3)) * [1.0, 0.5, 0.8] for _ in range(4)]
    moments = PixelMoments()
    for a in arrays:
        pixels = a.reshape(-1, 3)
        moments.add(len(pixels), pixels.sum(0), pixels.T @ pixels)
    stats = moments.stats()
    mean, eigenvalues, eigenvectors = _numpy_stats(arrays)
    np.testing.assert_allclose(stats.mean_rgb, mean, rtol=1e-12)
    np.testing.assert_allclose(stats.eigenvalues, eigenvalues, rtol=1e-9)
    np.testing.assert_allclose(np.abs(stats.eigenvectors), np.abs(eigenvectors), atol=1e-9)
    assert stats.num_images == 4


def test_dataset_stats_tool_equals_numpy(tmp_path, make_image_tree, capsys):
    rng = np.random.default_rng(1)
    # 256x256 PNGs: lossless and already the paper's size, so numpy sees the same pixels.
    arrays = [
        np.clip(rng.normal([140, 110, 90], [40, 30, 20], (256, 256, 3)), 0, 255).astype(np.uint8)
        for _ in range(5)
    ]
    root = make_image_tree(tmp_path / "data", {"train": {"a": arrays[:2], "b": arrays[2:]}})
    assert dataset_stats.main(["--data-dir", str(root)]) == 0
    stored = stats_lib.load_stats(root)
    assert json.loads(capsys.readouterr().out.split("wrote")[0]) == stored.to_dict()
    mean, eigenvalues, eigenvectors = _numpy_stats(arrays)
    np.testing.assert_allclose(stored.mean_rgb, mean, rtol=1e-9)
    np.testing.assert_allclose(stored.eigenvalues, eigenvalues, rtol=1e-6)
    for i in range(3):  # eigenvectors are unique up to sign
        column = np.array(stored.eigenvectors)[:, i]
        assert min(np.abs(column - eigenvectors[:, i]).max(), np.abs(column + eigenvectors[:, i]).max()) < 1e-6
    assert stored.num_images == 5


def test_dataset_stats_tool_reports_a_missing_split(tmp_path, capsys):
    assert dataset_stats.main(["--data-dir", str(tmp_path)]) == 1
    assert "No split 'train'" in capsys.readouterr().err
