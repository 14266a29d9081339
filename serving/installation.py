"""Finds the Triton Inference Server that the `nvidia-pytriton` wheel ships.

The wheel holds a real `tritonserver` binary, its Python backend
(`libtriton_python.so`, `triton_python_backend_utils.py`) and one
`triton_python_backend_stub` per Python version. Triton looks for the backend, the stub
and the utilities together in `<backend directory>/python/`, so `backend_directory`
assembles that folder out of links to the wheel's files, leaving the wheel untouched.
The stub needs the wheel's bundled libraries and a shared `libpython` on
`LD_LIBRARY_PATH`, and takes its site-packages from the first `python3` on `PATH`;
`server_environment` sets both for the running interpreter.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import sys
import sysconfig
from pathlib import Path

STUB_NAME = "triton_python_backend_stub"
BACKEND_FILES = ("libtriton_python.so", "triton_python_backend_utils.py")


class TritonNotFoundError(FileNotFoundError):
    """A part of the Triton installation that serving needs is missing."""


@dataclasses.dataclass(frozen=True)
class TritonInstallation:
    """The files of a Triton server able to run Python-backend models.

    Args:
        binary: Path. The `tritonserver` executable.
        python_backend: Path. Folder with `libtriton_python.so` and
            `triton_python_backend_utils.py`.
        stub: Path. The `triton_python_backend_stub` built for this Python version.
        library_dirs: tuple of Path. Folders the binary and the stub load shared
            libraries from (the wheel's bundled libraries and the folder of libpython).
        python_bin: Path. Folder whose `python3` the stub runs models with.
    """

    binary: Path
    python_backend: Path
    stub: Path
    library_dirs: tuple[Path, ...]
    python_bin: Path


def find_triton(
    package_dir: Path | None = None, python_version: str | None = None
) -> TritonInstallation:
    """Locates the `nvidia-pytriton` wheel's Triton server for the running Python.

    Args:
        package_dir: Path or None. The installed `pytriton` package folder. Defaults
            to the one the running Python imports.
        python_version: str or None. `"3.X"` version whose backend stub to use.
            Defaults to the running Python's.

    Returns:
        A `TritonInstallation`.

    Raises:
        TritonNotFoundError: the wheel, the binary, the Python backend, the stub for
            this Python version, or a shared libpython is missing.
    """
    package = Path(package_dir) if package_dir is not None else _pytriton_package()
    server_root = package / "tritonserver"
    version = python_version or f"{sys.version_info.major}.{sys.version_info.minor}"
    binary = _require(server_root / "bin" / "tritonserver", "tritonserver binary")
    python_backend = server_root / "backends" / "python"
    for name in BACKEND_FILES:
        _require(python_backend / name, "Python backend file")
    stub = _require(
        server_root / "python_backend_stubs" / version / STUB_NAME,
        f"Python backend stub for Python {version}",
    )
    return TritonInstallation(
        binary=binary,
        python_backend=python_backend,
        stub=stub,
        library_dirs=(package.parent / "nvidia_pytriton.libs", find_libpython().parent),
        python_bin=Path(sys.executable).parent,
    )


def find_libpython() -> Path:
    """The shared library of the running Python, which the backend stub links against.

    Raises:
        TritonNotFoundError: the interpreter was built without `--enable-shared`.
    """
    name = sysconfig.get_config_var("INSTSONAME") or sysconfig.get_config_var("LDLIBRARY")
    candidates = [
        Path(directory) / name
        for directory in (sysconfig.get_config_var("LIBDIR"), sys.base_prefix + "/lib")
        if directory and name
    ]
    for candidate in candidates:
        if candidate.is_file() and ".so" in candidate.name:
            return candidate
    raise TritonNotFoundError(
        "The Python backend stub needs a shared libpython, but this interpreter has none "
        "(build Python with --enable-shared, e.g. PYTHON_CONFIGURE_OPTS=--enable-shared "
        f"for pyenv). Received: candidates={[str(c) for c in candidates]}"
    )


def backend_directory(installation: TritonInstallation, directory: Path) -> Path:
    """Assembles a Triton backend directory holding the Python backend and its stub.

    Args:
        installation: TritonInstallation. Where the files come from.
        directory: Path. An empty or not yet existing folder to fill; it receives
            `python/` with links to the backend library, the utilities and the stub.

    Returns:
        `directory`, to pass as `--backend-directory`.
    """
    python_dir = Path(directory) / "python"
    python_dir.mkdir(parents=True, exist_ok=True)
    sources = [installation.python_backend / name for name in BACKEND_FILES]
    for source in [*sources, installation.stub]:
        link = python_dir / source.name
        if not link.exists():
            link.symlink_to(source)
    return Path(directory)


def server_environment(
    installation: TritonInstallation, base: dict[str, str] | None = None
) -> dict[str, str]:
    """The environment to run `tritonserver` with so that its stub finds this Python.

    Args:
        installation: TritonInstallation. The server to run.
        base: dict or None. Environment to extend. Defaults to `os.environ`.
    """
    env = dict(os.environ if base is None else base)
    library_path = [str(d) for d in installation.library_dirs]
    env["LD_LIBRARY_PATH"] = os.pathsep.join(
        library_path + [p for p in env.get("LD_LIBRARY_PATH", "").split(os.pathsep) if p]
    )
    env["PATH"] = os.pathsep.join(
        [str(installation.python_bin)] + [p for p in env.get("PATH", "").split(os.pathsep) if p]
    )
    return env


def _pytriton_package() -> Path:
    spec = importlib.util.find_spec("pytriton")
    if spec is None or not spec.submodule_search_locations:
        raise TritonNotFoundError(
            "The `nvidia-pytriton` package, which ships the tritonserver binary, is not "
            "installed: `pip install nvidia-pytriton` (or the project's `serving` extra). "
            f"Received: python={sys.executable}"
        )
    return Path(spec.submodule_search_locations[0])


def _require(path: Path, what: str) -> Path:
    if not path.is_file():
        raise TritonNotFoundError(
            f"The {what} is missing from the nvidia-pytriton installation; reinstall "
            f"nvidia-pytriton. Received: path={path}"
        )
    return path
