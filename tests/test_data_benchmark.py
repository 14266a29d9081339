"""Tests of the input-pipeline benchmark: the Pillow baseline's output and the tool."""

import json

import numpy as np

from alexnet_tf.data.benchmark import measure_throughput, pillow_train_batches, synthetic_photo
from alexnet_tf.data.stats import DatasetStats
from tools import benchmark_data

NO_LIGHTING = DatasetStats((10.0, 20.0, 30.0), (0.0, 0.0, 0.0), np.eye(3).tolist())


def test_pillow_baseline_does_the_training_augmentation(tmp_path, coordinate_image, encode_image):
    base = coordinate_image(256, 256)
    paths = []
    for i in range(4):
        paths.append(tmp_path / f"{i}.png")
        paths[-1].write_bytes(encode_image(base, "PNG"))
    batches = pillow_train_batches(paths, [0, 1, 2, 3], batch_size=2, stats=NO_LIGHTING)
    flipped = 0
    for _ in range(6):
        images, labels = next(batches)
        assert images.shape == (2, 227, 227, 3) and images.dtype == np.float32
        assert labels.dtype == np.int32
        for image in (images + [10.0, 20.0, 30.0]).astype(np.uint8):
            if image[0, 0, 1] > image[0, 1, 1]:  # x decreases: mirrored
                image, flipped = image[:, ::-1], flipped + 1
            y, x = image[0, 0, :2]
            assert y <= 29 and x <= 29
            np.testing.assert_array_equal(image, base[y : y + 227, x : x + 227])
    assert 0 < flipped < 12


def test_synthetic_photos_compress_like_photographs(encode_image):
    photo = synthetic_photo(np.random.default_rng(0), 256, 256)
    size = len(encode_image(np.asarray(photo), "JPEG", quality=90))
    assert 8_000 < size < 60_000  # ImageNet 256x256 JPEGs are mostly 10-40 kB


def test_measure_throughput_counts_images():
    batches = ((None, [0] * 4) for _ in range(10))
    rate, cpu_rate = measure_throughput(batches, num_batches=5, warmup_batches=2)
    assert rate > 0 and cpu_rate > 0


def test_benchmark_tool_writes_json(tmp_path, capsys):
    out = tmp_path / "bench.json"
    argv = [
        "--workdir", str(tmp_path / "work"), "--out", str(out), "--num-images", "12",
        "--raw-images", "8", "--raw-size", "300x260", "--batch-size", "4", "--batches", "2",
        "--warmup-batches", "1",
    ]
    assert benchmark_data.main(argv) == 0
    report = json.loads(out.read_text())
    files = [(r["loader"], r["files"]) for r in report["results"]]
    assert ("tf.data", "256x256 JPEG TFRecords") in files
    assert ("Pillow+numpy", "raw 300x260 JPEG folder") in files
    assert all(r["images_per_second"] > 0 and r["images_per_cpu_second"] > 0 for r in report["results"])
    assert "256x256 JPEG TFRecords" in capsys.readouterr().out
    assert len(list((tmp_path / "work").glob("records256_12/train-*.tfrecord"))) == 8
