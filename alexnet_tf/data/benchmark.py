"""The input-pipeline benchmark: synthetic photographs, a Pillow baseline, timing.

The Pillow + numpy loader does the same work as the training pipeline (decode, central
256x256 square, random 227x227 crop, random reflection, PCA lighting, mean subtraction,
batching) in one Python process, as a plain reference point.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np
from PIL import Image, ImageDraw

from alexnet_tf.data.augmentation import LIGHTING_STD
from alexnet_tf.data.datasets import train_dataset
from alexnet_tf.data.preprocessing import CROP_SIZE, IMAGE_SIZE
from alexnet_tf.data.sources import CLASSES_FILENAME, folder_source, resolve_source
from alexnet_tf.data.stats import IMAGENET_STATS, DatasetStats
from alexnet_tf.data.tfrecord_writer import write_split


def synthetic_photo(rng: np.random.Generator, height: int, width: int) -> Image.Image:
    """An RGB image with photograph-like content: smooth shading, shapes, sensor noise.

    JPEG-compressed it is about as large as a natural photograph of the same size, so
    decoding costs about the same.
    """
    shading = Image.fromarray(rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)).resize(
        (width, height), Image.BICUBIC
    )
    draw = ImageDraw.Draw(shading)
    for _ in range(12):
        x0, x1 = sorted(rng.integers(0, width, 2))
        y0, y1 = sorted(rng.integers(0, height, 2))
        color = tuple(int(c) for c in rng.integers(0, 256, 3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)([x0, y0, x1, y1], fill=color)
    pixels = np.asarray(shading, np.float32) + rng.normal(0.0, 8.0, (height, width, 3))
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def write_synthetic_split(
    split_dir: str | Path,
    *,
    num_images: int,
    num_classes: int,
    height: int,
    width: int,
    quality: int = 90,
    seed: int = 0,
) -> list[Path]:
    """Writes `num_images` synthetic JPEGs as `SPLIT_DIR/class_<k>/<i>.jpg` (ImageNet layout).

    Returns:
        The written paths.
    """
    rng = np.random.default_rng(seed)
    paths = []
    for index in range(num_images):
        path = Path(split_dir) / f"class_{index % num_classes:03d}" / f"{index:06d}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        synthetic_photo(rng, height, width).save(path, "JPEG", quality=quality)
        paths.append(path)
    return paths


def pillow_train_batches(
    files: Sequence[str | Path],
    labels: Sequence[int],
    *,
    batch_size: int,
    stats: DatasetStats,
    image_size: int = IMAGE_SIZE,
    crop_size: int = CROP_SIZE,
    seed: int = 0,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Endless augmented training batches made with Pillow and numpy in this process.

    Yields:
        `(images float32 [batch, crop, crop, 3], labels int32 [batch])`.
    """
    rng = np.random.default_rng(seed)
    mean = np.asarray(stats.mean_rgb, np.float32)
    eigenvectors = np.asarray(stats.eigenvectors, np.float32)
    eigenvalues = np.asarray(stats.eigenvalues, np.float32)
    while True:
        order = rng.permutation(len(files))
        for start in range(0, len(order) - batch_size + 1, batch_size):
            batch = np.empty((batch_size, crop_size, crop_size, 3), np.float32)
            for row, index in enumerate(order[start : start + batch_size]):
                with Image.open(files[index]) as image:
                    image = image.convert("RGB")
                side = min(image.size)
                left, top = (image.width - side) // 2, (image.height - side) // 2
                image = image.crop((left, top, left + side, top + side))
                if side != image_size:
                    image = image.resize((image_size, image_size), Image.BILINEAR)
                y, x = rng.integers(0, image_size - crop_size + 1, 2)
                crop = np.asarray(image)[y : y + crop_size, x : x + crop_size]
                if rng.random() < 0.5:
                    crop = crop[:, ::-1]
                alpha = rng.normal(0.0, LIGHTING_STD, 3).astype(np.float32)
                offset = 255.0 * eigenvectors @ (alpha * eigenvalues)
                batch[row] = crop + (offset - mean)
            yield batch, np.asarray(labels, np.int32)[order[start : start + batch_size]]


def measure_throughput(
    batches: Iterable, *, num_batches: int, warmup_batches: int = 2
) -> tuple[float, float]:
    """Images per second and images per CPU-second of `(images, labels)` batches.

    The first `warmup_batches` are drawn before the clocks start; then `num_batches`
    are timed (the iterable must yield that many). CPU time is this process's, over all
    its threads, so images per CPU-second measures the work per image even when other
    processes share the cores.
    """
    iterator = iter(batches)
    for _ in range(warmup_batches):
        next(iterator)
    count = 0
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(num_batches):
        _, labels = next(iterator)
        count += len(labels)
    return count / (time.perf_counter() - wall), count / (time.process_time() - cpu)


def available_cores() -> int:
    """CPU cores this process may run on (respects `taskset` / cgroup affinity)."""
    return len(os.sched_getaffinity(0))


def prepare_benchmark_data(
    workdir: str | Path,
    *,
    num_images: int,
    raw_images: int,
    raw_size: tuple[int, int],
    num_classes: int = 10,
    num_shards: int = 8,
) -> dict[str, Path]:
    """Writes (once) the benchmark's files: 256x256 JPEGs, the same as TFRecords, raw JPEGs.

    Returns:
        Paths by name: `"jpeg256"` (ImageNet-layout split folder), `"records256"`
        (TFRecord folder holding the same JPEG bytes, marked as pre-resized) and
        `"raw"` (split folder of `raw_size` (width, height) JPEGs).
    """
    workdir = Path(workdir)
    paths = {
        "jpeg256": workdir / f"jpeg256_{num_images}" / "train",
        "records256": workdir / f"records256_{num_images}",
        "raw": workdir / f"raw{raw_size[0]}x{raw_size[1]}_{raw_images}" / "train",
    }
    if not paths["jpeg256"].is_dir():
        write_synthetic_split(
            paths["jpeg256"], num_images=num_images, num_classes=num_classes, height=256, width=256
        )
    if not paths["raw"].is_dir():
        write_synthetic_split(
            paths["raw"], num_images=raw_images, num_classes=num_classes,
            height=raw_size[1], width=raw_size[0], seed=1,
        )
    if not paths["records256"].is_dir():
        source = folder_source(paths["jpeg256"])
        (paths["records256"]).mkdir(parents=True)
        (paths["records256"] / CLASSES_FILENAME).write_text("".join(f"{n}\n" for n in source.class_names))
        write_split(source, paths["records256"], "train", num_shards=num_shards, image_size=IMAGE_SIZE)
    return paths


def run_benchmark(
    workdir: str | Path,
    *,
    num_images: int = 2048,
    raw_images: int = 512,
    raw_size: tuple[int, int] = (500, 375),
    batch_size: int = 128,
    batches: int = 30,
    warmup_batches: int = 3,
) -> dict:
    """Measures the training input pipeline against the Pillow loader on the same files.

    Every loader produces the full training augmentation (random crop, reflection, PCA
    lighting, mean subtraction) as float32 batches; `tf.data` batches stay tensors as
    they would when feeding a model.

    Returns:
        A JSON-serializable dict: `config`, `machine` (cores, load averages) and
        `results`, a list of `{"loader", "files", "cores", "images_per_second",
        "images_per_second_per_core", "images_per_cpu_second"}`. `cores` is what the
        loader can use: all available cores for `tf.data`, one for Pillow.
    """
    paths = prepare_benchmark_data(
        workdir, num_images=num_images, raw_images=raw_images, raw_size=raw_size
    )
    stats = IMAGENET_STATS
    cores = available_cores()
    load_before = os.getloadavg()
    cases = [
        ("tf.data", "256x256 JPEG TFRecords", cores,
         lambda: iter(train_dataset(resolve_source(paths["records256"], "train"), batch_size=batch_size, stats=stats).repeat())),
        ("tf.data", "256x256 JPEG folder", cores,
         lambda: iter(train_dataset(paths["jpeg256"], batch_size=batch_size, stats=stats).repeat())),
        ("tf.data", f"raw {raw_size[0]}x{raw_size[1]} JPEG folder", cores,
         lambda: iter(train_dataset(paths["raw"], batch_size=batch_size, stats=stats).repeat())),
        ("Pillow+numpy", "256x256 JPEG folder", 1, lambda: _pillow(paths["jpeg256"], batch_size, stats)),
        ("Pillow+numpy", f"raw {raw_size[0]}x{raw_size[1]} JPEG folder", 1, lambda: _pillow(paths["raw"], batch_size, stats)),
    ]
    results = []
    for loader, files, loader_cores, make_batches in cases:
        rate, cpu_rate = measure_throughput(
            make_batches(), num_batches=batches, warmup_batches=warmup_batches
        )
        results.append({
            "loader": loader, "files": files, "cores": loader_cores,
            "images_per_second": round(rate, 1),
            "images_per_second_per_core": round(rate / loader_cores, 1),
            "images_per_cpu_second": round(cpu_rate, 1),
        })
    return {
        "config": {
            "num_images": num_images, "raw_images": raw_images, "raw_size": list(raw_size),
            "batch_size": batch_size, "batches": batches, "warmup_batches": warmup_batches,
        },
        "machine": {"cores": cores, "load_average_before": load_before, "load_average_after": os.getloadavg()},
        "results": results,
    }


def _pillow(split_dir: Path, batch_size: int, stats: DatasetStats) -> Iterator:
    source = folder_source(split_dir)
    return pillow_train_batches(source.files, source.labels, batch_size=batch_size, stats=stats)
