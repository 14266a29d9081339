"""Tests of the TFRecord format, tools/build_tfrecords.py, and reading shards back."""

import json

import numpy as np
import pytest
import tensorflow as tf

from alexnet_tf.data import IMAGENET_STATS, eval_dataset, resolve_source, train_dataset
from alexnet_tf.data import features, sources
from alexnet_tf.data.tfrecord_writer import convert_data_dir
from tools import build_tfrecords


@pytest.fixture
def tree(tmp_path, make_image_tree, encode_image):
    rng = np.random.default_rng(0)

    def photo(height, width):
        smooth = tf.image.resize(rng.uniform(0, 255, (6, 6, 3)), (height, width)).numpy()
        return smooth.astype(np.uint8)

    return make_image_tree(
        tmp_path / "data",
        {
            "train": {
                "n01": [photo(256, 256), photo(300, 400)],
                "n02": [photo(256, 256), encode_image(photo(280, 260), "PNG"), b"not an image"],
                "n03": [photo(400, 300)],
            },
            "val": {"n01": [photo(256, 300)], "n03": [photo(256, 256)]},
        },
        fmt="JPEG",
    )


def _records(pattern):
    dataset = tf.data.TFRecordDataset(sorted(tf.io.gfile.glob(str(pattern)))).map(features.decode_example)
    return list(dataset.as_numpy_iterator())


def test_round_trip_stores_original_bytes_and_labels(tree, tmp_path):
    infos = convert_data_dir(tree, tmp_path / "records", shards=2, image_size=None)
    records = _records(tmp_path / "records" / "train-*-of-00002.tfrecord")
    source = resolve_source(tree, "train")
    expected = {path.split("/")[-1]: (open(path, "rb").read(), label) for path, label in zip(source.files, source.labels)}
    assert len(records) == len(expected) == 5
    for record in records:
        name = record[features.FILENAME_KEY].decode()
        assert (record[features.ENCODED_KEY], record[features.LABEL_KEY]) == expected[name]
        assert record[features.SYNSET_KEY].decode() == ["n01", "n02", "n03"][record[features.LABEL_KEY]]
        image = tf.io.decode_image(record[features.ENCODED_KEY])
        assert (record[features.HEIGHT_KEY], record[features.WIDTH_KEY]) == tuple(image.shape[:2])
    assert {r[features.FORMAT_KEY] for r in records} == {b"JPEG", b"PNG"}
    assert infos["train"]["num_examples"] == 5 and infos["val"]["num_examples"] == 2
    assert list(infos["train"]["skipped"]) == [str(tree / "train" / "n02" / "n02_2.JPEG")]
    assert (tmp_path / "records" / "classes.txt").read_text() == "n01\nn02\nn03\n"
    assert (tmp_path / "records" / "labels.txt").read_text() == "n01\nn02\nn03\n"


def _sorted_eval(source):
    images, labels = zip(*[(x.numpy(), y.numpy()) for x, y in eval_dataset(source, batch_size=8, stats=IMAGENET_STATS)])
    images, labels = np.concatenate(images), np.concatenate(labels)
    order = np.lexsort((images.sum(axis=(1, 2, 3)), labels))
    return images[order], labels[order]


def test_folders_and_their_tfrecords_give_the_same_examples(tree, tmp_path):
    convert_data_dir(tree, tmp_path / "original", shards=2, image_size=None)
    convert_data_dir(tree, tmp_path / "resized", shards=3)
    folder_images, folder_labels = _sorted_eval(resolve_source(tree, "train"))
    original_images, original_labels = _sorted_eval(resolve_source(tmp_path / "original", "train"))
    np.testing.assert_array_equal(original_labels, folder_labels)
    np.testing.assert_array_equal(original_images, folder_images)
    # Pre-resized shards hold 256x256 JPEGs: the same images up to JPEG re-encoding.
    resized_source = resolve_source(tmp_path / "resized", "train")
    assert resized_source.num_examples == 5 and resized_source.class_names == ("n01", "n02", "n03")
    records = _records(tmp_path / "resized" / "train-*.tfrecord")
    assert {(r[features.HEIGHT_KEY], r[features.WIDTH_KEY], r[features.FORMAT_KEY]) for r in records} == {(256, 256, b"JPEG")}
    kept = {r[features.FILENAME_KEY].decode(): r[features.ENCODED_KEY] for r in records}
    for name in ("n01_0.JPEG", "n02_0.JPEG"):  # 256x256 JPEGs are stored unchanged
        assert kept[name] == (tree / "train" / name[:3] / name).read_bytes()
    assert kept["n01_1.JPEG"] != (tree / "train" / "n01" / "n01_1.JPEG").read_bytes()
    resized_images, resized_labels = _sorted_eval(resized_source)
    np.testing.assert_array_equal(resized_labels, folder_labels)
    assert np.abs(resized_images - folder_images).mean() < 1.5


def test_training_from_pre_resized_shards_decodes_the_same_crop(tree, tmp_path):
    convert_data_dir(tree, tmp_path / "resized", shards=2)
    options = dict(batch_size=5, stats=IMAGENET_STATS, random_crop=False, flip=False, pca_lighting=False)
    trained = next(iter(train_dataset(resolve_source(tmp_path / "resized", "train"), seed=0, **options)))
    evaluated = next(iter(eval_dataset(resolve_source(tmp_path / "resized", "train"), batch_size=5, stats=IMAGENET_STATS)))
    order_t, order_e = np.argsort(trained[0].numpy().sum((1, 2, 3))), np.argsort(evaluated[0].numpy().sum((1, 2, 3)))
    np.testing.assert_array_equal(trained[1].numpy()[order_t], evaluated[1].numpy()[order_e])
    difference = np.abs(trained[0].numpy()[order_t] - evaluated[0].numpy()[order_e])
    assert difference.mean() < 0.5 and difference.max() <= 12


def _write_records(path, labels, encoded):
    with tf.io.TFRecordWriter(str(path)) as writer:
        for label in labels:
            example = tf.train.Example(features=tf.train.Features(feature={
                features.ENCODED_KEY: tf.train.Feature(bytes_list=tf.train.BytesList(value=[encoded])),
                features.LABEL_KEY: tf.train.Feature(int64_list=tf.train.Int64List(value=[label])),
            }))
            writer.write(example.SerializeToString())


def test_third_party_shards_with_only_the_required_keys(tmp_path, encode_image):
    encoded = encode_image(np.full((260, 300, 3), 7, np.uint8), "JPEG")
    _write_records(tmp_path / "part-0", [0, 1, 2], encoded)
    _write_records(tmp_path / "part-1", [1], encoded)
    record = features.decode_example(open(tmp_path / "part-1", "rb").read()[12:-4])
    assert record[features.HEIGHT_KEY] == -1 and record[features.FILENAME_KEY] == b""
    labels = [y.numpy() for _, y in eval_dataset(str(tmp_path / "part-*"), batch_size=10, stats=IMAGENET_STATS)]
    assert sorted(np.concatenate(labels).tolist()) == [0, 1, 1, 2]
    # Labels are checked before training: with info (max_label) or by reading the labels.
    with pytest.raises(ValueError, match=r"Labels must lie in \[0, 2\) .*labels in \[0, 2\]"):
        train_dataset(str(tmp_path / "part-*"), batch_size=2, stats=IMAGENET_STATS, num_classes=2)


def test_label_out_of_range_from_the_info_file(tree, tmp_path):
    convert_data_dir(tree, tmp_path / "records", splits=["train"], shards=1)
    (tmp_path / "records" / "classes.txt").write_text("n01\nn02\n")
    with pytest.raises(ValueError, match=r"Labels must lie in \[0, 2\).*Received: num_classes=2"):
        train_dataset(resolve_source(tmp_path / "records", "train"), batch_size=2, stats=IMAGENET_STATS)
    info = json.loads(sources.split_info_path(tmp_path / "records", "train").read_text())
    assert info["max_label"] == 2 and info["num_shards"] == 1


def test_build_tfrecords_tool(tree, tmp_path, capsys):
    out = tmp_path / "records"
    argv = ["--data-dir", str(tree), "--out", str(out), "--shards", "3", "--shards", "val=1", "--workers", "2"]
    assert build_tfrecords.main(argv) == 0
    printed = capsys.readouterr().out
    assert "train: 5 examples in 3 shards, 1 skipped" in printed
    assert "skipped " + str(tree / "train" / "n02" / "n02_2.JPEG") + ": not an image" in printed
    assert "val: 2 examples in 1 shards" in printed
    assert len(list(out.glob("train-*-of-00003.tfrecord"))) == 3
    assert [p.name for p in out.glob("val-0*")] == ["val-00000-of-00001.tfrecord"]
    assert build_tfrecords.main(["--data-dir", str(tmp_path / "nothing"), "--out", str(out)]) == 1
    assert "Cannot tell the classes" in capsys.readouterr().err
