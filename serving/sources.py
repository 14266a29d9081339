"""Turns command-line image sources (files, folders, glob patterns) into file paths."""

from __future__ import annotations

import glob
from pathlib import Path
from typing import Iterable

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".gif", ".bmp", ".webp"})


def expand_sources(sources: Iterable[str]) -> list[str]:
    """Lists the image files that files, folders and glob patterns name.

    A folder contributes the files with an image extension below it (recursively,
    sorted); a glob pattern (`*`, `?`, `[...]`, `**`) contributes the files it matches
    (sorted); any other source is kept as given, so that a missing file is reported as
    unreadable together with the results of the others. Duplicates are dropped, first
    occurrence kept.

    Args:
        sources: iterable of str. Files, folders and glob patterns.

    Returns:
        The file paths, as strings.
    """
    paths: list[str] = []
    for source in sources:
        if Path(source).is_dir():
            paths.extend(
                str(p)
                for p in sorted(Path(source).rglob("*"))
                if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS
            )
        elif glob.has_magic(source) and not Path(source).exists():
            matches = sorted(m for m in glob.glob(source, recursive=True) if Path(m).is_file())
            paths.extend(matches or [source])
        else:
            paths.append(source)
    return list(dict.fromkeys(paths))


def read_file(path: str) -> bytes:
    """The bytes of a file, refusing empty files.

    Raises:
        OSError: the file cannot be read.
        ValueError: the file is empty.
    """
    data = Path(path).read_bytes()
    if not data:
        raise ValueError(f"The file is empty. Received: path={path!r}")
    return data
