"""Classifies image files, folders or glob patterns with a model served by Triton.

    python tools/classify.py photos/ 'more/**/*.jpg' --top-k 5
    python tools/classify.py photos/ --protocol http --format jsonl > results.jsonl

Exits with 0 when every image was classified, 1 when some could not be (each one is
reported in the output, beside the others' results), 2 when the server is unusable.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Sequence

from tritonclient.utils import InferenceServerException

from serving.batch import ImageResult, classify_files
from serving.client import DEFAULT_URLS, PROTOCOLS, AlexNetClient, ModelMismatchError
from serving.report import format_table, to_json_line
from serving.sources import expand_sources


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sources", nargs="+", help="image files, folders or glob patterns")
    parser.add_argument("--protocol", choices=PROTOCOLS, default="grpc")
    parser.add_argument("--url", help=f"server host:port (default: {DEFAULT_URLS})")
    parser.add_argument("--model-name", default="alexnet")
    parser.add_argument("--model-version", default="", help="default: the newest served")
    parser.add_argument("--top-k", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=16, help="images per request")
    parser.add_argument("--concurrency", type=int, default=4, help="requests in flight")
    parser.add_argument("--format", choices=("table", "jsonl"), default="table")
    parser.add_argument("--timeout", type=float, default=30.0,
                        help="seconds to wait for the server to be ready (default: %(default)s)")
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="progress bar on stderr (default: when stderr is a terminal)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    paths = expand_sources(args.sources)
    progress = sys.stderr.isatty() if args.progress is None else args.progress
    try:
        results = asyncio.run(_classify(args, paths, progress))
    except (OSError, ModelMismatchError, InferenceServerException) as error:  # incl. TimeoutError
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.format == "jsonl":
        for result in results:
            print(to_json_line(result))
    else:
        print(format_table(results))
    failed = sum(result.error is not None for result in results)
    if failed:
        print(f"{failed} of {len(results)} images could not be classified", file=sys.stderr)
    return 1 if failed else 0


async def _classify(args: argparse.Namespace, paths: list[str], progress: bool) -> list[ImageResult]:
    async with AlexNetClient(
        args.url, protocol=args.protocol, model_name=args.model_name,
        model_version=args.model_version,
    ) as client:
        await client.wait_until_ready(timeout=args.timeout)
        return await classify_files(
            client, paths, top_k=args.top_k, batch_size=args.batch_size,
            concurrency=args.concurrency, progress=progress,
        )


if __name__ == "__main__":
    sys.exit(main())
