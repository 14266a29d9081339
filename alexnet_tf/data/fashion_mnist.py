"""Fashion-MNIST (Xiao, Rasul & Vollgraf, 2017) as an ImageNet-layout data set.

Reads the four IDX files (gzipped or not) that the Debian package
`dataset-fashion-mnist` installs in `/usr/share/datasets/fashion-mnist`, and writes
`OUT/train/<class>/*.jpg` (60,000 images) and `OUT/val/<class>/*.jpg` (the 10,000
test images) as RGB JPEGs, with `classes.txt` and `labels.txt`. Class folders are
named `0_t-shirt_top`, ..., `9_ankle_boot`, so their sorted order is the class order.
"""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from alexnet_tf.data.labels import write_labels
from alexnet_tf.data.sources import CLASSES_FILENAME

DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
LABELS = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
# Output split name -> the IDX file prefix of the original split.
SPLITS = {"train": "train", "val": "t10k"}
_IDX_TYPES = {0x08: np.uint8}


def class_folder_names() -> list[str]:
    """The class folder names, `0_t-shirt_top` ... `9_ankle_boot`, in class order."""
    return [f"{i}_" + label.lower().replace("/", "_").replace(" ", "_") for i, label in enumerate(LABELS)]


def read_idx(path: str | Path) -> np.ndarray:
    """Reads an IDX file (the MNIST format), gzipped or not, into a numpy array.

    Args:
        path: str or Path. The IDX file.

    Raises:
        ValueError: when the file is not an unsigned-byte IDX file or is truncated.
    """
    data = Path(path).read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    if len(data) < 4 or data[:2] != b"\x00\x00" or data[2] not in _IDX_TYPES:
        raise ValueError(f"{path} is not an unsigned-byte IDX file. Received: path={str(path)!r}")
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    values = np.frombuffer(data, _IDX_TYPES[data[2]], offset=4 + 4 * ndim)
    if values.size != int(np.prod(shape)):
        raise ValueError(
            f"{path} should hold {int(np.prod(shape))} values of shape {shape} but holds "
            f"{values.size}. Received: path={str(path)!r}"
        )
    return values.reshape(shape)


def find_idx_file(idx_dir: str | Path, name: str) -> Path:
    """Finds `name` (e.g. `train-images-idx3-ubyte`) in `idx_dir`, with or without `.gz`.

    Raises:
        FileNotFoundError: naming the missing file and how to install the data set.
    """
    idx_dir = Path(idx_dir)
    for candidate in (idx_dir / f"{name}.gz", idx_dir / name):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        f"Fashion-MNIST file {name}[.gz] not found in {idx_dir}. Install the Debian "
        f"package (it puts the files in {DEBIAN_DIR}): "
        "`sudo apt-get update && sudo apt-get install dataset-fashion-mnist`, "
        "or pass the folder holding train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
        "t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz. "
        f"Received: idx_dir={str(idx_dir)!r}"
    )


def load_split(idx_dir: str | Path, prefix: str) -> tuple[np.ndarray, np.ndarray]:
    """Loads `(images [n, 28, 28] uint8, labels [n] uint8)` of `train` or `t10k`."""
    images = read_idx(find_idx_file(idx_dir, f"{prefix}-images-idx3-ubyte"))
    labels = read_idx(find_idx_file(idx_dir, f"{prefix}-labels-idx1-ubyte"))
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise ValueError(
            f"Fashion-MNIST {prefix} images {images.shape} and labels {labels.shape} do not "
            f"match. Received: idx_dir={str(idx_dir)!r}"
        )
    if labels.max(initial=0) >= len(LABELS):
        raise ValueError(f"Fashion-MNIST {prefix} labels exceed {len(LABELS) - 1}. Received: max={labels.max()}")
    return images, labels


def export(
    out_dir: str | Path,
    idx_dir: str | Path = DEBIAN_DIR,
    *,
    limits: dict[str, int | None] | None = None,
    quality: int = 95,
    progress: bool = False,
) -> dict[str, int]:
    """Writes Fashion-MNIST as an ImageNet-layout data set of RGB JPEGs.

    Args:
        out_dir: str or Path. The data set's root; `train/` and `val/` are written in it.
        idx_dir: str or Path. Folder of the IDX files. Defaults to the Debian package's
            `/usr/share/datasets/fashion-mnist`.
        limits: dict or None. Maximum images per output split (`"train"`, `"val"`), the
            first ones in the original order; a missing or None entry keeps all.
            Defaults to `None`.
        quality: int. JPEG quality. Defaults to `95`.
        progress: bool. Show tqdm progress bars. Defaults to `False`.

    Returns:
        The number of images written per split.
    """
    limits = limits or {}
    unknown = set(limits) - set(SPLITS)
    if unknown:
        raise ValueError(f"`limits` keys must be among {sorted(SPLITS)}. Received: limits={limits!r}")
    loaded = {split: load_split(idx_dir, prefix) for split, prefix in SPLITS.items()}
    out_dir = Path(out_dir)
    folders = class_folder_names()
    counts = {}
    for split, (images, labels) in loaded.items():
        count = len(images) if limits.get(split) is None else min(limits[split], len(images))
        for label in np.unique(labels[:count]):
            (out_dir / split / folders[label]).mkdir(parents=True, exist_ok=True)
        for index in tqdm(range(count), desc=split, unit="img", disable=not progress):
            buffer = io.BytesIO()
            Image.fromarray(images[index]).convert("RGB").save(buffer, "JPEG", quality=quality)
            path = out_dir / split / folders[labels[index]] / f"{SPLITS[split]}_{index:05d}.jpg"
            path.write_bytes(buffer.getvalue())
        counts[split] = count
    (out_dir / CLASSES_FILENAME).write_text("".join(f"{name}\n" for name in folders))
    write_labels(LABELS, out_dir)
    return counts
