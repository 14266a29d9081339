"""Exports a trained model directory (the training run's output) to a Triton repository."""

from __future__ import annotations

import os
from pathlib import Path

import keras

from alexnet_tf.data.labels import read_labels
from alexnet_tf.data.stats import load_stats
from alexnet_tf.export.repository import ServingConfig, export_to_triton

KERAS_MODEL_FILENAME = "model.keras"
TRAINING_CONFIG_FILENAME = "config.json"


def export_model_dir(
    model_dir: str | os.PathLike,
    repository: str | os.PathLike,
    *,
    model_name: str = "alexnet",
    serving: ServingConfig | None = None,
) -> Path:
    """Exports the model of a training run as a new version in a Triton repository.

    `model_dir` holds `model.keras`, `labels.txt`, `dataset_stats.json` and
    `config.json` (the resolved training configuration), as training writes them. The
    labels and statistics travel into the repository; `config.json` is stored in the
    SavedModel's `assets.extra/`.

    Args:
        model_dir: str or Path. The trained model directory.
        repository: str or Path. The Triton model repository.
        model_name: str. The model's name in the repository. Defaults to `"alexnet"`.
        serving: ServingConfig or None. Serving settings. Defaults to `ServingConfig()`.

    Returns:
        The new version's folder, `REPO/<model_name>/<N>`.
    """
    model_dir = Path(model_dir)
    model_path = model_dir / KERAS_MODEL_FILENAME
    if not model_path.is_file():
        raise FileNotFoundError(
            f"No {KERAS_MODEL_FILENAME} in the model directory. Received: model_dir={model_dir}"
        )
    model = keras.saving.load_model(model_path, compile=False)
    training_config = model_dir / TRAINING_CONFIG_FILENAME
    return export_to_triton(
        model,
        repository,
        labels=read_labels(model_dir),
        stats=load_stats(model_dir),
        model_name=model_name,
        serving=serving,
        extra_files=[training_config] if training_config.is_file() else [],
    )
