"""Tests of alexnet_tf.demo and tools/demo.py on generated IDX files and a tiny network.

The Triton stage is not run here: starting the real server costs tens of seconds and
tests/test_serving.py covers the server and the client on an exported model.
"""

import gzip
import json

import numpy as np
import pytest

from alexnet_tf import demo
from alexnet_tf.hardware import fastest_dtype
from tools import demo as tool


@pytest.fixture
def idx_dir(tmp_path, encode_idx):
    """Fake Fashion-MNIST: 20 training and 6 test images of 28x28."""
    rng = np.random.default_rng(0)
    folder = tmp_path / "idx"
    folder.mkdir()
    for prefix, labels in {"train": np.arange(20) % 10, "t10k": np.array([9, 0, 3, 3, 1, 7])}.items():
        images = rng.integers(0, 256, (len(labels), 28, 28)).astype(np.uint8)
        (folder / f"{prefix}-images-idx3-ubyte.gz").write_bytes(gzip.compress(encode_idx(images)))
        (folder / f"{prefix}-labels-idx1-ubyte.gz").write_bytes(gzip.compress(encode_idx(labels)))
    return folder


def _tiny(tmp_path, idx_dir, **changes) -> demo.DemoConfig:
    settings = dict(
        work_dir=str(tmp_path / "work"), idx_dir=str(idx_dir), train_images=16, test_images=5,
        stats_images=8, epochs=1, warmup_epochs=0, steps_per_epoch=2, batch_size=4,
        width_multiplier=0.0625, image_size=76, crop_size=67,
    )
    return demo.DemoConfig(**{**settings, **changes})


def test_stages_run_then_reuse_their_outputs(tmp_path, idx_dir):
    config = _tiny(tmp_path, idx_dir)
    assert demo.prepare_data(config, progress=False) == (config.data_dir, True)
    assert len(list((config.data_dir / "train").glob("*/*.jpg"))) == 16
    stats_path, computed = demo.prepare_stats(config, progress=False)
    assert computed and json.loads(stats_path.read_text())["num_images"] == 8

    history = demo.train_model(config, verbose=0)
    assert len(history) == 1
    saved = json.loads((config.model_dir / "config.json").read_text())["training"]
    assert saved["schedule"] == "cosine" and saved["validation_split"] is None
    assert saved["steps_per_epoch"] == 2 and saved["batch_size"] == 4

    results, evaluated = demo.evaluate_model(config)
    assert evaluated and set(results) == {"center", "ten"}
    assert all(result["examples"] == 5 for result in results.values())
    version_dir, exported = demo.export_model(config)
    assert exported and version_dir == config.repository / "alexnet" / "1"

    # A second run reuses every stage's output.
    assert demo.prepare_data(config, progress=False) == (config.data_dir, False)
    assert demo.prepare_stats(config, progress=False) == (stats_path, False)
    assert demo.train_model(config, verbose=0) == []
    assert demo.evaluate_model(config) == (results, False)
    assert demo.export_model(config) == (version_dir, False)

    # More epochs continue the run; the new model is evaluated and exported again.
    longer = _tiny(tmp_path, idx_dir, epochs=2)
    assert len(demo.train_model(longer, verbose=0)) == 1
    assert demo.evaluate_model(longer)[1]
    assert demo.export_model(longer) == (config.repository / "alexnet" / "2", True)


def test_held_out_images_are_the_test_split_with_labels(tmp_path, idx_dir):
    config = _tiny(tmp_path, idx_dir)
    demo.prepare_data(config, progress=False)
    images = demo.held_out_images(config)
    assert [label for _, label in images] == ["Ankle boot", "T-shirt/top", "Dress", "Dress", "Trouser"]
    assert all("/val/" in path for path, _ in images)


def test_served_accuracy_counts_top1_and_errors():
    served = [
        demo.ServedImage("a.jpg", "Bag", [("Bag", 0.9), ("Shirt", 0.1)]),
        demo.ServedImage("b.jpg", "Bag", [("Shirt", 0.6), ("Bag", 0.4)]),
        demo.ServedImage("c.jpg", "Bag", [], error="decode failed"),
        demo.ServedImage("d.jpg", "Coat", [("Coat", 0.5)]),
    ]
    assert demo.served_accuracy(served) == 0.5
    with pytest.raises(ValueError, match="Received: served"):
        demo.served_accuracy([])


def test_tool_says_how_to_get_missing_data(tmp_path, capsys):
    code = tool.main(["--work-dir", str(tmp_path / "work"), "--idx-dir", str(tmp_path / "nothing")])
    assert code == 1
    error = capsys.readouterr().err
    assert "apt-get install dataset-fashion-mnist" in error and "Received: idx_dir=" in error


def test_tool_rejects_bad_settings(tmp_path, capsys):
    assert tool.main(["--work-dir", str(tmp_path), "--batch-size", "0"]) == 1
    assert "Received: batch_size=0" in capsys.readouterr().err


def test_dtype_auto_is_the_hardware_s_fastest_and_others_pass_through(tmp_path, idx_dir):
    assert _tiny(tmp_path, idx_dir).dtype == fastest_dtype()
    assert _tiny(tmp_path, idx_dir).train_config().dtype == fastest_dtype()
    assert _tiny(tmp_path, idx_dir, dtype="float16").train_config().dtype == "float16"
    with pytest.raises(ValueError, match="Received: dtype='half'"):
        _tiny(tmp_path, idx_dir, dtype="half")


def test_default_epochs_follow_the_dtype_and_explicit_epochs_are_kept():
    assert demo.DemoConfig(dtype="bfloat16").epochs == demo.MIXED_PRECISION_EPOCHS == 12
    assert demo.DemoConfig(dtype="float16").train_config().epochs == 12
    assert demo.DemoConfig(dtype="float32").train_config().epochs == demo.FLOAT32_EPOCHS == 8
    assert demo.DemoConfig(dtype="float32", epochs=3).epochs == 3
    assert demo.DemoConfig().epochs == (8 if fastest_dtype() == "float32" else 12)
    assert "(default: 12 in mixed precision, 8 in float32)" in " ".join(tool.build_parser().format_help().split())
