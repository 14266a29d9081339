"""The main job end to end on real images: Fashion-MNIST to served predictions.

`tools/demo.py` (and `make demo`) runs these stages in order, each a small function
that reuses what an earlier run of the demo left in the work folder:

1. `prepare_data`: Debian's Fashion-MNIST IDX files -> ImageNet-layout JPEG folders
   (`alexnet_tf.data.fashion_mnist`); the test set becomes `val/`, the held-out images.
2. `prepare_stats`: the training images' mean and RGB principal components.
3. `train_model`: the paper's full two-tower network at 227x227, trained for a bounded
   number of steps (`alexnet_tf.training`; an interrupted run resumes).
4. `evaluate_model`: top-1/top-5 error on the held-out images, centre crop and 10 crops.
5. `export_model`: a Triton model repository (`alexnet_tf.export`).
6. `serve_and_classify`: the real Triton server on free 127.0.0.1 ports, the held-out
   images classified through the gRPC client (`serving`), the server stopped.

The demo's recipe (`DemoConfig`) is a time-bounded recipe for a 2-core CPU, not the
paper's 90-epoch schedule: the paper's network and initialization (N(0, 0.01), biases
1 in conv2, conv4, conv5, fc6, fc7), optimizer (SGD, momentum 0.9, coupled weight decay
0.0005) and augmentations (random 227x227 crops, reflections, PCA lighting), but
batches of 32 for 1,080 steps (34,560 images, about 0.6 epoch of the 60,000), the
learning rate warmed up linearly over the first 90 steps to 0.005 and then decayed to 0
on a cosine, dropout off (a regularizer that only slows a run this short; the paper's
0.5 reached 79.0% instead of 80.8% after 720 steps), bfloat16 mixed precision where the
hardware multiplies bfloat16 natively (1.4-1.7x faster steps on an AVX512_BF16 CPU), no
validation during training, the last model kept.

Why not the paper's 0.01 from the first step: with the paper's initialization the fc7
features of all images are nearly the same vector, dominated by the biases of 1
(measured on Fashion-MNIST: |h|^2 about 7,600 per image, almost all of it the mean), so
fc8 sees a curvature of about |h|^2 p(1 - p) along that direction, which with 10
classes (p = 0.1) is about 100 times ImageNet's. By that estimate SGD with momentum 0.9
is stable there only below a learning rate of roughly 0.003-0.006 (dropout doubles
|h|^2); at 0.01 the loss jumps from 2.3 to 15 within five steps and the network stays
at chance for about 150 steps while it recovers. The warm-up avoids the jump, and by
the time the rate reaches 0.005 the features have started to differ between images.

Example:

```python
from alexnet_tf import demo

config = demo.DemoConfig(work_dir="runs/demo")
data_dir = demo.prepare_data(config)
```
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from pathlib import Path

from alexnet_tf.data import fashion_mnist
from alexnet_tf.data.pixel_statistics import compute_stats
from alexnet_tf.data.sources import class_names, resolve_source
from alexnet_tf.data.stats import STATS_FILENAME, save_stats
from alexnet_tf.files import write_text_atomically
from alexnet_tf.hardware import fastest_dtype
from alexnet_tf.training import TrainConfig, prepare_training
from alexnet_tf.training.config import DTYPES
from alexnet_tf.training.evaluation import evaluate_model_dir
from alexnet_tf.training.outputs import ModelDir

logger = logging.getLogger(__name__)

DATA_MARKER = "demo_data.json"
EVALUATION_FILENAME = "evaluation.json"
EXPORT_MARKER = "demo_export.json"
SERVED_FILENAME = "served.json"
# Demo epochs by compute dtype: bfloat16 steps take 0.6 of float32's on a CPU with
# AVX512_BF16 (0.44 vs 0.74 s per step of 32 measured), so mixed precision trains 1.5x
# longer in about the same time.
MIXED_PRECISION_EPOCHS = 12
FLOAT32_EPOCHS = 8


@dataclasses.dataclass(frozen=True)
class DemoConfig:
    """Everything the demo does, with the recipe measured to fit the time budget.

    Args:
        work_dir: str. Folder of everything the demo writes: `data/`, `model/`,
            `model_repository/`, `evaluation.json`, `served.json`.
            Defaults to `"runs/demo"`.
        idx_dir: str. Folder of Fashion-MNIST's four IDX files. Defaults to where
            Debian's `dataset-fashion-mnist` puts them.
        train_images: int. Training images converted (the first ones of the
            60,000). Defaults to `60000`.
        test_images: int. Held-out test images converted, evaluated and served (the
            first ones of the 10,000). Defaults to `1000`.
        stats_images: int. Training images sampled for the mean and principal
            components. Defaults to `5000`.
        epochs: int. Training epochs of `steps_per_epoch` steps. Defaults to `None`:
            12 in mixed precision, 8 in float32, about the same 8-9 minutes of training
            on 2 cores.
        steps_per_epoch: int. Training steps per epoch. Defaults to `90`.
        batch_size: int. Training batch size. Defaults to `32`.
        learning_rate: float. Peak learning rate, reached after the warm-up.
            Defaults to `0.005` (see the module docstring for why not the paper's 0.01).
        warmup_epochs: int. Linear warm-up epochs before the cosine decay.
            Defaults to `1`.
        dropout: float. Dropout rate after fc6 and fc7. Defaults to `0.0` (the
            paper's 0.5 slows a run this short; see the module docstring).
        width_multiplier: float. Scales every layer but fc8; below 1 only for quick
            trials and tests (the demo is the paper's full network). Defaults to `1.0`.
        dtype: str. Compute dtype of training and serving: `"float32"`, `"bfloat16"` or
            `"float16"` (mixed precision), or `"auto"`: bfloat16 where the hardware
            multiplies it natively (`alexnet_tf.hardware.fastest_dtype`), else float32.
            Defaults to `"auto"`. The config holds the resolved dtype and epochs.
        image_size: int. Side of the rescaled central square. Defaults to `256`.
        crop_size: int. Side of the crops, the model's input. Defaults to `227`.
        seed: int. Seed of initialization, input order and augmentation.
            Defaults to `0`.
        show: int. Held-out images whose top-5 predictions are reported.
            Defaults to `5`.
        serving_batch_size: int. Images per request to the server. Defaults to `16`.
        concurrency: int. Requests in flight. Defaults to `2`.
        server_timeout: float. Seconds to wait for the server and its model.
            Defaults to `300`.
    """

    work_dir: str = "runs/demo"
    idx_dir: str = str(fashion_mnist.DEBIAN_DIR)
    train_images: int = 60000
    test_images: int = 1000
    stats_images: int = 5000
    epochs: int | None = None
    steps_per_epoch: int = 90
    batch_size: int = 32
    learning_rate: float = 0.005
    warmup_epochs: int = 1
    dropout: float = 0.0
    width_multiplier: float = 1.0
    dtype: str = "auto"
    image_size: int = 256
    crop_size: int = 227
    seed: int = 0
    show: int = 5
    serving_batch_size: int = 16
    concurrency: int = 2
    server_timeout: float = 300.0

    def __post_init__(self):
        if self.dtype not in ("auto", *DTYPES):
            raise ValueError(f"`dtype` must be 'auto' or one of {DTYPES}. Received: dtype={self.dtype!r}")
        # Resolved here, so that the config says what runs.
        if self.dtype == "auto":
            object.__setattr__(self, "dtype", fastest_dtype())
        if self.epochs is None:
            object.__setattr__(self, "epochs", FLOAT32_EPOCHS if self.dtype == "float32" else MIXED_PRECISION_EPOCHS)
        for name in (
            "train_images", "test_images", "stats_images", "epochs", "steps_per_epoch",
            "batch_size", "serving_batch_size", "concurrency", "image_size", "crop_size",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"`{name}` must be a positive integer. Received: {name}={value!r}")
        if self.show < 0:
            raise ValueError(f"`show` must be >= 0. Received: show={self.show!r}")

    @property
    def data_dir(self) -> Path:
        """The converted data set."""
        return Path(self.work_dir) / "data"

    @property
    def model_dir(self) -> Path:
        """The training run's model directory."""
        return Path(self.work_dir) / "model"

    @property
    def repository(self) -> Path:
        """The Triton model repository."""
        return Path(self.work_dir) / "model_repository"

    def train_config(self) -> TrainConfig:
        """The training configuration of the demo's recipe.

        No validation split: the held-out images are only evaluated after training, so
        the kept model (the last one) is not selected on them.
        """
        return TrainConfig(
            data_dir=str(self.data_dir),
            model_dir=str(self.model_dir),
            validation_split=None,
            dropout=self.dropout,
            width_multiplier=self.width_multiplier,
            dtype=self.dtype,
            image_size=self.image_size,
            crop_size=self.crop_size,
            epochs=self.epochs,
            steps_per_epoch=self.steps_per_epoch,
            batch_size=self.batch_size,
            learning_rate=self.learning_rate,
            schedule="cosine",
            warmup_epochs=self.warmup_epochs,
            seed=self.seed,
            # A checkpoint after every epoch (about 2 minutes here) and on Ctrl-C; more
            # would cost a 0.7 GB write each.
            checkpoint_steps=0,
        )


@dataclasses.dataclass(frozen=True)
class ServedImage:
    """One held-out image classified by the server.

    Args:
        path: str. The image file.
        true_label: str. Its label.
        top: list of (label, probability). The server's top classes, most probable first.
        error: str or None. Why it has no classification.
    """

    path: str
    true_label: str
    top: list[tuple[str, float]]
    error: str | None = None

    @property
    def correct(self) -> bool:
        """Whether the top-1 class is the true one."""
        return bool(self.top) and self.top[0][0] == self.true_label


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def _write_json(path: Path, document: dict) -> None:
    write_text_atomically(path, json.dumps(document, indent=2) + "\n")


def prepare_data(config: DemoConfig, progress: bool = True) -> tuple[Path, bool]:
    """Converts Fashion-MNIST into `config.data_dir`, unless it already holds it.

    Args:
        config: DemoConfig. The demo's settings.
        progress: bool. Show progress bars. Defaults to `True`.

    Returns:
        The data directory and whether it was converted now (False: reused).

    Raises:
        FileNotFoundError: the IDX files are missing; the message says how to get them.
    """
    limits = {"train": config.train_images, "val": config.test_images}
    marker = config.data_dir / DATA_MARKER
    if _read_json(marker) == {"idx_dir": str(config.idx_dir), "limits": limits}:
        return config.data_dir, False
    fashion_mnist.export(config.data_dir, config.idx_dir, limits=limits, progress=progress)
    _write_json(marker, {"idx_dir": str(config.idx_dir), "limits": limits})
    return config.data_dir, True


def prepare_stats(config: DemoConfig, progress: bool = True) -> tuple[Path, bool]:
    """Computes the training images' statistics into the data directory, unless present.

    Args:
        config: DemoConfig. The demo's settings.
        progress: bool. Show a progress bar. Defaults to `True`.

    Returns:
        The statistics file and whether it was computed now.
    """
    path = config.data_dir / STATS_FILENAME
    if path.is_file():
        return path, False
    source = resolve_source(config.data_dir, "train")
    stats = compute_stats(
        source, image_size=config.image_size, max_images=config.stats_images, progress=progress
    )
    return save_stats(stats, config.data_dir), True


def train_model(config: DemoConfig, verbose: int = 1) -> list[dict]:
    """Trains (or resumes, or finds finished) the demo's training run.

    Args:
        config: DemoConfig. The demo's settings.
        verbose: int. 1 shows Keras progress bars. Defaults to `1`.

    Returns:
        The logs of the epochs trained now (empty when the run was already finished).
    """
    run = prepare_training(config.train_config())
    return run.fit(verbose=verbose)


def _model_stamp(config: DemoConfig) -> float:
    return ModelDir(config.model_dir).model.stat().st_mtime


def evaluate_model(config: DemoConfig, progress: bool = True) -> tuple[dict, bool]:
    """Top-1/top-5 error on the held-out images with the centre crop and 10 crops.

    Reuses `evaluation.json` when it was made from the current `model.keras`.

    Args:
        config: DemoConfig. The demo's settings.
        progress: bool. Show progress bars. Defaults to `True`.

    Returns:
        `{"center": {...}, "ten": {...}}` as `evaluate_model_dir` returns it, and
        whether it was computed now.
    """
    path = Path(config.work_dir) / EVALUATION_FILENAME
    saved = _read_json(path)
    if saved and saved.get("model_mtime") == _model_stamp(config):
        return saved["results"], False
    results = evaluate_model_dir(
        config.model_dir, resolve_source(config.data_dir, "val"), crops=("center", "ten"),
        progress=progress,
    )
    _write_json(path, {"model_mtime": _model_stamp(config), "results": results})
    return results, True


def export_model(config: DemoConfig) -> tuple[Path, bool]:
    """Exports the trained model into the demo's Triton repository, unless done.

    Args:
        config: DemoConfig. The demo's settings.

    Returns:
        The exported version's folder and whether it was exported now.
    """
    from alexnet_tf.export import export_model_dir

    marker = Path(config.work_dir) / EXPORT_MARKER
    saved = _read_json(marker)
    if saved and saved.get("model_mtime") == _model_stamp(config) and Path(saved["version_dir"]).is_dir():
        return Path(saved["version_dir"]), False
    version_dir = export_model_dir(config.model_dir, config.repository)
    _write_json(marker, {"model_mtime": _model_stamp(config), "version_dir": str(version_dir)})
    return version_dir, True


def held_out_images(config: DemoConfig) -> list[tuple[str, str]]:
    """The held-out test images and their labels, in file-name order.

    Args:
        config: DemoConfig. The demo's settings.

    Returns:
        `(path, label)` pairs: every image of `val/`, labelled with `labels.txt`.
    """
    from alexnet_tf.data import dataset_labels

    labels = dict(zip(class_names(config.data_dir), dataset_labels(config.data_dir)))
    images = [
        (str(path), labels[path.parent.name])
        for path in (config.data_dir / "val").glob("*/*")
        if path.parent.name in labels
    ]
    return sorted(images, key=lambda pair: Path(pair[0]).name)


def serve_and_classify(config: DemoConfig, progress: bool = True) -> tuple[list[ServedImage], dict]:
    """Starts Triton on the repository, classifies the held-out images, stops it.

    Args:
        config: DemoConfig. The demo's settings.
        progress: bool. Show a progress bar while classifying. Defaults to `True`.

    Returns:
        One `ServedImage` per held-out image, and facts of the server (its gRPC URL
        and the served model's versions).
    """
    from serving.batch import classify_files
    from serving.client import AlexNetClient
    from serving.server import TritonServer

    images = held_out_images(config)
    if not images:
        raise FileNotFoundError(
            f"No held-out images in {config.data_dir / 'val'}. Received: work_dir={config.work_dir!r}"
        )

    async def classify(url: str):
        async with AlexNetClient(url, protocol="grpc") as client:
            info = await client.wait_until_ready(timeout=config.server_timeout)
            results = await classify_files(
                client, [path for path, _ in images], top_k=5,
                batch_size=config.serving_batch_size, concurrency=config.concurrency,
                progress=progress,
            )
            return info, results

    server = TritonServer(config.repository, http_port=0, grpc_port=0, metrics_port=0)
    server.start(timeout=config.server_timeout)
    try:
        info, results = asyncio.run(classify(server.grpc_url))
    finally:
        server.stop()
    served = [
        ServedImage(
            path=path,
            true_label=label,
            top=[(c.label, c.probability) for c in result.classifications],
            error=result.error,
        )
        for (path, label), result in zip(images, results)
    ]
    summary = {
        "grpc_url": server.grpc_url,
        "model": info.name,
        "versions": list(info.versions),
        "images": len(served),
        "errors": sum(image.error is not None for image in served),
        "accuracy": served_accuracy(served),
    }
    _write_json(
        Path(config.work_dir) / SERVED_FILENAME,
        {**summary, "predictions": [dataclasses.asdict(image) for image in served]},
    )
    return served, summary


def served_accuracy(served: list[ServedImage]) -> float:
    """The fraction of served images whose top-1 class is the true one.

    Args:
        served: list of ServedImage. The classified images (errors count as wrong).
    """
    if not served:
        raise ValueError("No served images to score. Received: served=[]")
    return sum(image.correct for image in served) / len(served)
