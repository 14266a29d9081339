"""Measures throughput and latency of repeated inference calls, served or in-process.

Used by `tools/benchmark_serving.py`. Imports no TensorFlow: the calls are passed in.
Each run is bounded: a fixed number of requests, after a few unmeasured warm-up ones.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from typing import Awaitable, Callable

import numpy as np


@dataclasses.dataclass(frozen=True)
class LoadResult:
    """Throughput and latency of one load run.

    Args:
        batch_size: int. Images per request.
        concurrency: int. Requests in flight at once.
        requests: int. Measured requests.
        seconds: float. Wall time of the measured requests.
        images_per_second: float. `requests * batch_size / seconds`.
        latency_p50_ms: float. Median request latency, in milliseconds.
        latency_p99_ms: float. 99th-percentile request latency, in milliseconds.
    """

    batch_size: int
    concurrency: int
    requests: int
    seconds: float
    images_per_second: float
    latency_p50_ms: float
    latency_p99_ms: float


def summarize(latencies: list[float], seconds: float, batch_size: int, concurrency: int) -> LoadResult:
    """Builds a `LoadResult` from per-request latencies (seconds) and the wall time."""
    milliseconds = np.asarray(latencies) * 1000.0
    return LoadResult(
        batch_size=batch_size,
        concurrency=concurrency,
        requests=len(latencies),
        seconds=seconds,
        images_per_second=len(latencies) * batch_size / seconds,
        latency_p50_ms=float(np.percentile(milliseconds, 50)),
        latency_p99_ms=float(np.percentile(milliseconds, 99)),
    )


def measure(call: Callable[[], object], *, batch_size: int, requests: int, warmup: int = 2) -> LoadResult:
    """Times `requests` sequential calls of `call` (each one a batch of `batch_size`).

    Args:
        call: callable. Runs one batch to completion.
        batch_size: int. Images each call processes.
        requests: int. Measured calls.
        warmup: int. Unmeasured calls first. Defaults to `2`.
    """
    for _ in range(warmup):
        call()
    latencies = []
    start = time.perf_counter()
    for _ in range(requests):
        began = time.perf_counter()
        call()
        latencies.append(time.perf_counter() - began)
    return summarize(latencies, time.perf_counter() - start, batch_size, 1)


async def measure_async(
    call: Callable[[], Awaitable[object]],
    *,
    batch_size: int,
    concurrency: int,
    requests: int,
    warmup: int = 2,
) -> LoadResult:
    """Times `requests` calls of `call`, keeping `concurrency` of them in flight.

    Args:
        call: async callable. Sends one request of `batch_size` images and awaits it.
        batch_size: int. Images per request.
        concurrency: int. Requests in flight at once.
        requests: int. Measured requests, shared among the concurrent senders.
        warmup: int. Unmeasured requests per sender first. Defaults to `2`.
    """
    remaining = requests
    latencies: list[float] = []

    async def sender() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            began = time.perf_counter()
            await call()
            latencies.append(time.perf_counter() - began)

    await asyncio.gather(*(call() for _ in range(warmup * concurrency)))
    start = time.perf_counter()
    await asyncio.gather(*(sender() for _ in range(concurrency)))
    return summarize(latencies, time.perf_counter() - start, batch_size, concurrency)
