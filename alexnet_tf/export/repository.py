"""Writes an AlexNet model into a Triton model repository, one numbered version at a time.

Layout of `REPO/<name>/` (Triton's Python backend):

    config.pbtxt          inputs, outputs, dynamic batching, instances, version policy
    labels.txt            class labels, for Triton's classification extension
    1/model.py            the Python-backend model (serving/triton_model/model.py)
    1/model.savedmodel/   the SavedModel with its serving signatures
    2/...                 a later export; version 1 is left as it was

`config.pbtxt` and `labels.txt` belong to the model, not to a version, so a new
version must keep the model's interface (input size, classes, fc7 width, labels);
its serving settings (batching, instances, crop, version policy) replace the old ones.
"""

from __future__ import annotations

import dataclasses
import importlib.resources
import os
import re
import shutil
import string
import tempfile
from pathlib import Path
from typing import Sequence

import keras

from alexnet_tf.data.labels import LABELS_FILENAME, read_labels, write_labels
from alexnet_tf.data.stats import DatasetStats
from alexnet_tf.export.savedmodel import save_serving_model
from alexnet_tf.files import write_text_atomically
from alexnet_tf.models import feature_model
from serving import protocol

CONFIG_FILENAME = "config.pbtxt"
MODEL_FILENAME = "model.py"
SAVEDMODEL_DIRNAME = "model.savedmodel"
INSTANCE_KINDS = {"cpu": "KIND_CPU", "gpu": "KIND_GPU"}
VERSION_POLICIES = {"latest": "latest: { num_versions: 1 }", "all": "all: {}"}
CROPS = ("center", "ten")
_TEMPLATE_DIR = "triton_model"


@dataclasses.dataclass(frozen=True)
class ServingConfig:
    """How Triton serves the model: the settings of its `config.pbtxt`.

    Args:
        max_batch_size: int. Largest batch, in images, that one request may carry and
            that the dynamic batcher forms. Defaults to `64`.
        instance_count: int. Model instances (each one a Python-backend process with
            its own TensorFlow). Defaults to `1`.
        instance_kind: str. `"cpu"` or `"gpu"` (one instance set per visible GPU).
            Defaults to `"cpu"`.
        crop: str. Test-time views for encoded images: `"center"` or `"ten"` (the
            paper's 10-crop average). Defaults to `"center"`.
        max_queue_delay_microseconds: int. How long the dynamic batcher waits for more
            requests to join a batch. Defaults to `2000`.
        version_policy: str. `"latest"` serves the newest version only, `"all"` every
            version in the repository. Defaults to `"latest"`.
        threads_per_instance: int. TensorFlow intra-op threads of each instance; `0`
            lets TensorFlow use every core. Defaults to `0`.
    """

    max_batch_size: int = 64
    instance_count: int = 1
    instance_kind: str = "cpu"
    crop: str = "center"
    max_queue_delay_microseconds: int = 2000
    version_policy: str = "latest"
    threads_per_instance: int = 0

    def __post_init__(self):
        for name in ("max_batch_size", "instance_count"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"`{name}` must be a positive integer. Received: {name}={value!r}")
        for name in ("max_queue_delay_microseconds", "threads_per_instance"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(
                    f"`{name}` must be a non-negative integer. Received: {name}={value!r}"
                )
        for name, allowed in (
            ("instance_kind", tuple(INSTANCE_KINDS)),
            ("crop", CROPS),
            ("version_policy", tuple(VERSION_POLICIES)),
        ):
            if getattr(self, name) not in allowed:
                raise ValueError(
                    f"`{name}` must be one of {allowed}. Received: {name}={getattr(self, name)!r}"
                )


def render_config(
    name: str,
    serving: ServingConfig,
    *,
    input_size: int,
    num_classes: int,
    feature_size: int,
) -> str:
    """The text of `config.pbtxt` for a model, from serving/triton_model's template.

    Args:
        name: str. The model's name in the repository.
        serving: ServingConfig. Batching, instances, crop and version policy.
        input_size: int. Side of the model's square input images.
        num_classes: int. Length of the probabilities output.
        feature_size: int. Length of the fc7 features output.
    """
    template = string.Template(_template_file("config.pbtxt.template").read_text())
    return template.substitute(
        name=name,
        image_bytes=protocol.IMAGE_BYTES,
        images=protocol.IMAGES,
        probabilities=protocol.PROBABILITIES,
        features=protocol.FEATURES,
        labels_filename=LABELS_FILENAME,
        input_size=input_size,
        num_classes=num_classes,
        feature_size=feature_size,
        max_batch_size=serving.max_batch_size,
        max_queue_delay_microseconds=serving.max_queue_delay_microseconds,
        instance_count=serving.instance_count,
        instance_kind=INSTANCE_KINDS[serving.instance_kind],
        version_policy=VERSION_POLICIES[serving.version_policy],
        crop=serving.crop,
        threads_per_instance=serving.threads_per_instance,
    )


def model_versions(model_dir: str | os.PathLike) -> list[int]:
    """The version numbers present in a model's repository folder, in increasing order."""
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        return []
    return sorted(int(p.name) for p in model_dir.iterdir() if p.is_dir() and p.name.isdigit())


def export_to_triton(
    model: keras.Model,
    repository: str | os.PathLike,
    *,
    labels: Sequence[str],
    stats: DatasetStats,
    model_name: str = "alexnet",
    serving: ServingConfig | None = None,
    extra_files: Sequence[str | os.PathLike] = (),
) -> Path:
    """Adds `model` to a Triton model repository as a new version.

    The first export of `model_name` creates `REPO/<model_name>/` with version 1;
    each later export adds version N+1 and leaves the existing versions as they were.
    The version folder is written under a temporary name and renamed when complete, so
    a server polling the repository never sees half a version.

    Args:
        model: keras.Model. A model made by `alexnet_tf.build_alexnet`.
        repository: str or Path. The model repository; created when missing.
        labels: sequence of str. One label per class, in class-index order.
        stats: DatasetStats. The training set's statistics (mean subtraction).
        model_name: str. The model's name in the repository. Defaults to `"alexnet"`.
        serving: ServingConfig or None. Serving settings. Defaults to `ServingConfig()`.
        extra_files: sequence of paths. Files to store in the SavedModel's
            `assets.extra/` (e.g. the training `config.json`). Defaults to `()`.

    Returns:
        The new version's folder, `REPO/<model_name>/<N>`.

    Raises:
        ValueError: the repository already holds `model_name` with another input size,
            number of classes, fc7 width or labels.
    """
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", model_name) or model_name.strip(".") == "":
        raise ValueError(
            "`model_name` must be a folder name of letters, digits, '_', '-' and '.'. "
            f"Received: model_name={model_name!r}"
        )
    serving = serving or ServingConfig()
    model_dir = Path(repository) / model_name
    config_text = render_config(
        model_name,
        serving,
        input_size=int(model.input_shape[1]),
        num_classes=int(model.output_shape[-1]),
        feature_size=int(feature_model(model).output_shape[-1]),
    )
    _check_compatible(model_dir, config_text, list(labels))
    model_dir.mkdir(parents=True, exist_ok=True)

    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=model_dir))
    try:
        save_serving_model(
            model, staging / SAVEDMODEL_DIRNAME, stats=stats, labels=labels, extra_files=extra_files
        )
        shutil.copyfile(_template_file(MODEL_FILENAME), staging / MODEL_FILENAME)
        staging.chmod(0o755)
        version_dir = model_dir / str((model_versions(model_dir) or [0])[-1] + 1)
        staging.rename(version_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    write_labels(labels, model_dir / LABELS_FILENAME)
    write_text_atomically(model_dir / CONFIG_FILENAME, config_text)
    return version_dir


def _check_compatible(model_dir: Path, config_text: str, labels: list[str]) -> None:
    config_path = model_dir / CONFIG_FILENAME
    if not config_path.is_file():
        return
    existing, new = _interface(config_path.read_text()), _interface(config_text)
    if existing != new:
        raise ValueError(
            f"{model_dir} already serves a model with other tensor shapes "
            f"(dims {existing}); export this one under another `model_name`. "
            f"Received: dims={new}"
        )
    labels_path = model_dir / LABELS_FILENAME
    if labels_path.is_file() and read_labels(labels_path) != labels:
        raise ValueError(
            f"{model_dir} already serves a model with other labels ({labels_path}); "
            f"export this one under another `model_name`. Received: labels={labels[:5]}..."
        )


def _interface(config_text: str) -> list[str]:
    """The tensor dims a config declares, which every version must match."""
    return [" ".join(dims.split()) for dims in re.findall(r"dims: \[([^\]]*)\]", config_text)]


def _template_file(name: str) -> Path:
    return Path(str(importlib.resources.files("serving") / _TEMPLATE_DIR / name))
