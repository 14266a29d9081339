"""The ImageNet folder layout: class folders, and flat folders with a ground-truth file.

`ROOT/train/<class>/<image>` holds one folder per class; class `i` is the `i`-th class
folder name in sorted order (for ImageNet, the synset ids `n01440764`, ...). Another
split is either laid out the same way (`ROOT/val/<class>/<image>`, class folders named
like the training ones) or is a flat folder of images plus a ground-truth text file,
as ILSVRC ships its validation set. A ground-truth file is one of:

- `<file name> <class>` per line, separated by whitespace or a comma, where `<file name>`
  is the image's name with or without extension and `<class>` is a class folder name
  or a 0-based class index (extra columns are ignored, so Kaggle's
  `LOC_val_solution.csv`, whose first line is a header naming `ImageId`, works);
- one `<class>` per line for the images in sorted file-name order (e.g. the widely
  used `imagenet_2012_validation_synset_labels.txt`).

The devkit's `ILSVRC2012_validation_ground_truth.txt` uses the devkit's own class ids,
not the sorted-synset order: convert it to synsets first.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

GROUND_TRUTH_SUFFIX = "_ground_truth.txt"


def _visible_entries(folder: Path) -> list[os.DirEntry]:
    with os.scandir(folder) as entries:
        return [entry for entry in entries if not entry.name.startswith(".")]


def list_class_folders(split_dir: str | Path) -> list[str]:
    """Sorted names of the class folders in a split folder (hidden folders ignored)."""
    return sorted(entry.name for entry in _visible_entries(Path(split_dir)) if entry.is_dir())


def list_files(folder: str | Path) -> list[str]:
    """Sorted paths of the regular, non-hidden files in a folder (not recursive)."""
    return sorted(
        entry.path for entry in _visible_entries(Path(folder)) if entry.is_file()
    )


def default_ground_truth(split_dir: str | Path) -> Path:
    """Where a flat split's ground truth is looked for: `ROOT/<split>_ground_truth.txt`."""
    split_dir = Path(split_dir)
    return split_dir.parent / f"{split_dir.name}{GROUND_TRUTH_SUFFIX}"


def list_split(
    split_dir: str | Path,
    class_names: Sequence[str],
    ground_truth: str | Path | None = None,
) -> tuple[list[str], list[int]]:
    """Lists a split's image files and their class indices.

    Args:
        split_dir: str or Path. The split folder, with class folders or flat.
        class_names: sequence of str. The data set's class folder names in index order.
        ground_truth: str, Path or None. A flat split's ground-truth file; None looks
            for `default_ground_truth(split_dir)`. Ignored for class folders. Defaults
            to `None`.

    Returns:
        `(files, labels)`: sorted file paths and their 0-based class indices.

    Raises:
        FileNotFoundError: when the split folder or a flat split's ground truth is
            missing.
        ValueError: for an empty split, an empty class folder, a class folder not in
            `class_names`, or an image without (or with an unknown) ground truth.
    """
    split_dir = Path(split_dir)
    if not split_dir.is_dir():
        raise FileNotFoundError(f"No split folder {split_dir}. Received: split_dir={str(split_dir)!r}")
    folders = list_class_folders(split_dir)
    if folders:
        return _list_class_folders(split_dir, folders, class_names)
    files = list_files(split_dir)
    if not files:
        raise ValueError(f"The split folder {split_dir} holds no images. Received: split_dir={str(split_dir)!r}")
    ground_truth = Path(ground_truth) if ground_truth else default_ground_truth(split_dir)
    if not ground_truth.is_file():
        raise FileNotFoundError(
            f"{split_dir} has no class folders, so it needs a ground-truth file mapping "
            f"its images to classes (see alexnet_tf.data.layout); none at {ground_truth}. "
            f"Received: ground_truth={str(ground_truth)!r}"
        )
    labels = read_ground_truth(ground_truth, [Path(file).name for file in files], class_names)
    return files, labels


def _list_class_folders(
    split_dir: Path, folders: list[str], class_names: Sequence[str]
) -> tuple[list[str], list[int]]:
    index = {name: i for i, name in enumerate(class_names)}
    unknown = [name for name in folders if name not in index]
    if unknown:
        raise ValueError(
            f"{split_dir} has class folders that are not classes of the data set "
            f"({len(class_names)} classes): {unknown[:5]}. Received: split_dir={str(split_dir)!r}"
        )
    files, labels = [], []
    for name in folders:
        folder_files = list_files(split_dir / name)
        if not folder_files:
            raise ValueError(
                f"The class folder {split_dir / name} is empty; remove it or add images. "
                f"Received: split_dir={str(split_dir)!r}"
            )
        files += folder_files
        labels += [index[name]] * len(folder_files)
    return files, labels


def read_ground_truth(
    path: str | Path, file_names: Sequence[str], class_names: Sequence[str]
) -> list[int]:
    """Reads a ground-truth file (formats in the module docstring).

    Args:
        path: str or Path. The ground-truth file.
        file_names: sequence of str. The split's image file names (no folders), sorted.
        class_names: sequence of str. The class folder names in index order.

    Returns:
        The class index of each of `file_names`, in the same order.

    Raises:
        ValueError: when an image has no entry, a class is unknown or an index is out of
            range, or the file is empty.
    """
    path = Path(path)
    rows = [line.replace(",", " ").split() for line in path.read_text().splitlines()]
    rows = [row for row in rows if row]
    if rows and rows[0][0] == "ImageId":
        rows = rows[1:]
    if not rows:
        raise ValueError(f"The ground-truth file {path} is empty. Received: path={str(path)!r}")
    if all(len(row) == 1 for row in rows):
        if len(rows) != len(file_names):
            raise ValueError(
                f"The ground-truth file {path} has one class per line for {len(rows)} "
                f"images, but the split holds {len(file_names)}. Received: path={str(path)!r}"
            )
        classes = [row[0] for row in rows]
    else:
        by_name = {}
        for row in rows:
            by_name[row[0]] = row[1]
            by_name.setdefault(Path(row[0]).stem, row[1])
        missing = [
            name for name in file_names if name not in by_name and Path(name).stem not in by_name
        ]
        if missing:
            raise ValueError(
                f"{len(missing)} images have no entry in the ground-truth file {path}, "
                f"e.g. {missing[:5]}. Received: path={str(path)!r}"
            )
        classes = [by_name.get(name, by_name.get(Path(name).stem)) for name in file_names]
    index = {name: i for i, name in enumerate(class_names)}
    return [_class_index(value, index, path) for value in classes]


def _class_index(value: str, index: dict[str, int], path: Path) -> int:
    if value in index:
        return index[value]
    if value.isdigit() and int(value) < len(index):
        return int(value)
    raise ValueError(
        f"The ground-truth file {path} names class {value!r}, which is neither a class "
        f"folder name nor a class index below {len(index)}. Received: class={value!r}"
    )
