"""Human-readable class labels: one line per class, in class-index order.

`labels.txt` travels with a data set and on to serving (Triton's `label_filename`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

LABELS_FILENAME = "labels.txt"


def read_labels(path: str | Path) -> list[str]:
    """Reads a labels file: line `i` is the label of class `i`.

    Args:
        path: str or Path. The labels file, or a folder holding `labels.txt`.

    Returns:
        The labels, in class-index order.

    Raises:
        FileNotFoundError: when the file does not exist.
        ValueError: when the file is empty or has a blank line.
    """
    path = Path(path)
    if path.is_dir():
        path = path / LABELS_FILENAME
    if not path.is_file():
        raise FileNotFoundError(f"No labels file at {path}. Received: path={str(path)!r}")
    labels = path.read_text(encoding="utf-8").splitlines()
    while labels and not labels[-1].strip():
        labels.pop()
    if not labels:
        raise ValueError(f"The labels file {path} is empty. Received: path={str(path)!r}")
    blank = [i + 1 for i, label in enumerate(labels) if not label.strip()]
    if blank:
        raise ValueError(
            f"The labels file {path} has blank lines {blank[:5]}; every class needs a "
            f"label. Received: path={str(path)!r}"
        )
    return [label.strip() for label in labels]


def write_labels(labels: Iterable[str], path: str | Path) -> Path:
    """Writes one label per line, in class-index order.

    Args:
        labels: iterable of str. The labels of classes 0, 1, ...; none may be blank or
            hold a line break.
        path: str or Path. The file to write, or a folder to write `labels.txt` into.

    Returns:
        The path of the written file.
    """
    labels = list(labels)
    bad = [label for label in labels if not str(label).strip() or "\n" in str(label)]
    if not labels or bad:
        raise ValueError(
            "Labels must be a non-empty list of non-blank single-line strings. "
            f"Received: labels={bad[:5] if bad else labels!r}"
        )
    path = Path(path)
    if path.is_dir():
        path = path / LABELS_FILENAME
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{label}\n" for label in labels), encoding="utf-8")
    return path
