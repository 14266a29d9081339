"""Benchmark: training images/s of the training loop per strategy, beside the matmul rate.

Runs `alexnet_tf.training.Trainer` steps of the full-size network on in-memory batches
(no input pipeline) on one device, mirrored over two logical CPUs, and with the paper's
two towers on two logical CPUs, and measures the machine's fp32 matmul rate before and
after in the same process. On CPUs the logical devices share the same cores, so the
distributed paths show their overhead against one device. Each strategy's figure is the
best of several rounds in which the strategies take turns.

Usage:
    python tools/benchmark_training.py [--batch-size 128] [--steps 5] [--dtype float32]
"""

from __future__ import annotations

import argparse
import logging
import sys
import time

import keras
import tensorflow as tf

from alexnet_tf.benchmarking import (
    machine_description,
    measure_matmul_gflops,
    training_flops,
    write_report,
)
from alexnet_tf.models import build_alexnet
from alexnet_tf.training import Distribution, PaperSGD, Trainer
from alexnet_tf.training.strategy import configure_virtual_devices, local_devices, make_distribution

STRATEGIES = ("one-device", "mirrored", "towers")
POLICIES = {"float32": "float32", "bfloat16": "mixed_bfloat16"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=128, help="global batch (default: 128)")
    parser.add_argument("--steps", type=int, default=5, help="timed steps per strategy (default: 5)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps first (default: 2)")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds, strategies taking turns (default: 3)")
    parser.add_argument(
        "--strategies", nargs="+", choices=STRATEGIES, default=list(STRATEGIES),
        help="strategies to measure (default: all)",
    )
    parser.add_argument("--dtype", choices=sorted(POLICIES), default="float32", help="default: float32")
    parser.add_argument("--width-multiplier", type=float, default=1.0, help="default: 1.0 (full size)")
    parser.add_argument("--output", default="runs/benchmarks/training.json", help="JSON report path")
    return parser


def distribution_for(name: str) -> Distribution:
    """The strategy measured as `name`, on the two logical CPUs (or GPUs)."""
    if name == "one-device":
        return Distribution(name, tf.distribute.get_strategy(), tuple(local_devices()[:1]))
    return make_distribution("towers" if name == "towers" else "auto")


class StrategyBench:
    """A warmed-up trainer of the full-size network under one strategy, ready to be timed."""

    def __init__(self, name: str, args: argparse.Namespace):
        self.name = name
        self.batch_size = args.batch_size
        self.distribution = distribution_for(name)
        strategy = self.distribution.strategy
        keras.utils.set_random_seed(0)
        with strategy.scope():
            model = build_alexnet(
                1000, width_multiplier=args.width_multiplier,
                tower_devices=self.distribution.tower_devices, dtype=POLICIES[args.dtype],
            )
            optimizer = PaperSGD(learning_rate=0.01)
            optimizer.build(model.trainable_variables)
        self.flops_per_image = training_flops(model)
        self.trainer = Trainer(model, optimizer, strategy, global_batch_size=args.batch_size)

        def batches(context: tf.distribute.InputContext) -> tf.data.Dataset:
            size = context.get_per_replica_batch_size(args.batch_size)
            images = tf.random.uniform((size, 227, 227, 3), -128.0, 128.0, seed=1)
            labels = tf.random.uniform((size,), 0, 1000, tf.int32, seed=2)
            return tf.data.Dataset.from_tensors((images, labels)).repeat()

        self.iterator = iter(strategy.distribute_datasets_from_function(batches))
        self.time_steps(args.warmup)

    def time_steps(self, steps: int) -> float:
        """Seconds per step over `steps` steps, waiting for the last one to finish."""
        start = time.perf_counter()
        for _ in range(steps):
            sums = self.trainer.train_step(self.iterator)
        float(sums["loss"])
        return (time.perf_counter() - start) / steps


def measure(args: argparse.Namespace) -> dict:
    """Images/s per strategy: the best of `args.rounds` rounds that take turns, so that
    load from other processes on a shared machine hits every strategy alike."""
    benches = [StrategyBench(name, args) for name in args.strategies]
    seconds = {bench.name: [] for bench in benches}
    for _ in range(args.rounds):
        for bench in benches:
            seconds[bench.name].append(bench.time_steps(args.steps))
    results = {}
    for bench in benches:
        best = min(seconds[bench.name])
        results[bench.name] = {
            "distribution": bench.distribution.describe(),
            "step_seconds": seconds[bench.name],
            "images_per_s": args.batch_size / best,
            "train_gflops": args.batch_size * bench.flops_per_image / best / 1e9,
        }
    return results


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    configure_virtual_devices(2)
    matmul_before = measure_matmul_gflops("float32")
    results = measure(args)
    matmul_after = measure_matmul_gflops("float32")
    if "one-device" in results:
        baseline = results["one-device"]["images_per_s"]
        for result in results.values():
            result["cost_vs_one_device"] = 1.0 - result["images_per_s"] / baseline
    report = {
        "benchmark": "training",
        "command": " ".join(["python", "tools/benchmark_training.py", *(argv if argv is not None else sys.argv[1:])]),
        "machine": machine_description(),
        "batch_size": args.batch_size,
        "dtype": args.dtype,
        "width_multiplier": args.width_multiplier,
        "timed_steps": args.steps,
        "rounds": args.rounds,
        "fp32_matmul_gflops": {"before": matmul_before, "after": matmul_after},
        "strategies": results,
    }
    print(f"fp32 matmul: {matmul_before:.0f} GFLOP/s before, {matmul_after:.0f} GFLOP/s after")
    print(f"{'strategy':<12}{'images/s':>10}{'GFLOP/s':>9}{'cost':>8}  devices")
    for name, result in results.items():
        cost = result.get("cost_vs_one_device")
        print(
            f"{name:<12}{result['images_per_s']:>10.1f}{result['train_gflops']:>9.0f}"
            f"{'' if cost is None else f'{cost:>+8.1%}'}  {result['distribution']}"
        )
    print(f"report: {write_report(report, args.output)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
