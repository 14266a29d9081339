"""Measures training input-pipeline throughput (images/s) beside a plain Pillow loader.

Generates photograph-like JPEGs once in --workdir (256x256 files, the same bytes as
TFRecord shards, and larger "raw" files), then times the full training augmentation
from each with tf.data and with a single-process Pillow + numpy loader. Prints a table
and writes the figures as JSON. Run under `taskset -c 0` to measure one core.

Examples:
    python tools/benchmark_data.py
    python tools/benchmark_data.py --workdir /tmp/bench --batches 60 --out runs/bench.json
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Sequence

from alexnet_tf.data.benchmark import run_benchmark


def _size(value: str) -> tuple[int, int]:
    width, _, height = value.partition("x")
    return int(width), int(height)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", help="Folder for the generated files (default: a temporary folder).")
    parser.add_argument("--out", default="runs/benchmark_data.json", help="JSON output (default: runs/benchmark_data.json).")
    parser.add_argument("--num-images", type=int, default=2048, help="256x256 images (default: 2048).")
    parser.add_argument("--raw-images", type=int, default=512, help="Raw images (default: 512).")
    parser.add_argument("--raw-size", type=_size, default=(500, 375), help="Raw image WIDTHxHEIGHT (default: 500x375).")
    parser.add_argument("--batch-size", type=int, default=128, help="Batch size (default: 128).")
    parser.add_argument("--batches", type=int, default=30, help="Timed batches per loader (default: 30).")
    parser.add_argument("--warmup-batches", type=int, default=3, help="Untimed first batches (default: 3).")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        report = run_benchmark(
            args.workdir or scratch, num_images=args.num_images, raw_images=args.raw_images,
            raw_size=args.raw_size, batch_size=args.batch_size, batches=args.batches,
            warmup_batches=args.warmup_batches,
        )
    results = report["results"]
    pillow = {r["files"]: r for r in results if r["loader"] != "tf.data"}
    print(f"{'loader':<14}{'files':<26}{'images/s':>9}{'cores':>6}{'per core':>9}{'per CPU-s':>10}"
          f"{'/ Pillow per core':>18}{'per CPU-s / Pillow':>19}")
    for r in results:
        baseline = pillow[r["files"].replace("TFRecords", "folder")]
        print(f"{r['loader']:<14}{r['files']:<26}{r['images_per_second']:>9.0f}{r['cores']:>6}"
              f"{r['images_per_second_per_core']:>9.0f}{r['images_per_cpu_second']:>10.0f}"
              f"{r['images_per_second'] / baseline['images_per_second']:>17.2f}x"
              f"{r['images_per_cpu_second'] / baseline['images_per_cpu_second']:>18.2f}x")
    machine = report["machine"]
    print(f"cores: {machine['cores']}, load average before/after: "
          f"{machine['load_average_before'][0]:.2f}/{machine['load_average_after'][0]:.2f}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
