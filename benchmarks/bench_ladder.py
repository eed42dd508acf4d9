"""`make bench-ladder`: chapter 10.4's performance ladder on the reference configuration.

One trick at a time on chapter 10's reference GPT (4 layers, 4 heads, 128 wide, block 64,
batch 12, the first 1,115,394 characters of the Python standard-library corpus). Each rung is
the previous one plus one change, measured in a fresh process as the median step time over
``--steps`` training steps after ``--warmup`` untimed ones:

0. ``naive``: 1 thread, explicit masked-softmax attention, per-parameter AdamW
   (``foreach=False``), batches stacked row by row in Python;
1. ``threads 2`` (``--threads``); 2. ``one-gather batches``; 3. ``foreach AdamW``; 4. ``fused AdamW``;
5. ``SDPA attention``; 6. ``torch.compile``; 7. ``bf16 autocast`` (kept only where it is
   faster than rung 6); 8. ``batch 64``; 9./10. padding vs packing of variable-length documents
   (useful tokens/s).

Also records the optimizer step alone (per-parameter, foreach, fused), a batch-size sweep and
the matmul peak that MFU is measured against. ``--device cuda`` runs the same rungs on a GPU
with a ``TF32 matmuls`` rung before bf16 and writes ``ladder-gpu.json`` instead.

Writes ``results/10_gpt_from_scratch/ladder.json``. Usage:
``python benchmarks/bench_ladder.py [--steps 30] [--warmup 5] [--threads 2] [--skip-compile]
[--device cpu|cuda]``.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from utils.paths import run_dir  # noqa: E402  (no torch yet: the inductor cache is set first)

os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(run_dir("10.4-ladder") / "inductor"))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from utils import bench, gpt, results  # noqa: E402
from utils.attention import attention  # noqa: E402

N_CHARS = gpt.REFERENCE_CHARS
BASE = dict(threads=1, attention="naive", optimizer="per-parameter", batches="rows",
            batch_size=12, compile=False, autocast=False, tf32=False, data="random")


def ladder(device: str, threads: int = 2, compile: bool = True) -> list[tuple[str, dict]]:
    """The rungs: (name, settings), each the previous settings plus one change."""
    steps = [("naive", {}), (f"threads {threads}", dict(threads=threads)),
             ("one-gather batches", dict(batches="gather")),
             ("foreach AdamW", dict(optimizer="foreach")), ("fused AdamW", dict(optimizer="fused")),
             ("SDPA attention", dict(attention="sdpa"))]
    if compile:
        steps.append(("torch.compile", dict(compile=True)))
    if device == "cuda":
        steps.append(("TF32 matmuls", dict(tf32=True)))
    steps.append(("bf16 autocast", dict(autocast=True)))
    out, settings = [], dict(BASE)
    for name, change in steps:
        settings = {**settings, **change}
        out.append((name, dict(settings)))
    return out


class NaiveCausalSelfAttention(nn.Module):
    """Causal self-attention with the T×T score matrix written out (same weights as utils')."""

    def __init__(self, d_model: int, n_heads: int) -> None:
        super().__init__()
        self.n_heads = n_heads
        self.qkv = nn.Linear(d_model, 3 * d_model, bias=False)
        self.proj = nn.Linear(d_model, d_model, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, self.n_heads, d // self.n_heads).permute(
            2, 0, 3, 1, 4).unbind(0)
        out, _ = attention(q, k, v, is_causal=True)  # chapter 9's explicit softmax(qkᵀ/√d)v
        return self.proj(out.transpose(1, 2).reshape(b, t, d))


def documents(text: str) -> list[str]:
    """Variable-length documents: the non-blank lines of the corpus."""
    return [line for line in text.splitlines(keepends=True) if line.strip()]


def padded_rows(data: gpt.CharData, docs: list[str], block: int) -> tuple[torch.Tensor, torch.Tensor]:
    """One document per row, cut to block+1 characters, padded; padded targets are -1."""
    x = torch.zeros(len(docs), block, dtype=torch.int64)
    y = torch.full((len(docs), block), -1, dtype=torch.int64)
    for row, doc in enumerate(docs):
        ids = torch.tensor(data.encode(doc[: block + 1]))
        x[row, : len(ids) - 1], y[row, : len(ids) - 1] = ids[:-1], ids[1:]
    return x, y


def packed_rows(data: gpt.CharData, docs: list[str], block: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The documents concatenated and cut into rows of block+1 characters."""
    ids = torch.tensor(data.encode("".join(docs)))
    n = len(ids) // (block + 1)
    rows = ids[: n * (block + 1)].view(n, block + 1)
    return rows[:, :-1], rows[:, 1:]


def measure(settings: dict, *, steps: int, warmup: int, device: str) -> dict:
    """Median step time and throughput of one configuration (run in its own process)."""
    torch.set_num_threads(settings["threads"])
    torch.manual_seed(0)
    if device == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = settings["tf32"]
        torch.backends.cudnn.allow_tf32 = settings["tf32"]
    text = gpt.reference_text()
    data = gpt.CharData(text)
    config = gpt.GPTConfig(vocab_size=data.vocab_size)
    model = gpt.GPT(config)
    if settings["attention"] == "naive":
        for block in model.blocks:
            naive = NaiveCausalSelfAttention(config.n_embd, config.n_head)
            naive.load_state_dict(block.attn.state_dict(), strict=False)
            block.attn = naive
    model.to(device)
    kind = {"per-parameter": {"foreach": False}, "foreach": {"foreach": True},
            "fused": {"fused": True}}[settings["optimizer"]]
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, **kind)
    forward = torch.compile(model) if settings["compile"] else model
    B, T = settings["batch_size"], config.block_size
    gen = torch.Generator().manual_seed(0)
    train = data.train

    if settings["data"] in ("padding", "packing"):
        docs = documents(text)
        make = padded_rows if settings["data"] == "padding" else packed_rows
        x_all, y_all = make(data, docs[: 20 * B], T)
        cursor = [0]

        def batch() -> tuple[torch.Tensor, torch.Tensor]:
            i = cursor[0] % (len(x_all) - B)
            cursor[0] += B
            return x_all[i:i + B], y_all[i:i + B]
    elif settings["batches"] == "rows":
        def batch() -> tuple[torch.Tensor, torch.Tensor]:
            ix = torch.randint(len(train) - T, (B,), generator=gen)
            return (torch.stack([train[i:i + T] for i in ix]),
                    torch.stack([train[i + 1:i + 1 + T] for i in ix]))
    else:
        def batch() -> tuple[torch.Tensor, torch.Tensor]:
            return gpt.get_batch(train, B, T, gen)

    useful: list[int] = []

    def step() -> None:
        x, y = batch()
        useful.append(int((y != -1).sum()))
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        with torch.autocast(device, dtype=torch.bfloat16, enabled=settings["autocast"]):
            _, loss = forward(x, y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    t0 = time.perf_counter()
    step()
    first_s = time.perf_counter() - t0  # includes compilation when compiling
    timing = bench.timeit(step, repeat=steps, warmup=warmup, device=device)
    per_step = statistics.fmean(useful)
    return {"settings": settings, "median_step_ms": 1e3 * timing.median,
            "first_step_s": first_s, "tokens_per_s": B * T / timing.median,
            "useful_tokens_per_s": per_step / timing.median, "useful_fraction": per_step / (B * T),
            "flops_per_step": gpt.flops_per_token(config) * B * T}


def machine_peak(device: str, threads: int) -> float:
    """The FLOP/s that MFU is measured against: a big fp32 matmul on every thread we use (CPU)
    or a bf16 one (GPU, the tensor cores' best)."""
    if device == "cpu":
        torch.set_num_threads(threads)
        return bench.matmul_peak(1024, repeat=10)
    return bench.matmul_peak(8192, dtype=torch.bfloat16, device=device, repeat=10)


def optimizer_steps(device: str, repeat: int) -> dict[str, float]:
    """Milliseconds of one AdamW step on the reference GPT's parameters, by implementation
    (one thread, as in the notebook: only the implementation differs)."""
    torch.set_num_threads(1)
    model = gpt.GPT(gpt.GPTConfig(vocab_size=100)).to(device)
    for p in model.parameters():
        p.grad = torch.randn_like(p)
    out = {}
    for name, kind in (("per-parameter", {"foreach": False}), ("foreach", {"foreach": True}),
                       ("fused", {"fused": True})):
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3, **kind)
        out[name] = 1e3 * bench.timeit(opt.step, repeat=repeat, warmup=3, device=device).median
    return out


def in_subprocess(settings: dict, args: argparse.Namespace) -> dict:
    """Run ``measure`` in a fresh Python process (clean allocator, threads and compile caches)."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--one", json.dumps(settings),
           "--steps", str(args.steps), "--warmup", str(args.warmup), "--device", args.device]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f"rung {settings} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30, help="timed steps per rung")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps before timing")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--batch-sizes", default="4,12,32,64")
    parser.add_argument("--skip-compile", action="store_true",
                        help="leave out the torch.compile rung (each batch size recompiles)")
    parser.add_argument("--threads", type=int, default=2,
                        help="threads from rung 1 on (the course machine has 2 cores)")
    parser.add_argument("--one", default=None, help=argparse.SUPPRESS)  # internal: one rung
    args = parser.parse_args()
    if args.threads < 1:
        raise SystemExit(f"--threads must be >= 1, got {args.threads}")
    if args.steps < 1 or args.warmup < 0:
        raise SystemExit(f"--steps must be >= 1 and --warmup >= 0, got {args.steps}, {args.warmup}")
    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda asked for but torch sees no GPU; use --device cpu")
    if args.one is not None:
        print(json.dumps(measure(json.loads(args.one), steps=args.steps, warmup=args.warmup,
                                 device=args.device)))
        return
    peak = machine_peak(args.device, args.threads)

    def run(settings: dict) -> dict:
        rec = in_subprocess(settings, args)
        rec["mfu"] = bench.mfu(rec["flops_per_step"], rec["median_step_ms"] / 1e3, peak)
        return rec

    rungs = []
    for name, settings in ladder(args.device, args.threads, not args.skip_compile):
        rec = {"rung": name, **run(settings)}
        print(f"{name:<20} {rec['tokens_per_s']:10.0f} tokens/s  MFU {rec['mfu']:.1%}", flush=True)
        rungs.append(rec)
    # bf16 stays on the ladder only where it paid off; later rungs build on the faster one
    best = max(rungs[-2:], key=lambda r: r["tokens_per_s"])
    rungs[-1]["kept"] = best is rungs[-1]
    top = dict(best["settings"])
    for name, change in (("batch 64", dict(batch_size=64)),
                         ("padding (useful)", dict(batch_size=64, data="padding")),
                         ("packing (useful)", dict(batch_size=64, data="packing"))):
        rec = {"rung": name, **run({**top, **change})}
        print(f"{name:<20} {rec['useful_tokens_per_s']:10.0f} useful tokens/s", flush=True)
        rungs.append(rec)
    sweep = {}
    for b in (int(s) for s in args.batch_sizes.split(",")):
        rec = run({**top, "batch_size": b})
        sweep[str(b)] = {"tokens_per_s": rec["tokens_per_s"], "mfu": rec["mfu"]}
        print(f"batch {b:<4} {rec['tokens_per_s']:10.0f} tokens/s", flush=True)
    numbers = {"device": args.device, "steps": args.steps, "warmup": args.warmup,
               "threads": args.threads, "compile": not args.skip_compile,
               "peak_gflops": peak / 1e9,
               "chars": N_CHARS, "rungs": rungs, "batch_sweep": sweep,
               "optimizer_step_ms": optimizer_steps(args.device, max(args.steps, 10)),
               "cpu_bf16": {"avx512_bf16": bool(torch.cpu._is_avx512_bf16_supported()),
                            "amx": bool(torch.cpu._is_amx_tile_supported()),
                            "capability": torch.backends.cpu.get_cpu_capability()}}
    name = "ladder" if args.device == "cpu" else "ladder-gpu"
    path = results.write("10_gpt_from_scratch", name, numbers, script="benchmarks/bench_ladder.py")
    print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
