"""Shared test set-up and fixtures.

TensorFlow fixes its devices when it first starts, so the CPU is split into logical
devices here, before any test touches TensorFlow: tower placement and tf.distribute
strategies then run on "/CPU:0" ... "/CPU:3" on a machine without GPUs.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import io  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402
from PIL import Image  # noqa: E402

LOGICAL_CPUS = 4

tf.config.set_logical_device_configuration(
    tf.config.list_physical_devices("CPU")[0],
    [tf.config.LogicalDeviceConfiguration()] * LOGICAL_CPUS,
)


# --- Models ---------------------------------------------------------------------------


def _variance_preserving_weights(model, seed: int = 0, bias: float = 0.0) -> list[np.ndarray]:
    """He-scaled kernels and constant biases for `model`, in `model.get_weights()` order.

    The paper's N(0, 0.01) initialization makes a fresh network's outputs almost the
    same for every image, and a tiny network's gradients almost vanish; with these
    weights different images give clearly different outputs, so comparisons can fail.
    Inputs are pixel values of about +-128, not unit-scale: conv1's kernels shrink them.
    """
    rng = np.random.default_rng(seed)
    weights = []
    for weight in model.weights:
        shape = tuple(weight.shape)
        if len(shape) == 1:
            weights.append(np.full(shape, bias, "float32"))
            continue
        scale = np.sqrt(2 / np.prod(shape[:-1])) / (100 if "conv1" in weight.path else 1)
        weights.append(rng.normal(0, scale, shape).astype("float32"))
    return weights


@pytest.fixture(scope="session")
def variance_preserving_weights():
    """`weights(model, seed=0, bias=0.0) -> list[np.ndarray]` for `model.set_weights`."""
    return _variance_preserving_weights


# --- alexnet_tf.data fixtures -------------------------------------------------------


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
def encode_idx():
    """`encode_idx(array) -> bytes`: an unsigned-byte IDX file, the format of MNIST and Fashion-MNIST."""

    def encode(array: np.ndarray) -> bytes:
        header = bytes([0, 0, 0x08, array.ndim]) + b"".join(n.to_bytes(4, "big") for n in array.shape)
        return header + array.astype(np.uint8).tobytes()

    return encode


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


# --- Export and serving (tests/test_export*.py, tests/test_serving*.py) ---------------

import hashlib  # noqa: E402


@pytest.fixture(scope="session")
def discriminative_alexnet():
    """Builds scaled-down AlexNets (67x67 inputs) whose outputs depend clearly on the input.

    Its weights come from `variance_preserving_weights`.

    Returns:
        `build(seed=0, num_classes=5) -> keras.Model`.
    """
    import keras

    import alexnet_tf

    def build(seed: int = 0, num_classes: int = 5) -> keras.Model:
        keras.utils.set_random_seed(seed)
        model = alexnet_tf.build_alexnet(num_classes, width_multiplier=0.0625, input_size=67)
        model.set_weights(_variance_preserving_weights(model, seed))
        return model

    return build


@pytest.fixture(scope="session")
def tree_digest():
    """Hashes a folder's file names and contents: `digest(path) -> str`.

    `__pycache__` folders are left out: Triton's Python backend caches the bytecode of
    a version's `model.py` there when it loads the version.
    """

    def digest(path: Path) -> str:
        hasher = hashlib.sha256()
        files = (p for p in Path(path).rglob("*") if p.is_file() and "__pycache__" not in p.parts)
        for file in sorted(files):
            hasher.update(str(file.relative_to(path)).encode())
            hasher.update(file.read_bytes())
        return hasher.hexdigest()

    return digest


# --- Training (tests/test_training*.py) -----------------------------------------------


def write_learnable_images(
    root, *, classes: int = 4, train_per_class: int = 32, val_per_class: int = 8, size: int = 72, seed: int = 0
) -> Path:
    """Writes an ImageNet-layout data set (`train/`, `val/`) whose classes a network can learn.

    Class k has its own colour (channel c is bright when bit c of k is set; up to 8
    classes) and stripe direction under sensor-like noise; the files are JPEGs named
    `class_k/<i>.jpg`. A `labels.txt` names the classes.
    """
    root = Path(root)
    rng = np.random.default_rng(seed)
    colours = 60.0 + 140.0 * ((np.arange(classes)[:, None] >> np.arange(3)) & 1)
    y, x = np.mgrid[:size, :size]
    for split, count in (("train", train_per_class), ("val", val_per_class)):
        for k in range(classes):
            folder = root / split / f"class_{k}"
            folder.mkdir(parents=True, exist_ok=True)
            stripes = 40 * np.sin(0.5 * (x if k % 2 else y))[..., None]
            for i in range(count):
                pixels = colours[k] + stripes + rng.normal(0, 20, (size, size, 3))
                Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(folder / f"{i:03d}.jpg", quality=90)
    (root / "labels.txt").write_text("".join(f"pattern {k}\n" for k in range(classes)))
    return root


@pytest.fixture(scope="session")
def learnable_image_dir(tmp_path_factory) -> Path:
    """A small learnable data set: 4 classes, 128 training and 32 validation 72x72 JPEGs."""
    return write_learnable_images(tmp_path_factory.mktemp("learnable_images"))
