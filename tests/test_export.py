"""Export: the SavedModel's serving signatures and the Triton model repository layout."""

import json

import numpy as np
import pytest
import tensorflow as tf

import alexnet_tf
from alexnet_tf.data.labels import read_labels
from alexnet_tf.data.preprocessing import eval_preprocess
from alexnet_tf.data.stats import DatasetStats, load_stats, save_stats
from alexnet_tf.export import (
    SIGNATURE_ENCODED,
    SIGNATURE_ENCODED_TEN_CROP,
    SIGNATURE_IMAGES,
    ServingConfig,
    export_to_triton,
    model_versions,
    preprocessing_sizes,
    render_config,
    save_serving_model,
)
from tools import export as export_tool

INPUT_SIZE = 67
LABELS = ["cat", "dog", "car", "ship", "tree"]
# A distinctive mean, so that a missing or wrong mean subtraction changes the outputs.
STATS = DatasetStats(
    mean_rgb=(100.0, 120.0, 80.0),
    eigenvalues=(0.2, 0.02, 0.005),
    eigenvectors=((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0)),
)


def noise(height: int, width: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def model(discriminative_alexnet):
    return discriminative_alexnet()


@pytest.fixture(scope="module")
def savedmodel(model, tmp_path_factory):
    path = save_serving_model(
        model, tmp_path_factory.mktemp("export") / "model.savedmodel", stats=STATS, labels=LABELS
    )
    return path, tf.saved_model.load(str(path))


def test_preprocessing_sizes_keep_the_paper_ratio():
    assert preprocessing_sizes(227) == (256, 227)
    assert preprocessing_sizes(INPUT_SIZE) == (76, 67)


def test_tensor_signature_equals_the_keras_model(model, savedmodel):
    _, loaded = savedmodel
    images = np.random.default_rng(0).normal(0, 60, (3, INPUT_SIZE, INPUT_SIZE, 3)).astype("float32")
    outputs = loaded.signatures[SIGNATURE_IMAGES](images=tf.constant(images))
    expected_probabilities = alexnet_tf.probability_model(model)([images], training=False)
    expected_features = alexnet_tf.feature_model(model)([images], training=False)
    np.testing.assert_allclose(outputs["probabilities"], expected_probabilities, atol=1e-6)
    np.testing.assert_allclose(outputs["features"], expected_features, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(outputs["probabilities"].numpy().sum(axis=1), 1.0, atol=1e-5)


def test_mixed_precision_model_serves_float32_outputs(model, tmp_path):
    mixed = alexnet_tf.build_alexnet(5, width_multiplier=0.0625, input_size=INPUT_SIZE, dtype="mixed_bfloat16")
    mixed.set_weights(model.get_weights())
    path = save_serving_model(mixed, tmp_path / "model.savedmodel", stats=STATS, labels=LABELS)
    images = np.random.default_rng(1).normal(0, 60, (3, INPUT_SIZE, INPUT_SIZE, 3)).astype("float32")
    outputs = tf.saved_model.load(str(path)).signatures[SIGNATURE_IMAGES](images=tf.constant(images))
    assert outputs["probabilities"].dtype == tf.float32 and outputs["features"].dtype == tf.float32
    # The same bfloat16 computation as in-process, and close to the float32 model's.
    mixed_probabilities = alexnet_tf.probability_model(mixed)([images], training=False)
    np.testing.assert_allclose(outputs["probabilities"], mixed_probabilities, atol=1e-6)
    float32_probabilities = alexnet_tf.probability_model(model)([images], training=False)
    np.testing.assert_allclose(outputs["probabilities"], float32_probabilities, atol=0.05)
    assert not np.allclose(outputs["probabilities"], float32_probabilities, atol=1e-6)


def test_encoded_signature_crops_the_centre_and_subtracts_the_mean(savedmodel, encode_image):
    # A PNG already of the rescaled size is not resized, so the model must see exactly
    # its central 67x67 crop (offset (76 - 67) // 2 = 4) minus the mean.
    _, loaded = savedmodel
    pixels = noise(76, 76, seed=1)
    png = encode_image(pixels, "PNG")
    expected_input = pixels[4:71, 4:71].astype("float32") - np.float32(STATS.mean_rgb)
    served = loaded.signatures[SIGNATURE_ENCODED](encoded=tf.constant([png]))
    direct = loaded.signatures[SIGNATURE_IMAGES](images=tf.constant(expected_input[None]))
    np.testing.assert_allclose(served["probabilities"], direct["probabilities"], atol=1e-6)
    np.testing.assert_allclose(served["features"], direct["features"], rtol=1e-5, atol=1e-5)


def test_ten_crop_signature_averages_the_ten_views(model, savedmodel, encode_image):
    _, loaded = savedmodel
    images = [encode_image(noise(90, 120, seed=2), "JPEG"), encode_image(noise(80, 70, seed=3), "PNG")]
    served = loaded.signatures[SIGNATURE_ENCODED_TEN_CROP](encoded=tf.constant(images))
    probability_model = alexnet_tf.probability_model(model)
    for row, image in enumerate(images):
        views = eval_preprocess(tf.constant(image), STATS, "ten", 76, INPUT_SIZE)
        expected = probability_model([views], training=False).numpy().mean(axis=0)
        np.testing.assert_allclose(served["probabilities"][row], expected, atol=1e-6)
    centre = loaded.signatures[SIGNATURE_ENCODED](encoded=tf.constant(images))
    assert not np.allclose(centre["probabilities"], served["probabilities"], atol=1e-3)


def test_encoded_signature_rejects_bytes_that_are_not_an_image(savedmodel):
    _, loaded = savedmodel
    with pytest.raises(tf.errors.InvalidArgumentError, match="image"):
        loaded.signatures[SIGNATURE_ENCODED](encoded=tf.constant([b"not an image"]))


def test_labels_and_statistics_travel_with_the_savedmodel(savedmodel):
    path, _ = savedmodel
    assert read_labels(path / "assets.extra" / "labels.txt") == LABELS
    assert load_stats(path / "assets.extra") == STATS


def test_labels_must_name_every_class(model, tmp_path):
    with pytest.raises(ValueError, match="Received: len\\(labels\\)=2"):
        save_serving_model(model, tmp_path / "m", stats=STATS, labels=["a", "b"])


def test_render_config_fills_the_template():
    text = render_config(
        "alexnet",
        ServingConfig(max_batch_size=32, instance_count=3, instance_kind="gpu", crop="ten",
                      version_policy="all", max_queue_delay_microseconds=500),
        input_size=227,
        num_classes=1000,
        feature_size=4096,
    )
    assert 'name: "alexnet"' in text
    assert "max_batch_size: 32" in text
    assert "count: 3" in text and "kind: KIND_GPU" in text
    assert "dims: [ 227, 227, 3 ]" in text and "dims: [ 1000 ]" in text and "dims: [ 4096 ]" in text
    assert 'label_filename: "labels.txt"' in text
    assert "version_policy: { all: {} }" in text
    assert "max_queue_delay_microseconds: 500" in text
    assert 'string_value: "ten"' in text
    assert "$" not in text


@pytest.mark.parametrize(
    "field, value",
    [("instance_kind", "tpu"), ("crop", "five"), ("max_batch_size", 0), ("version_policy", "x")],
)
def test_serving_config_rejects_bad_settings(field, value):
    with pytest.raises(ValueError, match=f"Received: {field}="):
        ServingConfig(**{field: value})


def test_reexport_adds_a_version_and_leaves_the_old_one_untouched(
    model, tmp_path, discriminative_alexnet, tree_digest
):
    repository = tmp_path / "repository"
    first = export_to_triton(model, repository, labels=LABELS, stats=STATS)
    assert first == repository / "alexnet" / "1"
    digest = tree_digest(first)
    second = export_to_triton(
        discriminative_alexnet(seed=1), repository, labels=LABELS, stats=STATS,
        serving=ServingConfig(instance_count=2),
    )
    assert second == repository / "alexnet" / "2"
    assert model_versions(repository / "alexnet") == [1, 2]
    assert tree_digest(first) == digest
    for version in (first, second):
        assert (version / "model.py").is_file()
        assert (version / "model.savedmodel" / "saved_model.pb").is_file()
    assert read_labels(repository / "alexnet" / "labels.txt") == LABELS
    assert "count: 2" in (repository / "alexnet" / "config.pbtxt").read_text()
    assert sorted(p.name for p in (repository / "alexnet").iterdir()) == [
        "1", "2", "config.pbtxt", "labels.txt"
    ]


def test_reexport_refuses_another_interface_under_the_same_name(
    model, tmp_path, discriminative_alexnet
):
    export_to_triton(model, tmp_path, labels=LABELS, stats=STATS)
    with pytest.raises(ValueError, match="other tensor shapes"):
        export_to_triton(discriminative_alexnet(num_classes=3), tmp_path, labels=LABELS[:3], stats=STATS)
    with pytest.raises(ValueError, match="other labels"):
        export_to_triton(model, tmp_path, labels=[*LABELS[:4], "bus"], stats=STATS)
    assert model_versions(tmp_path / "alexnet") == [1]


def test_export_tool_exports_a_trained_model_directory(model, tmp_path):
    model_dir = tmp_path / "run"
    model_dir.mkdir()
    model.save(model_dir / "model.keras")
    (model_dir / "labels.txt").write_text("".join(f"{label}\n" for label in LABELS))
    save_stats(STATS, model_dir)
    (model_dir / "config.json").write_text(json.dumps({"epochs": 90}))
    repository = tmp_path / "repository"

    code = export_tool.main(
        ["--model-dir", str(model_dir), "--repository", str(repository), "--model-name", "paper",
         "--crop", "ten", "--max-batch-size", "8"]
    )

    assert code == 0
    version = repository / "paper" / "1"
    assert json.loads((version / "model.savedmodel" / "assets.extra" / "config.json").read_text()) == {
        "epochs": 90
    }
    config = (repository / "paper" / "config.pbtxt").read_text()
    assert 'string_value: "ten"' in config and "max_batch_size: 8" in config
    loaded = tf.saved_model.load(str(version / "model.savedmodel"))
    images = np.zeros((1, INPUT_SIZE, INPUT_SIZE, 3), "float32")
    np.testing.assert_allclose(
        loaded.signatures[SIGNATURE_IMAGES](images=tf.constant(images))["probabilities"],
        alexnet_tf.probability_model(model)([images]),
        atol=1e-6,
    )
