"""Training-set pixel statistics: the per-channel mean and the RGB principal components.

The paper subtracts the training mean from every pixel and adds "fancy PCA" lighting
noise along the principal components of the training set's RGB pixel values
(DESIGN.md section 3). `DatasetStats` holds both; `tools/dataset_stats.py` computes them
for a data set and stores them as `dataset_stats.json` beside the data, where training
and export find them with `find_stats`.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
from pathlib import Path

logger = logging.getLogger(__name__)

STATS_FILENAME = "dataset_stats.json"

Vector3 = tuple[float, float, float]


@dataclasses.dataclass(frozen=True)
class DatasetStats:
    """Pixel statistics of a training set.

    Args:
        mean_rgb: tuple of 3 floats. Per-channel mean of the training images, in 0-255
            pixel units, RGB order.
        eigenvalues: tuple of 3 floats. Eigenvalues of the 3x3 covariance of the RGB
            pixel values scaled to [0, 1], in decreasing order.
        eigenvectors: 3x3 tuple of tuples. The matrix `[p1 p2 p3]` whose i-th COLUMN is
            the unit eigenvector of `eigenvalues[i]`: `eigenvectors[c][i]` is channel `c`
            of eigenvector `i`. This is the layout of the widely used ImageNet values, so
            the PCA lighting offset of a pixel is `eigenvectors @ (alpha * eigenvalues)`.
        num_images: int or None. Number of images the statistics were computed from;
            None when unknown. Defaults to `None`.
    """

    mean_rgb: Vector3
    eigenvalues: Vector3
    eigenvectors: tuple[Vector3, Vector3, Vector3]
    num_images: int | None = None

    def __post_init__(self):
        def _vector(name, value):
            try:
                vector = tuple(float(v) for v in value)
            except (TypeError, ValueError):
                vector = ()
            if len(vector) != 3 or not all(math.isfinite(v) for v in vector):
                raise ValueError(
                    f"`{name}` must hold 3 finite numbers. Received: {name}={value!r}"
                )
            return vector

        object.__setattr__(self, "mean_rgb", _vector("mean_rgb", self.mean_rgb))
        object.__setattr__(self, "eigenvalues", _vector("eigenvalues", self.eigenvalues))
        try:
            rows = tuple(self.eigenvectors)
        except TypeError:
            rows = ()
        if len(rows) != 3:
            raise ValueError(
                f"`eigenvectors` must be a 3x3 matrix. Received: eigenvectors={self.eigenvectors!r}"
            )
        object.__setattr__(
            self, "eigenvectors", tuple(_vector("eigenvectors", row) for row in rows)
        )
        if self.num_images is not None and (
            isinstance(self.num_images, bool) or not isinstance(self.num_images, int)
            or self.num_images < 1
        ):
            raise ValueError(
                "`num_images` must be a positive integer or None. "
                f"Received: num_images={self.num_images!r}"
            )

    def to_dict(self) -> dict:
        """Returns the statistics as a JSON-serializable dict (lists instead of tuples)."""
        return {
            "mean_rgb": list(self.mean_rgb),
            "eigenvalues": list(self.eigenvalues),
            "eigenvectors": [list(row) for row in self.eigenvectors],
            "num_images": self.num_images,
        }

    @classmethod
    def from_dict(cls, config: dict) -> DatasetStats:
        """Builds statistics from the dict `to_dict` returns."""
        return cls(
            mean_rgb=config["mean_rgb"],
            eigenvalues=config["eigenvalues"],
            eigenvectors=config["eigenvectors"],
            num_images=config.get("num_images"),
        )


# The widely used ImageNet values: the per-channel mean of the ILSVRC-2012 training set
# (as in Caffe / Keras "caffe" preprocessing, RGB) and the PCA of its [0, 1] pixels
# (as in fb.resnet.torch and most AlexNet reimplementations).
IMAGENET_STATS = DatasetStats(
    mean_rgb=(123.68, 116.779, 103.939),
    eigenvalues=(0.2175, 0.0188, 0.0045),
    eigenvectors=(
        (-0.5675, 0.7192, 0.4009),
        (-0.5808, -0.0045, -0.8140),
        (-0.5836, -0.6948, 0.4203),
    ),
)


def save_stats(stats: DatasetStats, directory: str | Path) -> Path:
    """Writes `stats` to `directory/dataset_stats.json` and returns that path.

    Args:
        stats: DatasetStats. The statistics to store.
        directory: str or Path. Folder to write into; created when missing.

    Returns:
        The path of the written file.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / STATS_FILENAME
    path.write_text(json.dumps(stats.to_dict(), indent=2) + "\n")
    return path


def load_stats(path: str | Path) -> DatasetStats:
    """Reads statistics written by `save_stats`.

    Args:
        path: str or Path. A `dataset_stats.json` file, or the folder holding one.

    Returns:
        The stored `DatasetStats`.

    Raises:
        FileNotFoundError: when the file does not exist.
        ValueError: when the file is not valid statistics JSON.
    """
    path = Path(path)
    if path.is_dir():
        path = path / STATS_FILENAME
    if not path.is_file():
        raise FileNotFoundError(
            f"No dataset statistics file at {path}. Compute one with "
            f"`python tools/dataset_stats.py --data-dir DIR`. Received: path={str(path)!r}"
        )
    try:
        return DatasetStats.from_dict(json.loads(path.read_text()))
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
        raise ValueError(
            f"Malformed dataset statistics file {path} ({error}); expected the JSON "
            f"written by `save_stats`. Received: path={str(path)!r}"
        ) from error


def find_stats(data_dir: str | Path) -> DatasetStats:
    """Returns the statistics stored in `data_dir`, or `IMAGENET_STATS` when there are none.

    A missing file logs a warning and falls back to the ImageNet values; a malformed
    file is an error.

    Args:
        data_dir: str or Path. The data set's root folder (the one holding
            `dataset_stats.json`).
    """
    path = Path(data_dir) / STATS_FILENAME
    if path.is_file():
        return load_stats(path)
    logger.warning(
        "No %s in %s; using the ImageNet statistics. Run tools/dataset_stats.py to "
        "compute the data set's own.", STATS_FILENAME, data_dir,
    )
    return IMAGENET_STATS
