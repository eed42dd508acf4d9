"""Back-of-the-envelope training arithmetic (chapter 13.1): FLOPs, time, GPUs, money, memory.

``training_flops`` counts 6 FLOPs per parameter per token (forward 2, backward 4) plus the
attention scores when the shape is given; ``training_time`` and ``gpus_needed`` divide by the
peak FLOP/s times the MFU (model FLOP utilisation); ``memory_bytes`` counts weights, gradients
and optimizer states (not activations). ``ACCELERATORS`` holds published datasheet peaks
(dense, without sparsity). ``plan`` puts it all together for one run.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

SECONDS_PER_HOUR = 3600.0
SECONDS_PER_DAY = 86400.0


@dataclass(frozen=True)
class Accelerator:
    """Published peaks of one accelerator (vendor datasheet, dense, without sparsity)."""

    name: str
    bf16_tflops: float  # dense tensor-core bf16 (fp16 on T4, which has no bf16)
    fp32_tflops: float  # plain fp32 (not TF32)
    memory_gb: float
    bandwidth_tbs: float  # memory bandwidth, TB/s
    interconnect: str
    interconnect_gbs: float  # GPU-to-GPU (or PCIe) bandwidth, GB/s, as the datasheet states

    @property
    def peak_flops(self) -> float:
        """Dense bf16 (fp16) peak in FLOP/s."""
        return self.bf16_tflops * 1e12

    @property
    def ridge_point(self) -> float:
        """Arithmetic intensity (FLOP/byte) where bf16 compute and memory bandwidth balance."""
        return self.bf16_tflops / self.bandwidth_tbs


ACCELERATORS: dict[str, Accelerator] = {a.name: a for a in (
    Accelerator("A100-40GB", 312.0, 19.5, 40.0, 1.555, "NVLink 3 (SXM)", 600.0),
    Accelerator("A100-80GB", 312.0, 19.5, 80.0, 2.039, "NVLink 3 (SXM)", 600.0),
    Accelerator("H100", 989.0, 67.0, 80.0, 3.35, "NVLink 4 (SXM)", 900.0),
    Accelerator("H200", 989.0, 67.0, 141.0, 4.8, "NVLink 4 (SXM)", 900.0),
    Accelerator("L4", 121.0, 30.3, 24.0, 0.300, "PCIe Gen4 x16", 64.0),
    Accelerator("T4", 65.0, 8.1, 16.0, 0.320, "PCIe Gen3 x16", 32.0),
    Accelerator("RTX4090", 165.2, 82.6, 24.0, 1.008, "PCIe Gen4 x16", 64.0),
)}

# bytes per parameter: (weights, gradients, extra fp32 master copy, one optimizer state)
_PRECISIONS: dict[str, tuple[int, int, int, int]] = {
    "fp32": (4, 4, 0, 4),
    "mixed": (2, 2, 4, 4),  # bf16/fp16 weights and grads, fp32 master weights and states
    "bf16": (2, 2, 0, 2),  # everything in bf16 (no master copy)
}
_OPTIMIZER_STATES: dict[str, int] = {"adamw": 2, "adam": 2, "sgd": 1, "none": 0}


def _positive(name: str, value: float, *, allow_zero: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, got {value!r} ({type(value).__name__})")
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be a finite number {bound}, got {value!r}")
    return float(value)


def _fraction(name: str, value: float) -> float:
    value = _positive(name, value)
    if value > 5:  # above 1 can happen against a measured (noisy) peak, never 40 for 40%
        raise ValueError(f"{name} is a fraction of peak (about 0.3 to 0.6 in practice), got "
                         f"{value!r}; write 40% as 0.4")
    return value


def training_flops(n_params: float, n_tokens: float, *, seq_len: int | None = None,
                   n_layer: int | None = None, d_model: int | None = None) -> float:
    """Training FLOPs: 6·N·D, plus 6·n_layer·seq_len·d_model·D for attention when all given."""
    n_params = _positive("n_params", n_params)
    n_tokens = _positive("n_tokens", n_tokens)
    shape = {"seq_len": seq_len, "n_layer": n_layer, "d_model": d_model}
    given = [k for k, v in shape.items() if v is not None]
    if given and len(given) < 3:
        missing = sorted(set(shape) - set(given))
        raise ValueError(f"attention FLOPs need seq_len, n_layer and d_model together; "
                         f"missing {missing} (or pass none of them for 6·N·D only)")
    flops = 6.0 * n_params * n_tokens
    if given:
        for k, v in shape.items():
            _positive(k, v)
        flops += 6.0 * n_layer * seq_len * d_model * n_tokens  # type: ignore[operator]
    return flops


def training_time(flops: float, *, n_gpus: int, peak_flops_per_gpu: float,
                  mfu: float) -> float:
    """Wall-clock seconds to do ``flops`` on ``n_gpus`` running at ``mfu`` of their peak."""
    flops = _positive("flops", flops)
    if isinstance(n_gpus, bool) or not isinstance(n_gpus, int) or n_gpus < 1:
        raise ValueError(f"n_gpus must be a positive int, got {n_gpus!r}")
    peak = _positive("peak_flops_per_gpu", peak_flops_per_gpu)
    if peak < 1e6:
        raise ValueError(f"peak_flops_per_gpu={peak!r} looks like TFLOP/s; pass FLOP/s "
                         f"(e.g. 989e12 for an H100)")
    return flops / (n_gpus * peak * _fraction("mfu", mfu))


def gpus_needed(flops: float, *, days: float, peak_flops_per_gpu: float,
                mfu: float) -> int:
    """The fewest GPUs that finish ``flops`` within ``days`` at ``mfu`` of peak."""
    days = _positive("days", days)
    one = training_time(flops, n_gpus=1, peak_flops_per_gpu=peak_flops_per_gpu, mfu=mfu)
    return max(1, math.ceil(one / (days * SECONDS_PER_DAY) - 1e-9))


def cost(gpu_hours: float, price_per_gpu_hour: float) -> float:
    """Money for ``gpu_hours`` at ``price_per_gpu_hour`` (same currency)."""
    return (_positive("gpu_hours", gpu_hours, allow_zero=True)
            * _positive("price_per_gpu_hour", price_per_gpu_hour, allow_zero=True))


def memory_bytes(n_params: float, *, optimizer: str = "adamw",
                 precision: str = "mixed") -> float:
    """Bytes of weights + gradients + optimizer states (activations not included)."""
    n_params = _positive("n_params", n_params)
    if optimizer not in _OPTIMIZER_STATES:
        raise ValueError(f"unknown optimizer {optimizer!r}; use one of "
                         f"{sorted(_OPTIMIZER_STATES)}")
    if precision not in _PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; use one of {sorted(_PRECISIONS)}")
    weights, grads, master, state = _PRECISIONS[precision]
    states = _OPTIMIZER_STATES[optimizer]
    if states == 0:  # inference: weights only
        return n_params * weights
    return n_params * (weights + grads + master + states * state)


@dataclass(frozen=True)
class Plan:
    """A training run costed out: FLOPs, wall time, GPU-hours, money, memory per GPU."""

    n_params: float
    n_tokens: float
    gpu: str
    n_gpus: int
    mfu: float
    flops: float
    seconds: float
    gpu_hours: float
    cost: float | None
    memory_per_gpu_gb: float
    fits: bool

    @property
    def days(self) -> float:
        """Wall-clock days."""
        return self.seconds / SECONDS_PER_DAY

    def __str__(self) -> str:
        money = "no price given" if self.cost is None else f"cost {self.cost:,.0f}"
        return (f"{self.n_params:.3g} params × {self.n_tokens:.3g} tokens = {self.flops:.3g} "
                f"FLOPs on {self.n_gpus} × {self.gpu} at MFU {self.mfu:.0%}: "
                f"{self.days:,.1f} days, {self.gpu_hours:,.0f} GPU-hours, {money}, "
                f"{self.memory_per_gpu_gb:,.1f} GB/GPU of states "
                f"({'fits' if self.fits else 'does NOT fit'})")


def plan(n_params: float, n_tokens: float, gpu: str = "H100", n_gpus: int = 8,
         mfu: float = 0.4, price: float | None = None, *, optimizer: str = "adamw",
         precision: str = "mixed") -> Plan:
    """Cost a run of ``n_params`` × ``n_tokens`` on ``n_gpus`` × ``gpu`` (states fully sharded)."""
    if gpu not in ACCELERATORS:
        raise ValueError(f"unknown gpu {gpu!r}; use one of {sorted(ACCELERATORS)}")
    acc = ACCELERATORS[gpu]
    flops = training_flops(n_params, n_tokens)
    seconds = training_time(flops, n_gpus=n_gpus, peak_flops_per_gpu=acc.peak_flops, mfu=mfu)
    gpu_hours = seconds * n_gpus / SECONDS_PER_HOUR
    money = None if price is None else cost(gpu_hours, price)
    per_gpu_gb = memory_bytes(n_params, optimizer=optimizer, precision=precision) / n_gpus / 1e9
    return Plan(n_params=float(n_params), n_tokens=float(n_tokens), gpu=gpu, n_gpus=n_gpus,
                mfu=mfu, flops=flops, seconds=seconds, gpu_hours=gpu_hours, cost=money,
                memory_per_gpu_gb=per_gpu_gb, fits=per_gpu_gb <= acc.memory_gb)
