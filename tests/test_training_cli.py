"""tools/train.py and the early checks of a run: configuration, data, devices, model directory."""

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest

from alexnet_tf.data import IMAGENET_STATS, save_stats
from alexnet_tf.training import TrainConfig, load_config, prepare_training, save_config
from alexnet_tf.training.outputs import saved_config
from tools import train

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def train_tool():
    return train


def _config(data_dir, model_dir, **changes) -> TrainConfig:
    return TrainConfig(
        data_dir=str(data_dir), model_dir=str(model_dir), width_multiplier=0.0625,
        image_size=72, crop_size=67, batch_size=16, **changes,
    )


def test_flags_override_a_config_file_and_defaults_are_the_papers(train_tool, tmp_path):
    parser = train_tool.build_parser()
    config = train_tool.config_from_args(parser.parse_args(["--data-dir", "d", "--model-dir", "m"]))
    assert config == TrainConfig(data_dir="d", model_dir="m")
    assert (config.batch_size, config.learning_rate, config.momentum, config.weight_decay, config.epochs) == (
        128, 0.01, 0.9, 0.0005, 90
    )
    saved = TrainConfig(data_dir="d", model_dir="m", epochs=5, seed=3, dtype="bfloat16", flip=False)
    save_config(saved, tmp_path)
    args = parser.parse_args(
        ["--config", str(tmp_path / "config.json"), "--model-dir", "again", "--epochs", "7",
         "--validation-split", "none", "--schedule", "cosine", "--no-pca-lighting"]
    )
    config = train_tool.config_from_args(args)
    assert config == saved.replace(
        model_dir="again", epochs=7, validation_split=None, schedule="cosine", pca_lighting=False
    )


def test_the_tool_needs_data_and_model_directories(train_tool):
    with pytest.raises(ValueError, match="--data-dir"):
        train_tool.config_from_args(train_tool.build_parser().parse_args(["--model-dir", "m"]))


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"dtype": "float64"}, "dtype"),
        ({"batch_size": 0}, "batch_size"),
        ({"warmup_epochs": 2}, "cosine"),
        ({"learning_rate": 0.0}, "learning_rate"),
        ({"strategy": "towers", "towers": 1}, "towers=2"),
    ],
)
def test_invalid_settings_are_refused_with_the_value(changes, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(data_dir="d", model_dir="m", **changes)


def test_missing_data_is_an_early_error(train_tool, tmp_path, capsys):
    code = train_tool.main(["--data-dir", str(tmp_path / "nowhere"), "--model-dir", str(tmp_path / "m")])
    assert code == 1
    assert "data directory does not exist" in capsys.readouterr().err
    assert not (tmp_path / "m").exists()


def test_a_missing_validation_split_names_the_way_out(learnable_image_dir, tmp_path):
    with pytest.raises(FileNotFoundError, match="--validation-split none"):
        prepare_training(_config(learnable_image_dir, tmp_path / "m", validation_split="test"))


def test_empty_data_is_an_early_error(tmp_path):
    (tmp_path / "data" / "train" / "class_0").mkdir(parents=True)
    with pytest.raises(ValueError, match="empty"):
        prepare_training(_config(tmp_path / "data", tmp_path / "m"))


def test_a_batch_that_does_not_split_over_the_replicas_is_an_early_error(learnable_image_dir, tmp_path):
    # The conftest's logical CPUs make "auto" mirror over several replicas.
    with pytest.raises(ValueError, match="divisible"):
        prepare_training(_config(learnable_image_dir, tmp_path / "m").replace(batch_size=17))


def test_a_model_directory_of_another_run_is_refused(learnable_image_dir, tmp_path):
    model_dir = tmp_path / "m"
    earlier = _config(learnable_image_dir, model_dir, seed=1, num_classes=4, steps_per_epoch=8)
    run_stats = dataclasses.replace(IMAGENET_STATS, mean_rgb=(100.0, 110.0, 120.0))
    save_stats(run_stats, model_dir)
    save_config(earlier.replace(width_multiplier=0.125, dropout=0.3), model_dir)
    with pytest.raises(ValueError, match=r"dropout: 0\.3 -> 0\.5, width_multiplier: 0\.125 -> 0\.0625"):
        prepare_training(_config(learnable_image_dir, model_dir))
    # Settings that only say how long or where to train may change.
    save_config(earlier.replace(epochs=3, strategy="towers", checkpoint_steps=7), model_dir)
    run = prepare_training(_config(learnable_image_dir, model_dir, epochs=5))
    assert run.config.seed == 1  # taken from the saved run
    assert run.inputs.stats == run_stats  # the run's own, not the data directory's
    assert load_config(model_dir).epochs == 5


def test_a_folder_that_is_not_a_model_directory_is_refused(learnable_image_dir, tmp_path):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="not empty"):
        prepare_training(_config(learnable_image_dir, tmp_path / "m"))


def test_only_the_chief_refuses_a_folder_a_starting_run_is_being_written_to(tmp_path):
    # What another worker sees while the chief writes a new run's files, config.json last.
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "labels.txt").write_text("a\nb\n")
    with pytest.raises(ValueError, match="not empty"):
        saved_config(tmp_path / "m")
    assert saved_config(tmp_path / "m", strict=False) is None
    save_config(TrainConfig(data_dir="d", model_dir=str(tmp_path / "m"), seed=4), tmp_path / "m")
    assert saved_config(tmp_path / "m", strict=False).seed == 4


def test_multiworker_without_a_cluster_is_an_early_error(train_tool, learnable_image_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    code = train_tool.main(
        ["--data-dir", str(learnable_image_dir), "--model-dir", str(tmp_path / "m"), "--strategy", "multiworker"]
    )
    assert code == 1
    assert "TF_CONFIG" in capsys.readouterr().err


def test_towers_on_one_device_is_an_early_error(learnable_image_dir, tmp_path):
    # A fresh process: one CPU device unless --virtual-devices splits it.
    command = [
        sys.executable, str(ROOT / "tools" / "train.py"), "--data-dir", str(learnable_image_dir),
        "--model-dir", str(tmp_path / "m"), "--strategy", "towers",
    ]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert result.returncode == 1
    assert "--virtual-devices 2" in result.stderr and "Received: strategy='towers'" in result.stderr
    assert not (tmp_path / "m" / "config.json").exists()
