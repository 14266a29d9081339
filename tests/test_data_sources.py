"""Tests of the ImageNet layout, ground-truth files, source resolution, bad files, sharding."""

import logging

import numpy as np
import pytest
import tensorflow as tf

from alexnet_tf.data import (
    IMAGENET_STATS,
    class_names,
    dataset_labels,
    eval_dataset,
    num_classes,
    resolve_source,
    train_dataset,
    write_labels,
)
from alexnet_tf.data import integrity


def _solid(value, shape=(20, 30)):
    return np.full((*shape, 3), value, np.uint8)


@pytest.fixture
def tree(tmp_path, make_image_tree):
    """train: 3 classes (sorted b_dog, a_cat, c_fish -> 0 a_cat, 1 b_dog, 2 c_fish); val: 2."""
    return make_image_tree(
        tmp_path / "data",
        {
            "train": {"b_dog": [_solid(10), _solid(11)], "a_cat": [_solid(20)], "c_fish": [_solid(30)] * 2},
            "val": {"c_fish": [_solid(40)], "a_cat": [_solid(50)]},
        },
    )


def test_classes_come_from_sorted_train_folders(tree):
    assert class_names(tree) == ["a_cat", "b_dog", "c_fish"]
    assert num_classes(tree) == 3
    assert dataset_labels(tree) == ["a_cat", "b_dog", "c_fish"]
    write_labels(["cat", "dog", "fish"], tree)
    assert dataset_labels(tree) == ["cat", "dog", "fish"]
    source = resolve_source(tree, "train")
    assert source.kind == "folder" and source.num_examples == 5 and source.num_classes == 3
    assert [name.split("/")[-2] for name in source.files] == ["a_cat", "b_dog", "b_dog", "c_fish", "c_fish"]
    assert source.labels == (0, 1, 1, 2, 2)
    # val lacks b_dog, yet keeps the training indices.
    assert resolve_source(tree, "val").labels == (0, 2)


def test_eval_dataset_reads_every_image_once_in_order(tree):
    batches = list(eval_dataset(resolve_source(tree, "train"), batch_size=2, stats=IMAGENET_STATS))
    labels = np.concatenate([y.numpy() for _, y in batches])
    np.testing.assert_array_equal(labels, [0, 1, 1, 2, 2])
    first_pixel = np.concatenate([x.numpy()[:, 0, 0, 0] for x, _ in batches]) + IMAGENET_STATS.mean_rgb[0]
    np.testing.assert_allclose(first_pixel, [20, 10, 11, 30, 30], atol=1e-4)
    assert [tuple(x.shape) for x, _ in batches] == [(2, 227, 227, 3)] * 2 + [(1, 227, 227, 3)]


@pytest.mark.parametrize(
    "content",
    [
        "b.png n02\na.png n01\n",  # name, class folder
        "a 0\nb.png 1\n",  # stem, class index
        "n01\nn02\n",  # one class per line, sorted file order
        "ImageId,PredictionString\na,n01 1 2 3 4\nb,n02 5 6 7 8\n",  # Kaggle LOC_val_solution.csv
    ],
)
def test_flat_split_with_ground_truth(tmp_path, make_image_tree, encode_image, content):
    root = make_image_tree(tmp_path, {"train": {"n01": [_solid(1)], "n02": [_solid(2)]}})
    (root / "val").mkdir()
    (root / "val" / "a.png").write_bytes(encode_image(_solid(1), "PNG"))
    (root / "val" / "b.png").write_bytes(encode_image(_solid(2), "PNG"))
    (root / "val_ground_truth.txt").write_text(content)
    assert resolve_source(root, "val").labels == (0, 1)


@pytest.mark.parametrize(
    "content, message",
    [
        ("a.png n01\n", r"1 images have no entry .*'b.png'"),
        ("a.png n01\nb.png n09\n", "names class 'n09'"),
        ("a.png 0\nb.png 2\n", "class index below 2"),
        ("n01\n", "one class per line for 1 images, but the split holds 2"),
    ],
)
def test_bad_ground_truth_is_a_clear_error(tmp_path, make_image_tree, encode_image, content, message):
    root = make_image_tree(tmp_path, {"train": {"n01": [_solid(1)], "n02": [_solid(2)]}})
    (root / "val").mkdir()
    for name in ("a.png", "b.png"):
        (root / "val" / name).write_bytes(encode_image(_solid(1), "PNG"))
    (root / "val_ground_truth.txt").write_text(content)
    with pytest.raises(ValueError, match=message):
        resolve_source(root, "val")


def test_missing_pieces_are_clear_errors_before_training(tree, encode_image):
    with pytest.raises(FileNotFoundError, match=r"No split 'test' .*Received: data_dir=.*split='test'"):
        resolve_source(tree, "test")
    (tree / "train" / "d_empty").mkdir()
    with pytest.raises(ValueError, match=r"class folder .*d_empty is empty"):
        resolve_source(tree, "train")
    (tree / "train" / "d_empty").rmdir()
    (tree / "val" / "z_unknown").mkdir()
    with pytest.raises(ValueError, match="not classes of the data set.*z_unknown"):
        resolve_source(tree, "val")
    flat = tree / "flat"
    flat.mkdir()
    (flat / "x.png").write_bytes(encode_image(_solid(1), "PNG"))
    with pytest.raises(FileNotFoundError, match="needs a ground-truth file"):
        resolve_source(tree, "flat")


def test_integrity_rule_recognises_bad_bytes(encode_image):
    jpeg = encode_image(_solid(90, (40, 40)), "JPEG")
    png = encode_image(_solid(90, (40, 40)), "PNG")
    cases = {
        jpeg: integrity.OK,
        jpeg + b"\x00" * 100: integrity.OK,  # padding after the end marker
        png: integrity.OK,
        encode_image(_solid(90), "GIF"): integrity.OK,
        jpeg[: len(jpeg) // 2]: integrity.TRUNCATED,
        png[:-20]: integrity.TRUNCATED,
        b"<html>404</html>": integrity.UNKNOWN_FORMAT,
        b"": integrity.UNKNOWN_FORMAT,
    }
    heads = tf.constant([data[: integrity.HEAD_BYTES] for data in cases])
    tails = tf.constant([data[-integrity.TAIL_BYTES :] for data in cases])
    np.testing.assert_array_equal(integrity.image_problem(heads, tails).numpy(), list(cases.values()))
    assert integrity.image_problem(tf.constant(jpeg[:10]), tf.constant(jpeg[:10])).numpy() == integrity.TRUNCATED


def test_real_world_files_are_decoded_or_skipped_and_reported(tmp_path, make_image_tree, encode_image, caplog):
    rng = np.random.default_rng(0)
    photo = rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)
    jpeg = encode_image(photo, "JPEG")
    broken_header = jpeg[:4] + bytes(300) + jpeg[304:]  # passes the cheap check, fails decoding
    root = make_image_tree(
        tmp_path,
        {
            "train": {
                "good": [
                    jpeg,
                    encode_image(photo, "JPEG", mode="CMYK"),
                    encode_image(photo, "JPEG", mode="L"),
                    encode_image(photo, "PNG"),  # named .JPEG
                ],
                "bad": [jpeg[:2000], b"<html>Not found</html>", b"", broken_header, jpeg],
            }
        },
    )
    with caplog.at_level(logging.WARNING):
        source = resolve_source(root, "train")
    skipped = dict(source.skipped)
    assert sorted(path.split("/")[-1] for path in skipped) == ["bad_0.JPEG", "bad_1.JPEG", "bad_2.JPEG"]
    assert "truncated" in skipped[str(root / "train" / "bad" / "bad_0.JPEG")]
    assert "Skipping 3 of 9 files" in caplog.text and "bad_1.JPEG" in caplog.text
    assert source.num_examples == 6
    # The undecodable file is dropped inside the pipeline; the epoch completes.
    labels = np.concatenate([y.numpy() for _, y in train_dataset(source, batch_size=1, stats=IMAGENET_STATS)])
    assert sorted(labels.tolist()) == [0, 1, 1, 1, 1]
    evaluated = np.concatenate([y.numpy() for _, y in eval_dataset(source, batch_size=4, stats=IMAGENET_STATS)])
    assert evaluated.tolist() == [0, 1, 1, 1, 1]


def test_a_split_of_only_bad_files_is_an_error(tmp_path, make_image_tree):
    root = make_image_tree(tmp_path, {"train": {"a": [b"junk", b"more junk"]}})
    with pytest.raises(ValueError, match="None of the 2 files"):
        resolve_source(root, "train")


def test_input_context_gives_per_replica_batches_and_shards_files(tmp_path, make_image_tree):
    images = [_solid(v) for v in range(0, 80, 10)]
    root = make_image_tree(tmp_path, {"train": {"a": images[:4], "b": images[4:]}})
    source = resolve_source(root, "train")
    seen = []
    for pipeline in range(2):
        context = tf.distribute.InputContext(2, pipeline, num_replicas_in_sync=2)
        batches = list(
            train_dataset(
                source, batch_size=4, stats=IMAGENET_STATS, seed=1, input_context=context,
                random_crop=False, flip=False, pca_lighting=False,
            )
        )
        assert [tuple(x.shape) for x, _ in batches] == [(2, 227, 227, 3)] * 2
        seen.append(sorted(round(v) for x, _ in batches for v in x.numpy()[:, 0, 0, 0] + IMAGENET_STATS.mean_rgb[0]))
    assert sorted(seen[0] + seen[1]) == list(range(0, 80, 10))
    assert not set(seen[0]) & set(seen[1])


def test_distribute_datasets_from_function_on_two_devices(tmp_path, make_image_tree):
    root = make_image_tree(tmp_path, {"train": {"a": [_solid(1)] * 4, "b": [_solid(2)] * 4}})
    source = resolve_source(root, "train")
    strategy = tf.distribute.MirroredStrategy(["/CPU:0", "/CPU:1"])
    distributed = strategy.distribute_datasets_from_function(
        lambda context: train_dataset(source, batch_size=4, stats=IMAGENET_STATS, input_context=context)
    )
    images, labels = next(iter(distributed))
    shapes = [tuple(t.shape) for t in strategy.experimental_local_results(images)]
    assert shapes == [(2, 227, 227, 3), (2, 227, 227, 3)]
