"""What the machine's processors are, and which compute dtype is fastest on them.

bfloat16 mixed precision only pays where the hardware multiplies bfloat16 natively:
NVIDIA GPUs from compute capability 8.0 (Ampere) and x86 CPUs with AVX512_BF16 or AMX.
Elsewhere TensorFlow emulates it and it is slower than float32.
"""

from __future__ import annotations

from pathlib import Path

import tensorflow as tf

CPUINFO = Path("/proc/cpuinfo")
BFLOAT16_CPU_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})
BFLOAT16_GPU_COMPUTE_CAPABILITY = (8, 0)


def cpu_model(cpuinfo: str | None = None) -> str | None:
    """The processor's model name from `/proc/cpuinfo` (or `cpuinfo`'s text); `None` if unknown."""
    for line in _cpuinfo_lines(cpuinfo):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return None


def cpu_flags(cpuinfo: str | None = None) -> frozenset[str]:
    """The first processor's feature flags from `/proc/cpuinfo` (or `cpuinfo`'s text)."""
    for line in _cpuinfo_lines(cpuinfo):
        if line.startswith("flags"):
            return frozenset(line.split(":", 1)[1].split())
    return frozenset()


def has_bfloat16_units() -> bool:
    """Whether the devices TensorFlow will compute on multiply bfloat16 in hardware.

    With GPUs, all of them must be of compute capability 8.0 or newer; without, the CPU
    must report AVX512_BF16 or AMX.
    """
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        return all(
            tf.config.experimental.get_device_details(gpu).get("compute_capability", (0, 0))
            >= BFLOAT16_GPU_COMPUTE_CAPABILITY
            for gpu in gpus
        )
    return bool(cpu_flags() & BFLOAT16_CPU_FLAGS)


def fastest_dtype() -> str:
    """`"bfloat16"` (mixed precision) where the hardware has bfloat16 units, else `"float32"`."""
    return "bfloat16" if has_bfloat16_units() else "float32"


def _cpuinfo_lines(cpuinfo: str | None) -> list[str]:
    if cpuinfo is None:
        cpuinfo = CPUINFO.read_text() if CPUINFO.exists() else ""
    return cpuinfo.splitlines()
