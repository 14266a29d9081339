"""Served vs in-process throughput and latency of the exported AlexNet.

Exports a model (a trained `--model-dir`, or the paper's full-size network with fresh
weights) to a temporary Triton repository, starts the real tritonserver on it, and for
each batch size measures the in-process SavedModel and then the served model over gRPC
at each concurrency, in the same run on the same machine. Each setting is
measured in each of `--rounds` rounds over all settings and its best round is kept
(other jobs on a shared machine only ever slow a round down). Prints a table and writes
the figures as JSON, with the machine's load averages and matmul rate before and after.

    python tools/benchmark_serving.py --output runs/benchmarks/serving.json
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import functools
import logging
import os
import sys
import tempfile
from pathlib import Path
from typing import Sequence

import numpy as np
import tensorflow as tf

import alexnet_tf
from alexnet_tf.benchmarking import machine_description, measure_matmul_gflops, write_report
from alexnet_tf.data.stats import IMAGENET_STATS
from alexnet_tf.export import (
    SIGNATURE_ENCODED,
    SIGNATURE_IMAGES,
    ServingConfig,
    export_model_dir,
    export_to_triton,
)
from serving.client import AlexNetClient
from serving.load import LoadResult, measure, measure_async
from serving.server import TritonServer

SIGNATURES = {"tensors": (SIGNATURE_IMAGES, "images"), "bytes": (SIGNATURE_ENCODED, "encoded")}
# Preprocessed tensors go inside the gRPC messages or through system shared memory;
# encoded images are small and always go inside the messages.
SERVED_MODES = {"tensors": ("grpc", "grpc+shm"), "bytes": ("grpc",)}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model-dir", type=Path, help="trained model directory; default: "
                        "the paper's full-size network with fresh weights")
    parser.add_argument("--input", choices=sorted(SIGNATURES), nargs="+",
                        default=["tensors", "bytes"],
                        help="what requests carry: preprocessed float32 tensors and/or "
                        "encoded JPEGs (default: both)")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 16, 64])
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--images", type=int, default=256,
                        help="images per measured round and setting (at least 8 requests)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per setting; best kept")
    parser.add_argument("--output", type=Path, default=Path("runs/benchmarks/serving.json"))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    with tempfile.TemporaryDirectory(prefix="alexnet_tf_benchmark_") as repository:
        serving = ServingConfig(max_batch_size=max(args.batch_sizes))
        if args.model_dir:
            version = export_model_dir(args.model_dir, repository, serving=serving)
        else:
            model = alexnet_tf.build_alexnet(1000)
            labels = [f"class_{i}" for i in range(1000)]
            version = export_to_triton(
                model, repository, labels=labels, stats=IMAGENET_STATS, serving=serving
            )
        savedmodel = tf.saved_model.load(str(version / "model.savedmodel"))
        machine_before = _machine_load()
        with TritonServer(repository, http_port=0, grpc_port=0, metrics_port=0) as server:
            results = asyncio.run(_run(args, savedmodel, server.grpc_url))
    print(format_results(results))
    report = {
        "command": ["python", "tools/benchmark_serving.py", *(argv or sys.argv[1:])],
        "machine": machine_description(),
        "before": machine_before,
        "after": _machine_load(),
        "results": results,
    }
    print(f"written to {write_report(report, args.output)}")
    return 0


def _machine_load() -> dict:
    """How busy the shared machine is: load averages and its float32 matmul rate now."""
    return {"load_average": os.getloadavg(), "matmul_gflops_float32": measure_matmul_gflops()}


async def _run(args: argparse.Namespace, savedmodel, url: str) -> list[dict]:
    async with AlexNetClient(url) as plain, AlexNetClient(url, shared_memory=True) as shared:
        info = await plain.wait_until_ready(timeout=300)
        clients = {"grpc": plain, "grpc+shm": shared}
        runs = {}  # (input, batch size, mode, concurrency) -> async measurement
        for kind in args.input:
            signature_name, argument = SIGNATURES[kind]
            signature = savedmodel.signatures[signature_name]
            for batch_size in args.batch_sizes:
                images = _images(kind, batch_size, info.image_size)
                payload = images if kind == "tensors" else list(images)
                requests = max(8, args.images // batch_size)
                runs[(kind, batch_size, "in-process", 1)] = functools.partial(
                    _in_process, signature, {argument: tf.constant(images)}, batch_size, requests)
                for mode in SERVED_MODES[kind]:
                    for concurrency in args.concurrency:
                        runs[(kind, batch_size, mode, concurrency)] = functools.partial(
                            _served, clients[mode], payload, batch_size, concurrency, requests)
        best = await _best_of_rounds(runs, args.rounds)
    return [
        {"input": kind, "mode": mode, **dataclasses.asdict(result),
         "fraction_of_in_process":
             result.images_per_second / best[(kind, batch, "in-process", 1)].images_per_second}
        for (kind, batch, mode, _), result in best.items()
    ]


async def _in_process(signature, inputs: dict, batch_size: int, requests: int) -> LoadResult:
    return measure(lambda: signature(**inputs)["probabilities"].numpy(),
                   batch_size=batch_size, requests=requests)


async def _served(client, payload, batch_size, concurrency, requests) -> LoadResult:
    return await measure_async(lambda: client.probabilities(payload), batch_size=batch_size,
                               concurrency=concurrency, requests=requests)


async def _best_of_rounds(runs: dict, rounds: int) -> dict:
    """Runs every setting once per round and keeps each one's best round.

    Each round goes through all settings, so a setting's rounds are spread over the whole
    benchmark and a burst of other work on the machine spoils few of them.
    """
    best: dict = {}
    for _ in range(rounds):
        for key, run in runs.items():
            result = await run()
            if key not in best or result.images_per_second > best[key].images_per_second:
                best[key] = result
    return best


def format_results(results: list[dict]) -> str:
    """The results as a Markdown table."""
    lines = [
        "| input | batch | mode | concurrency | images/s | p50 ms | p99 ms | vs in-process |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['input']} | {r['batch_size']} | {r['mode']} | {r['concurrency']} | "
            f"{r['images_per_second']:.1f} | {r['latency_p50_ms']:.1f} | "
            f"{r['latency_p99_ms']:.1f} | {100 * r['fraction_of_in_process']:.0f}% |"
        )
    return "\n".join(lines)


def _images(kind: str, batch_size: int, size: int) -> np.ndarray:
    """A batch of smooth random pictures: preprocessed floats, or JPEG files."""
    rng = np.random.default_rng(0)
    low = rng.uniform(0, 255, (batch_size, 8, 8, 3)).astype(np.float32)
    pictures = tf.image.resize(low, [size, size], method="bicubic").numpy()
    if kind == "tensors":
        return pictures - np.asarray(IMAGENET_STATS.mean_rgb, np.float32)
    pixels = tf.cast(tf.clip_by_value(tf.round(pictures), 0, 255), tf.uint8)
    return np.array([tf.io.encode_jpeg(p, quality=90).numpy() for p in pixels], dtype=object)


if __name__ == "__main__":
    sys.exit(main())
