"""`make bench-ddp`: data-parallel (DDP) throughput against one process with 1 and 2 threads.

Times SGD steps of a wide MLP (``--depth`` layers of ``--width`` x ``--width``, where matrix
multiplications dominate) at a fixed global batch (``--batch`` samples per step), in three
configurations, each a fresh ``torchrun --standalone`` launch through ``utils.launch``:

1. ``1p×1t``: 1 process, 1 thread, batch ``--batch``;
2. ``1p×2t``: 1 process, 2 threads, batch ``--batch``;
3. ``2p×1t``: 2 processes with 1 thread each under ``DistributedDataParallel``, ``--batch / 2``
   samples per rank (the same global batch, so the same arithmetic per step).

With CUDA (``--device auto`` on a GPU machine) the configurations are 1 GPU and all visible GPUs
(NCCL), with the same global batch. The configurations run interleaved ``--repeats`` times; each
launch reports the median step time over ``--steps`` timed steps after ``--warmup``; the record
keeps every repeat and the median samples/s per configuration, plus the machine's load average
(other work on a shared machine slows some runs). Writes ``results/14_distributed/ddp.json``.

Usage: ``python benchmarks/bench_ddp.py [--repeats 3] [--steps 20] [--width 512] [--depth 3]
[--batch 2048] [--device auto|cpu]``. The same file is the worker that ``torchrun`` starts.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def worker(args: argparse.Namespace) -> None:
    """One rank: time ``args.steps`` SGD steps of the wide MLP, print a RESULT line."""
    import torch.distributed as dist
    import torch.nn as nn
    import torch.nn.functional as F
    from torch.nn.parallel import DistributedDataParallel as DDP

    cuda = args.device != "cpu" and torch.cuda.is_available()
    world = int(os.environ["WORLD_SIZE"])
    rank, local_rank = int(os.environ["RANK"]), int(os.environ["LOCAL_RANK"])
    device = torch.device(f"cuda:{local_rank}" if cuda else "cpu")
    if cuda:
        torch.cuda.set_device(device)
    if world > 1:
        dist.init_process_group("nccl" if cuda else "gloo")
    torch.manual_seed(0)
    layers: list[nn.Module] = []
    for _ in range(args.depth):
        layers += [nn.Linear(args.width, args.width), nn.ReLU()]
    model: nn.Module = nn.Sequential(*layers, nn.Linear(args.width, 10)).to(device)
    if world > 1:
        model = DDP(model, device_ids=[device] if cuda else None)
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)
    per_rank = args.batch // world
    g = torch.Generator().manual_seed(rank)
    X = torch.randn(per_rank, args.width, generator=g).to(device)
    y = torch.randint(0, 10, (per_rank,), generator=g).to(device)
    times = []
    for i in range(args.warmup + args.steps):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(X), y).backward()
        opt.step()
        if cuda:
            torch.cuda.synchronize()
        if i >= args.warmup:
            times.append(time.perf_counter() - t0)
    step_s = statistics.median(times)
    print("RESULT", json.dumps({"rank": rank, "world": world, "threads": torch.get_num_threads(),
                                "device": device.type, "step_s": step_s}), flush=True)
    if world > 1:
        dist.destroy_process_group()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--width", type=int, default=512)
    parser.add_argument("--depth", type=int, default=3)
    parser.add_argument("--batch", type=int, default=2048, help="global batch per step")
    parser.add_argument("--device", choices=["auto", "cpu"], default="auto")
    args = parser.parse_args()
    if "LOCAL_RANK" in os.environ:  # started by torchrun: be a worker
        worker(args)
        return
    for name in ("repeats", "steps", "width", "depth", "batch"):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name} must be >= 1, got {getattr(args, name)}")
    from utils import launch, results

    gpus = torch.cuda.device_count() if args.device == "auto" else 0
    if gpus:
        configs = {"1gpu": (1, 1), f"{gpus}gpu": (gpus, 1)}
    else:
        configs = {"1p×1t": (1, 1), "1p×2t": (1, 2), "2p×1t": (2, 1)}
    for name, (nproc, _) in configs.items():
        if args.batch % nproc:
            raise ValueError(f"--batch {args.batch} must divide by {nproc} processes ({name})")
    flags = [f"--{k}={getattr(args, k)}" for k in ("steps", "warmup", "width", "depth", "batch",
                                                    "device")]
    env = {} if gpus else {"CUDA_VISIBLE_DEVICES": ""}
    runs: dict[str, list[float]] = {name: [] for name in configs}
    load = [os.getloadavg()[0]]
    for repeat in range(args.repeats):
        for name, (nproc, threads) in configs.items():
            out = launch.torchrun(Path(__file__), *flags, nproc=nproc, threads=threads, env=env,
                                  timeout=600)
            step_s = max(r["step_s"] for r in out.records("RESULT"))  # the slowest rank
            runs[name].append(args.batch / step_s)
            print(f"repeat {repeat} {name}: {args.batch / step_s:.0f} samples/s", flush=True)
        load.append(os.getloadavg()[0])
    speed = {name: statistics.median(v) for name, v in runs.items()}
    params = args.depth * (args.width * args.width + args.width) + args.width * 10 + 10
    numbers = {"model": f"MLP {args.depth}x{args.width}x{args.width} + head, ReLU, SGD",
               "params": params, "grad_mb_per_step": 4 * params / 1e6,
               "global_batch": args.batch, "steps": args.steps, "warmup": args.warmup,
               "repeats": args.repeats, "device": "cuda" if gpus else "cpu",
               "samples_per_s": speed, "samples_per_s_runs": runs,
               "load_average_1min": [round(x, 2) for x in load]}
    names = list(configs)
    if not gpus:
        numbers["speedup_vs_1p1t"] = speed["2p×1t"] / speed["1p×1t"]
        numbers["speedup_vs_1p2t"] = speed["2p×1t"] / speed["1p×2t"]
    else:
        numbers["speedup_vs_1gpu"] = speed[names[1]] / speed[names[0]]
    path = results.write("14_distributed", "ddp", numbers, script="benchmarks/bench_ddp.py")
    print(json.dumps({k: v for k, v in numbers.items() if k.startswith(("speedup", "samples_per_s"))
                      and k != "samples_per_s_runs"}, ensure_ascii=False))
    print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
