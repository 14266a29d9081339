"""Runs the real `tritonserver` binary on a model repository, as a context manager.

Example:

>>> with TritonServer("repository", http_port=0, grpc_port=0, metrics_port=0) as server:
...     print(server.grpc_url)  # e.g. "127.0.0.1:40123"; the server is ready here
"""

from __future__ import annotations

import collections
import ctypes
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from serving.installation import (
    TritonInstallation,
    backend_directory,
    find_triton,
    server_environment,
)

LOCALHOST = "127.0.0.1"
# A batch of 64 float32 227x227x3 images is 40 MB; the Python backend's shared memory
# otherwise starts at 1 MB and grows 1 MB at a time.
DEFAULT_SHM_BYTES = 128 * 1024 * 1024
DEFAULT_SHM_GROWTH_BYTES = 32 * 1024 * 1024
_LOG_TAIL_LINES = 40
_PR_SET_PDEATHSIG = 1
_LIBC = ctypes.CDLL(None, use_errno=True)
_LEVELS = {"E": logging.ERROR, "W": logging.WARNING}

logger = logging.getLogger(__name__)
# tritonserver's own log lines, forwarded at the level they were written at.
triton_logger = logging.getLogger("serving.tritonserver")


class PortInUseError(OSError):
    """A port the server was asked to listen on is taken."""


class ServerStartError(RuntimeError):
    """`tritonserver` exited or did not become ready in time."""


def free_port(address: str = LOCALHOST) -> int:
    """A TCP port on `address` that nothing listens on at the time of the call."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((address, 0))
        return sock.getsockname()[1]


class TritonServer:
    """The real Triton Inference Server, running a model repository in a child process.

    `start()` (or entering the `with` block) launches `tritonserver` with the Python
    backend and the stub for the running Python, forwards its log lines to the
    `serving.tritonserver` logger, and returns once the server and all its models are
    ready. `stop()` (or leaving the block) sends SIGINT, which makes Triton unload its
    models and exit, and kills it if it has not exited in `stop_timeout` seconds. The
    server runs in its own session (a Ctrl-C in the terminal reaches this process only,
    which then stops the server) and gets SIGTERM if the thread that started it dies.

    Args:
        repository: str or Path. The model repository.
        address: str. Address the HTTP, gRPC and metrics endpoints bind to.
            Defaults to `"127.0.0.1"`; use `"0.0.0.0"` to serve other machines.
        http_port: int. HTTP/REST port; `0` picks a free one. Defaults to `8000`.
        grpc_port: int. gRPC port; `0` picks a free one. Defaults to `8001`.
        metrics_port: int. Prometheus metrics port; `0` picks a free one.
            Defaults to `8002`.
        shm_byte_size: int. Initial shared memory of each Python-backend model
            instance, which carries its requests and responses. Defaults to 128 MiB.
        shm_growth_byte_size: int. Step by which that memory grows. Defaults to 32 MiB.
        stub_timeout_seconds: int. How long Triton waits for a backend stub, which
            imports TensorFlow when it loads a model. Defaults to `300`.
        log_verbose: int. Triton's `--log-verbose` level. Defaults to `0`.
        extra_args: sequence of str. More `tritonserver` flags. Defaults to `()`.
        installation: TritonInstallation or None. The server to run. Defaults to
            `find_triton()`.
    """

    def __init__(
        self,
        repository: str | os.PathLike,
        *,
        address: str = LOCALHOST,
        http_port: int = 8000,
        grpc_port: int = 8001,
        metrics_port: int = 8002,
        shm_byte_size: int = DEFAULT_SHM_BYTES,
        shm_growth_byte_size: int = DEFAULT_SHM_GROWTH_BYTES,
        stub_timeout_seconds: int = 300,
        log_verbose: int = 0,
        extra_args: tuple[str, ...] | list[str] = (),
        installation: TritonInstallation | None = None,
    ):
        self.repository = Path(repository).resolve()
        if not self.repository.is_dir():
            raise FileNotFoundError(
                f"The model repository is not a directory. Received: repository={repository}"
            )
        self.address = address
        ports = {"http_port": http_port, "grpc_port": grpc_port, "metrics_port": metrics_port}
        for name, port in ports.items():
            if not 0 <= port < 65536:
                raise ValueError(f"`{name}` must be in [0, 65535]. Received: {name}={port}")
        self.http_port, self.grpc_port, self.metrics_port = (
            port or free_port(address) for port in ports.values()
        )
        self.shm_byte_size = shm_byte_size
        self.shm_growth_byte_size = shm_growth_byte_size
        self.stub_timeout_seconds = stub_timeout_seconds
        self.log_verbose = log_verbose
        self.extra_args = tuple(extra_args)
        self.installation = installation or find_triton()
        self._process: subprocess.Popen | None = None
        self._backend_dir: Path | None = None
        self._log_thread: threading.Thread | None = None
        self._log_tail: collections.deque[str] = collections.deque(maxlen=_LOG_TAIL_LINES)

    @property
    def http_url(self) -> str:
        """`host:port` of the HTTP endpoint, as tritonclient expects it."""
        return f"{self._client_host}:{self.http_port}"

    @property
    def grpc_url(self) -> str:
        """`host:port` of the gRPC endpoint, as tritonclient expects it."""
        return f"{self._client_host}:{self.grpc_port}"

    @property
    def metrics_url(self) -> str:
        """URL of the Prometheus metrics page."""
        return f"http://{self._client_host}:{self.metrics_port}/metrics"

    @property
    def running(self) -> bool:
        """Whether the server process has been started and not exited."""
        return self._process is not None and self._process.poll() is None

    def command(self, backend_dir: Path) -> list[str]:
        """The `tritonserver` command line, given the assembled backend directory."""
        return [
            str(self.installation.binary),
            f"--model-repository={self.repository}",
            f"--backend-directory={backend_dir}",
            f"--http-address={self.address}",
            f"--http-port={self.http_port}",
            f"--grpc-address={self.address}",
            f"--grpc-port={self.grpc_port}",
            f"--metrics-address={self.address}",
            f"--metrics-port={self.metrics_port}",
            "--allow-gpu-metrics=false",
            "--strict-readiness=true",
            f"--log-verbose={self.log_verbose}",
            f"--backend-config=python,shm-default-byte-size={self.shm_byte_size}",
            f"--backend-config=python,shm-growth-byte-size={self.shm_growth_byte_size}",
            f"--backend-config=python,stub-timeout-seconds={self.stub_timeout_seconds}",
            # Servers sharing /dev/shm need distinct region names.
            "--backend-config=python,shm-region-prefix-name="
            f"alexnet_tf_{os.getpid()}_{secrets.token_hex(4)}",
            *self.extra_args,
        ]

    def start(self, timeout: float = 300.0) -> "TritonServer":
        """Launches the server and waits until it and its models are ready.

        Args:
            timeout: float. Seconds to wait for readiness. Defaults to `300`.

        Returns:
            This server.

        Raises:
            PortInUseError: a requested port is taken.
            ServerStartError: the server exited, or was not ready within `timeout`.
        """
        if self._process is not None:
            raise RuntimeError(f"The server was already started. Received: pid={self._process.pid}")
        for name, port in (
            ("http_port", self.http_port),
            ("grpc_port", self.grpc_port),
            ("metrics_port", self.metrics_port),
        ):
            _check_port_free(self.address, port, name)
        self._backend_dir = backend_directory(
            self.installation, Path(tempfile.mkdtemp(prefix="alexnet_tf_triton_backends_"))
        )
        command = self.command(self._backend_dir)
        logger.info("Starting %s", " ".join(command))
        try:
            self._process = subprocess.Popen(
                command,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=server_environment(self.installation),
                text=True,
                errors="replace",
                # Its own session: a Ctrl-C reaches only us, and we stop the server in order.
                start_new_session=True,
                preexec_fn=_stop_when_parent_dies,
            )
            self._log_thread = threading.Thread(target=self._forward_logs, daemon=True)
            self._log_thread.start()
            self._wait_until_ready(timeout)
        except BaseException:
            self.stop()
            raise
        logger.info("Triton is ready: HTTP %s, gRPC %s", self.http_url, self.grpc_url)
        return self

    def wait(self) -> int:
        """Blocks until the server process exits; returns its exit code."""
        if self._process is None:
            raise RuntimeError("The server was not started.")
        return self._process.wait()

    def stop(self, stop_timeout: float = 60.0) -> int | None:
        """Stops the server: SIGINT, then SIGKILL after `stop_timeout` seconds.

        Args:
            stop_timeout: float. Seconds to let Triton unload its models. Defaults to `60`.

        Returns:
            The exit code, or None if the server was never started.
        """
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(stop_timeout)
            except subprocess.TimeoutExpired:
                logger.warning("tritonserver did not stop in %s s; killing it", stop_timeout)
                process.kill()
                process.wait()
        if self._log_thread is not None:
            self._log_thread.join(timeout=5)
            self._log_thread = None
        if self._backend_dir is not None:
            shutil.rmtree(self._backend_dir, ignore_errors=True)
            self._backend_dir = None
        return None if process is None else process.returncode

    def __enter__(self) -> "TritonServer":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def _client_host(self) -> str:
        return LOCALHOST if self.address in ("0.0.0.0", "") else self.address

    def _forward_logs(self) -> None:
        process = self._process
        for line in process.stdout:
            line = line.rstrip()
            if line:
                self._log_tail.append(line)
                triton_logger.log(_LEVELS.get(line[0], logging.INFO), "%s", line)
        process.stdout.close()

    def _wait_until_ready(self, timeout: float) -> None:
        url = f"http://{self._client_host}:{self.http_port}/v2/health/ready"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            code = self._process.poll()
            if code is not None:
                self._log_thread.join(timeout=5)
                raise ServerStartError(
                    f"tritonserver exited with code {code} before it was ready. Last log "
                    "lines:\n" + "\n".join(self._log_tail) + f"\nReceived: repository={self.repository}"
                )
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.25)
        raise ServerStartError(
            f"tritonserver was not ready within {timeout} s. Last log lines:\n"
            + "\n".join(self._log_tail)
            + f"\nReceived: timeout={timeout}"
        )


def _stop_when_parent_dies() -> None:
    """Runs in the child before `exec`: Linux sends it SIGTERM if this process dies, so a
    killed test run or notebook does not leave a server holding ports and memory."""
    _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _check_port_free(address: str, port: int, name: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # Like the server itself: a port held only by closed connections is free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((address, port))
        except OSError as error:
            raise PortInUseError(
                error.errno,
                f"Cannot serve on {address}:{port}: the port is in use ({error.strerror}); "
                f"choose another `{name}`. Received: {name}={port}",
            ) from error
