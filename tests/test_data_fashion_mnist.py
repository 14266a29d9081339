"""Tests of alexnet_tf.data.fashion_mnist and tools/fashion_mnist.py on generated IDX files."""

import gzip

import numpy as np
import pytest
from PIL import Image

from alexnet_tf.data import class_names, dataset_labels, fashion_mnist, resolve_source
from tools import fashion_mnist as tool


@pytest.fixture
def idx_dir(tmp_path, encode_idx):
    """Fake Fashion-MNIST: 12 training and 5 test images of 28x28, gzipped and not."""
    rng = np.random.default_rng(0)
    folder = tmp_path / "idx"
    folder.mkdir()
    splits = {"train": np.arange(12) % 10, "t10k": np.array([9, 0, 0, 3, 3])}
    for prefix, labels in splits.items():
        images = rng.integers(0, 256, (len(labels), 28, 28)).astype(np.uint8)
        images[:, :14] = 0  # a flat region that JPEG keeps exactly
        (folder / f"{prefix}-images-idx3-ubyte.gz").write_bytes(gzip.compress(encode_idx(images)))
        (folder / f"{prefix}-labels-idx1-ubyte").write_bytes(encode_idx(labels))
    return folder


def test_read_idx_round_trip_and_errors(tmp_path, encode_idx):
    array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    (tmp_path / "a").write_bytes(encode_idx(array))
    np.testing.assert_array_equal(fashion_mnist.read_idx(tmp_path / "a"), array)
    (tmp_path / "b.gz").write_bytes(gzip.compress(encode_idx(array)))
    np.testing.assert_array_equal(fashion_mnist.read_idx(tmp_path / "b.gz"), array)
    (tmp_path / "c").write_bytes(encode_idx(array)[:-1])
    with pytest.raises(ValueError, match=r"should hold 24 values"):
        fashion_mnist.read_idx(tmp_path / "c")
    (tmp_path / "d").write_bytes(b"\x00\x00\x0d\x01" + bytes(8))
    with pytest.raises(ValueError, match="not an unsigned-byte IDX file"):
        fashion_mnist.read_idx(tmp_path / "d")


def test_tool_writes_the_imagenet_layout_with_class_names(idx_dir, tmp_path, capsys):
    out = tmp_path / "fm"
    assert tool.main(["--out", str(out), "--idx-dir", str(idx_dir), "--train-limit", "10"]) == 0
    assert "train: 10 images" in capsys.readouterr().out
    assert dataset_labels(out)[0] == "T-shirt/top" and dataset_labels(out)[9] == "Ankle boot"
    assert class_names(out) == fashion_mnist.class_folder_names()
    train, val = resolve_source(out, "train"), resolve_source(out, "val")
    assert train.labels == tuple(range(10))
    assert sorted(val.labels) == [0, 0, 3, 3, 9]
    # The test split's first image (label 9) is an RGB JPEG of the grey original.
    image = np.asarray(Image.open(out / "val" / "9_ankle_boot" / "t10k_00000.jpg"))
    assert image.shape == (28, 28, 3) and image.dtype == np.uint8
    assert image[:8].max() <= 1  # the first row of 8x8 JPEG blocks is flat black
    np.testing.assert_array_equal(image[..., 0], image[..., 2])  # grey in RGB


def test_tool_limits_do_not_create_empty_class_folders(idx_dir, tmp_path):
    out = tmp_path / "fm"
    assert tool.main(["--out", str(out), "--idx-dir", str(idx_dir), "--train-limit", "3", "--val-limit", "1"]) == 0
    assert sorted(p.name for p in (out / "train").iterdir()) == fashion_mnist.class_folder_names()[:3]
    assert resolve_source(out, "val").labels == (9,)


def test_missing_files_say_how_to_get_them(tmp_path, capsys):
    assert tool.main(["--out", str(tmp_path / "fm"), "--idx-dir", str(tmp_path)]) == 1
    error = capsys.readouterr().err
    assert "apt-get install dataset-fashion-mnist" in error
    assert "train-images-idx3-ubyte" in error and str(tmp_path) in error
