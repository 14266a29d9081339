"""A whole training run on a small learnable data set: it learns, and its model directory
holds what serving and evaluation need."""

import json

import keras
import numpy as np
import pytest

from alexnet_tf.data import IMAGENET_STATS, load_stats, read_labels, resolve_source
from alexnet_tf.training import ModelDir, TrainConfig, load_config, prepare_training
from alexnet_tf.training.evaluation import evaluate_model_dir
from tools import evaluate as evaluate_tool

EPOCHS = 6


def he_initialize(model: keras.Model, seed: int = 0) -> None:
    """He-scaled kernels and zero biases: a tiny AlexNet barely learns from the paper's
    N(0, 0.01) in a few steps (the signal fades through its narrow layers). conv1 is
    scaled down for inputs of about +-100."""
    rng = np.random.default_rng(seed)
    for weight in model.trainable_weights:
        shape = tuple(weight.shape)
        if len(shape) == 1:
            weight.assign(np.zeros(shape, "float32"))
            continue
        scale = np.sqrt(2 / np.prod(shape[:-1])) / (100 if "conv1" in weight.path else 1)
        weight.assign(rng.normal(0, scale, shape).astype("float32"))


@pytest.fixture(scope="module")
def trained(learnable_image_dir, tmp_path_factory):
    config = TrainConfig(
        data_dir=str(learnable_image_dir),
        model_dir=str(tmp_path_factory.mktemp("run") / "model"),
        width_multiplier=0.0625,
        image_size=72,
        crop_size=67,
        batch_size=16,
        epochs=EPOCHS,
        learning_rate=0.001,
        checkpoint_steps=0,
        seed=0,
        # The paper's towers on two of the conftest's logical CPUs. (Mirrored steps are
        # tested in test_training_distributed.py; mirrored strategies over different
        # device sets cannot train in one process: their collectives share group keys.)
        strategy="towers",
    )
    run = prepare_training(config)
    he_initialize(run.model)
    run.fit(verbose=0)
    return run


def test_a_small_network_learns_the_generated_data(trained):
    history = trained.history
    assert len(history) == EPOCHS
    assert history[-1]["loss"] < history[0]["loss"] / 3
    assert history[-1]["loss"] < np.log(4)  # better than a uniform guess
    assert min(epoch["val_top1_error"] for epoch in history) <= 0.2  # chance: 0.75
    assert trained.distribution.tower_devices == ("/device:CPU:0", "/device:CPU:1")


def test_the_model_directory_holds_the_serving_contract(trained, learnable_image_dir):
    paths = ModelDir(trained.config.model_dir)
    assert read_labels(paths.root) == [f"pattern {k}" for k in range(4)]
    assert (paths.root / "classes.txt").read_text().split() == [f"class_{k}" for k in range(4)]
    assert load_stats(paths.root) == IMAGENET_STATS  # the data has none: the fallback used
    assert load_config(paths.root) == trained.config
    assert trained.config.seed == 0 and trained.config.steps_per_epoch == 8
    run_facts = json.loads(paths.config.read_text())["run"]
    assert run_facts["train_examples"] == 128 and run_facts["replicas"] == trained.distribution.num_replicas

    records = json.loads((paths.history / "history.json").read_text())
    assert [record["epoch"] for record in records] == list(range(EPOCHS))
    assert {"loss", "top1_error", "top5_error", "val_top1_error", "learning_rate"} <= set(records[0])
    assert len((paths.history / "history.csv").read_text().splitlines()) == EPOCHS + 1
    assert list((paths.tensorboard / "train").glob("events.out.tfevents.*"))
    assert list((paths.tensorboard / "validation").glob("events.out.tfevents.*"))
    assert (paths.checkpoints / "checkpoint").is_file()

    # model.keras is the epoch with the lowest validation top-1 error (the first such).
    best = min(records, key=lambda record: record["val_top1_error"])
    model = keras.saving.load_model(paths.model, compile=False)
    assert model.count_params() == trained.model.count_params()
    assert model.get_layer("conv1").tower_devices is None  # loads on any machine
    result = evaluate_model_dir(paths.root, resolve_source(learnable_image_dir, "val"), crops=["center"])
    assert result["center"]["top1_error"] == pytest.approx(best["val_top1_error"])
    assert result["center"]["loss"] == pytest.approx(best["val_loss"], rel=1e-4)


def test_evaluate_tool_reports_centre_and_ten_crop_errors(trained, learnable_image_dir, tmp_path, capsys):
    model_dir = trained.config.model_dir
    by_split = tmp_path / "split.json"
    by_folder = tmp_path / "folder.json"
    assert evaluate_tool.main(["--model-dir", model_dir, "--data-dir", str(learnable_image_dir), "--output", str(by_split)]) == 0
    folder = ["--images", str(learnable_image_dir / "val"), "--crops", "center", "--output", str(by_folder)]
    assert evaluate_tool.main(["--model-dir", model_dir, *folder]) == 0
    results = json.loads(by_split.read_text())
    assert json.loads(by_folder.read_text()) == {"center": results["center"]}
    assert set(results) == {"center", "ten"}
    assert results["center"]["examples"] == results["ten"]["examples"] == 32
    assert results["ten"]["top1_error"] <= 0.25
    printed = capsys.readouterr().out
    assert "top-1 error" in printed and "ten" in printed


def test_evaluate_tool_refuses_data_with_other_classes(trained, tmp_path, capsys):
    from conftest import write_learnable_images

    other = write_learnable_images(tmp_path / "other", classes=3, train_per_class=2, val_per_class=2)
    assert evaluate_tool.main(["--model-dir", trained.config.model_dir, "--data-dir", str(other)]) == 1
    assert "classes" in capsys.readouterr().err
