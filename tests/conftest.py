"""Shared test set-up.

TensorFlow fixes its devices when it first starts, so the CPU is split into logical
devices here, before any test touches TensorFlow: tower placement and tf.distribute
strategies then run on "/CPU:0" ... "/CPU:3" on a machine without GPUs.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

LOGICAL_CPUS = 4

tf.config.set_logical_device_configuration(
    tf.config.list_physical_devices("CPU")[0],
    [tf.config.LogicalDeviceConfiguration()] * LOGICAL_CPUS,
)


# --- alexnet_tf.data fixtures -------------------------------------------------------
import io  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402


def _encode_image(array: np.ndarray, fmt: str = "JPEG", mode: str | None = None, quality: int = 95) -> bytes:
    image = Image.fromarray(array)
    if mode is not None:
        image = image.convert(mode)
    buffer = io.BytesIO()
    image.save(buffer, fmt, **({"quality": quality} if fmt == "JPEG" else {}))
    return buffer.getvalue()


@pytest.fixture
def encode_image():
    """`encode_image(array, fmt="JPEG", mode=None, quality=95) -> bytes` with Pillow."""
    return _encode_image


@pytest.fixture
def coordinate_image():
    """`coordinate_image(height, width) -> uint8 [h, w, 3]` with R = y, G = x, B = (x + 2y) % 256.

    Every pixel of a 256x256 image is unique, so a crop reveals where it was cut from.
    """

    def make(height: int, width: int) -> np.ndarray:
        y, x = np.mgrid[:height, :width]
        return np.stack([y % 256, x % 256, (x + 2 * y) % 256], axis=-1).astype(np.uint8)

    return make


@pytest.fixture
def make_image_tree():
    """`make_image_tree(root, {split: {class: [array or bytes, ...]}}, fmt="PNG") -> root`.

    Writes an ImageNet-layout folder; arrays are encoded in `fmt`, bytes written as is.
    Files are named `<class>_<i>.<ext>` (`.JPEG` for every format, as ImageNet names
    them).
    """

    def make(root, splits: dict, fmt: str = "PNG") -> Path:
        root = Path(root)
        for split, classes in splits.items():
            for name, images in classes.items():
                folder = root / split / name
                folder.mkdir(parents=True, exist_ok=True)
                for i, image in enumerate(images):
                    data = image if isinstance(image, bytes) else _encode_image(image, fmt)
                    (folder / f"{name}_{i}.JPEG").write_bytes(data)
        return root

    return make
