"""Writing output files so that an interruption never leaves a half-written one."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Iterator


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yields a temporary path beside `path`, renamed onto `path` when the block succeeds.

    The temporary name keeps `path`'s suffix (Keras checks it), and the rename is
    atomic on POSIX file systems, so readers see the old file or the new one, never a
    partial write, even after a kill or power loss.

    Args:
        path: str or Path. The file to (over)write.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".tmp-{path.name}")
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def write_text_atomically(path: str | os.PathLike, text: str) -> Path:
    """Writes `text` to `path` through `atomic_path` and returns the path."""
    with atomic_path(path) as temporary:
        temporary.write_text(text)
    return Path(path)
