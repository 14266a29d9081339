"""Measurements shared by the benchmark tools: machine matmul rate, model FLOPs, timing.

Figures on shared machines are noisy, so every benchmark reports its throughput beside
the machine's own matmul rate measured in the same run.
"""

from __future__ import annotations

import json
import math
import os
import platform
import time
from pathlib import Path
from typing import Callable

import keras
import tensorflow as tf

from alexnet_tf.hardware import cpu_model
from alexnet_tf.layers.towers import TowerStage


def measure_matmul_gflops(dtype: str = "float32", size: int = 4096, repeats: int = 10) -> float:
    """The machine's dense matrix-multiply rate in GFLOP/s, measured now.

    Args:
        dtype: str. Element type, e.g. `"float32"` or `"bfloat16"`. Defaults to `"float32"`.
        size: int. Side of the square matrices. Defaults to `4096`.
        repeats: int. Timed multiplications after one warm-up. Defaults to `10`.
    """
    a = tf.cast(tf.random.normal((size, size)), dtype)
    b = tf.cast(tf.random.normal((size, size)), dtype)
    seconds = time_call(tf.function(tf.matmul), a, b, repeats=repeats)
    return 2.0 * size**3 / seconds / 1e9


def time_call(function: Callable, *args, repeats: int = 5, warmup: int = 1) -> float:
    """Mean wall-clock seconds of `function(*args)`, waiting for its results each time."""
    for _ in range(warmup):
        tf.nest.map_structure(_materialize, function(*args))
    start = time.perf_counter()
    for _ in range(repeats):
        result = function(*args)
    tf.nest.map_structure(_materialize, result)
    return (time.perf_counter() - start) / repeats


def _materialize(value):
    return value.numpy() if isinstance(value, tf.Tensor) else value


def forward_flops(model: keras.Model) -> tuple[int, int]:
    """Floating-point operations per image of the forward pass of `model`.

    Counts the multiply-adds (2 FLOPs each) of every convolution and dense layer, which
    are all but a few percent of the work.

    Args:
        model: keras.Model. A model made by `build_alexnet`.

    Returns:
        `(all layers, layers reading the model input)`: the second part needs no input
        gradient during training.
    """
    total = first = 0
    for stage in model.layers:
        sublayers = stage.tower_layers if isinstance(stage, TowerStage) else [stage]
        outputs = stage.output if isinstance(stage.output, list) else [stage.output]
        for sublayer, output in zip(sublayers, outputs * len(sublayers)):
            if isinstance(sublayer, keras.layers.Conv2D):
                flops = 2 * math.prod(output.shape[1:3]) * math.prod(sublayer.kernel.shape)
            elif isinstance(sublayer, keras.layers.Dense):
                flops = 2 * math.prod(sublayer.kernel.shape)
            else:
                continue
            total += flops
            if stage.input is model.inputs[0]:
                first += flops
    return total, first


def training_flops(model: keras.Model) -> int:
    """FLOPs per image of one training step: forward, weight gradients, input gradients.

    Args:
        model: keras.Model. A model made by `build_alexnet`.
    """
    total, first = forward_flops(model)
    return 3 * total - first


def machine_description() -> dict:
    """What the figures were measured on."""
    return {
        "processor": cpu_model() or platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "gpus": [device.name for device in tf.config.list_physical_devices("GPU")],
    }


def write_report(report: dict, path: str | Path) -> Path:
    """Writes a benchmark report as indented JSON, creating the parent folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")
    return path
