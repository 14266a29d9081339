"""Benchmark: training and inference images/s of AlexNet beside the machine's matmul rate.

Usage:
    python tools/benchmark_model.py [--batch-size 128] [--dtypes float32 bfloat16] [--rounds 3]

Each round measures the matmul rate, then every dtype's training and inference; the
report keeps each figure's best round, so that other jobs on a shared machine bias the
ratios as little as possible.
"""

from __future__ import annotations

import argparse
import logging
import sys

import keras
import tensorflow as tf

import alexnet_tf
from alexnet_tf.benchmarking import (
    machine_description,
    measure_matmul_gflops,
    time_call,
    training_flops,
    write_report,
)

POLICIES = {"float32": "float32", "bfloat16": "mixed_bfloat16", "float16": "mixed_float16"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=128, help="images per step (default: 128)")
    parser.add_argument("--steps", type=int, default=5, help="timed steps per measurement (default: 5)")
    parser.add_argument(
        "--dtypes", nargs="+", choices=sorted(POLICIES), default=["float32", "bfloat16"],
        help="compute dtypes to measure (default: float32 bfloat16)",
    )
    parser.add_argument("--rounds", type=int, default=3, help="measurement rounds (default: 3)")
    parser.add_argument("--towers", type=int, choices=(1, 2), default=2, help="default: 2")
    parser.add_argument("--output", default="runs/benchmarks/model.json", help="JSON report path")
    return parser


def build_compiled_model(dtype: str, towers: int) -> keras.Model:
    """The full-size network under `dtype`'s precision policy, compiled with the paper's SGD."""
    model = alexnet_tf.build_alexnet(towers=towers, dtype=POLICIES[dtype])
    model.compile(
        optimizer=keras.optimizers.SGD(0.01, momentum=0.9),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    return model


def measure_model(model: keras.Model, batch_size: int, steps: int) -> dict:
    """Training and inference images/s of `model` on one in-memory batch."""
    images = tf.random.uniform((batch_size, 227, 227, 3), -128.0, 128.0)
    labels = tf.random.uniform((batch_size,), 0, 1000, tf.int32)
    train_seconds = time_call(model.train_on_batch, images, labels, repeats=steps, warmup=1)
    predict = tf.function(lambda x: model(x, training=False))
    predict_seconds = time_call(predict, images, repeats=steps, warmup=1)
    return {
        "train_images_per_s": batch_size / train_seconds,
        "inference_images_per_s": batch_size / predict_seconds,
        "train_gflops": batch_size * training_flops(model) / train_seconds / 1e9,
    }


def best_of(rounds: list[dict]) -> dict:
    """The highest value of every figure over the rounds."""
    return {key: max(figures[key] for figures in rounds) for key in rounds[0]}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    models = {dtype: build_compiled_model(dtype, args.towers) for dtype in args.dtypes}
    matmul_rounds, model_rounds = [], {dtype: [] for dtype in args.dtypes}
    for round_index in range(args.rounds):
        logging.info("round %d of %d ...", round_index + 1, args.rounds)
        matmul_rounds.append({dtype: measure_matmul_gflops(dtype) for dtype in ("float32", "bfloat16")})
        for dtype, model in models.items():
            model_rounds[dtype].append(measure_model(model, args.batch_size, args.steps))
    matmul = best_of(matmul_rounds)
    results = {dtype: best_of(rounds) for dtype, rounds in model_rounds.items()}
    for figures in results.values():
        figures["train_fraction_of_fp32_matmul"] = figures["train_gflops"] / matmul["float32"]
    if "float32" in results:
        for figures in results.values():
            figures["train_speedup_vs_float32"] = (
                figures["train_images_per_s"] / results["float32"]["train_images_per_s"]
            )
    report = {
        "machine": machine_description(),
        "batch_size": args.batch_size,
        "towers": args.towers,
        "rounds": args.rounds,
        "matmul_gflops": matmul,
        "results": results,
    }
    print(f"matmul: float32 {matmul['float32']:.0f} GFLOP/s, bfloat16 {matmul['bfloat16']:.0f} GFLOP/s")
    print(f"{'dtype':10s} {'train img/s':>12s} {'infer img/s':>12s} {'train GFLOP/s':>14s} {'of fp32 matmul':>15s}")
    for dtype, figures in results.items():
        print(
            f"{dtype:10s} {figures['train_images_per_s']:12.1f} {figures['inference_images_per_s']:12.1f} "
            f"{figures['train_gflops']:14.0f} {figures['train_fraction_of_fp32_matmul']:15.0%}"
        )
    print(f"written to {write_report(report, args.output)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
