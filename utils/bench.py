"""Timing, throughput and MFU (model FLOP utilisation) against a measured matmul peak."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Timing:
    """Seconds per call over ``repeat`` timed calls after warm-up."""

    median: float
    mean: float
    best: float
    stdev: float
    repeat: int

    def __str__(self) -> str:
        return f"{self.median * 1e3:.3f} ms median (best {self.best * 1e3:.3f} ms, n={self.repeat})"


def _sync(device: Any) -> None:
    import torch

    kind = getattr(device, "type", str(device) if device is not None else "cpu")
    if kind.startswith("cuda"):
        torch.cuda.synchronize()
    elif kind.startswith("mps"):
        torch.mps.synchronize()


def timeit(fn: Callable[[], Any], *, repeat: int = 5, warmup: int = 1,
           device: Any = None) -> Timing:
    """Time ``fn()``: ``warmup`` untimed calls, then ``repeat`` timed ones (device synchronised)."""
    if not callable(fn):
        raise TypeError(f"timeit needs a callable, got {type(fn).__name__}")
    if repeat < 1 or warmup < 0:
        raise ValueError(f"need repeat >= 1 and warmup >= 0, got repeat={repeat}, warmup={warmup}")
    for _ in range(warmup):
        fn()
    _sync(device)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - start)
    return Timing(
        median=statistics.median(times),
        mean=statistics.fmean(times),
        best=min(times),
        stdev=statistics.stdev(times) if len(times) > 1 else 0.0,
        repeat=repeat,
    )


def throughput(items: float, seconds: float) -> float:
    """Items per second; ``seconds`` must be positive."""
    if seconds <= 0:
        raise ValueError(f"seconds must be > 0, got {seconds}")
    if items < 0:
        raise ValueError(f"items must be >= 0, got {items}")
    return items / seconds


def matmul_flops(m: int, k: int, n: int) -> int:
    """FLOPs of an (m×k) @ (k×n) product: one multiply and one add per term."""
    for name, v in (("m", m), ("k", k), ("n", n)):
        if v < 1:
            raise ValueError(f"{name} must be >= 1, got {v}")
    return 2 * m * k * n


def matmul_peak(n: int = 1024, *, dtype: Any = None, device: Any = None,
                repeat: int = 5) -> float:
    """Measured FLOP/s of an n×n matmul on ``device``: the practical peak MFU is relative to."""
    import torch

    dtype = dtype or torch.float32
    device = torch.device(device or "cpu")
    a = torch.randn(n, n, dtype=dtype, device=device)
    b = torch.randn(n, n, dtype=dtype, device=device)
    t = timeit(lambda: a @ b, repeat=repeat, warmup=2, device=device)
    return matmul_flops(n, n, n) / t.best


def mfu(flops_per_step: float, seconds_per_step: float, peak_flops: float) -> float:
    """Model FLOP utilisation: achieved FLOP/s over the peak (a fraction, 0..1 in practice)."""
    if peak_flops <= 0:
        raise ValueError(f"peak_flops must be > 0, got {peak_flops}")
    return throughput(flops_per_step, seconds_per_step) / peak_flops
