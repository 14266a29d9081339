"""Serves a Triton model repository with the real tritonserver until Ctrl-C.

    python tools/serve.py --repository model_repository

Binds 127.0.0.1 unless `--address` says otherwise; Triton's log lines are forwarded
to stderr. Ctrl-C (or SIGTERM) unloads the models and stops the server.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from pathlib import Path
from typing import Sequence

from serving.installation import TritonNotFoundError
from serving.server import (
    DEFAULT_SHM_BYTES,
    LOCALHOST,
    PortInUseError,
    ServerStartError,
    TritonServer,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repository", type=Path, required=True, help="Triton model repository")
    parser.add_argument("--address", default=LOCALHOST,
                        help="address to bind (default: %(default)s; 0.0.0.0 serves other machines)")
    parser.add_argument("--http-port", type=int, default=8000, help="0 picks a free port")
    parser.add_argument("--grpc-port", type=int, default=8001, help="0 picks a free port")
    parser.add_argument("--metrics-port", type=int, default=8002, help="0 picks a free port")
    parser.add_argument("--shm-bytes", type=int, default=DEFAULT_SHM_BYTES,
                        help="initial Python-backend shared memory per model instance")
    parser.add_argument("--timeout", type=float, default=300.0,
                        help="seconds to wait for the models to load (default: %(default)s)")
    parser.add_argument("--log-verbose", type=int, default=0, help="Triton's --log-verbose level")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    # Ctrl-C stops the server, also when started where SIGINT was ignored (a background
    # job of a script); a service manager stops with SIGTERM: the same.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        server = TritonServer(
            args.repository,
            address=args.address,
            http_port=args.http_port,
            grpc_port=args.grpc_port,
            metrics_port=args.metrics_port,
            shm_byte_size=args.shm_bytes,
            log_verbose=args.log_verbose,
        )
    except (TritonNotFoundError, FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    try:
        server.start(timeout=args.timeout)
        print(
            f"Serving {args.repository}: HTTP {server.http_url}, gRPC {server.grpc_url}, "
            f"metrics {server.metrics_url}. Ctrl-C stops.",
            flush=True,
        )
        code = server.wait()
        print(f"error: tritonserver exited with code {code}", file=sys.stderr)
        return 1
    except (PortInUseError, ServerStartError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        code = server.stop()
        print("Stopped." if code in (0, None) else f"Stopped; tritonserver exit code {code}.",
              file=sys.stderr)
        return 0 if code in (0, None) else 1
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
