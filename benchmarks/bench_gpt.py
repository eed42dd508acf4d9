"""`make bench-gpt`: chapter 10's trainer against the reference configuration.

Runs, each in a fresh process with 2 threads on the same text (the first 1,115,394 characters of
the Python standard-library corpus, ``utils.data.stdlib_corpus``):

1. ``reference-style``: the same model trained the way the minimal reference trainer does it
   (batches sliced from a memory-mapped uint16 file and stacked row by row, the default
   per-tensor AdamW and gradient clipping, a ``loss.item()`` every step);
2. ``ours``: ``python -m utils.gpt train`` with no options (the reference configuration);
3. ``ours-compile``: the same with ``--compile`` (same model, same fp32 arithmetic, kernels
   fused by ``torch.compile``; its compile time counts in ``wall_s``, not in ``tokens_per_s``);
4. ``speedrun``: ``python -m utils.gpt train --preset speedrun``, judged by its final loss on
   the full validation split against the reference-style run's, and by wall time (both include
   their evaluations).

Writes ``results/10_gpt_from_scratch/bench_gpt.json``. Usage:
``python benchmarks/bench_gpt.py [--max-iters 2000] [--skip-speedrun] [--only PART]``; with
``--only`` the other parts are kept from the existing file.
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

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from utils import gpt, results  # noqa: E402
from utils.paths import run_dir  # noqa: E402

N_CHARS = gpt.REFERENCE_CHARS


def corpus_file() -> Path:
    """The benchmark text, written once under the run directory."""
    path = run_dir("bench-gpt") / f"stdlib-{N_CHARS}.txt"
    if not path.exists():
        path.write_text(gpt.reference_text(), encoding="utf-8")
    return path


def reference_style(text_path: Path, max_iters: int, seed: int = 1337,
                    threads: int = 2) -> dict:
    """The reference trainer's per-step work, same model and hyperparameters."""
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    cfg = gpt.TrainConfig(max_iters=max_iters)
    data = gpt.CharData(text_path.read_text(encoding="utf-8"))
    folder = run_dir("bench-gpt")
    for split in ("train", "val"):  # written aside then renamed: a running reader keeps its map
        tmp = folder / f"{split}.bin.{os.getpid()}"
        getattr(data, split).numpy().astype(np.uint16).tofile(tmp)
        os.replace(tmp, folder / f"{split}.bin")
    mm = {s: np.memmap(folder / f"{s}.bin", dtype=np.uint16, mode="r") for s in ("train", "val")}

    def get_batch(split: str) -> tuple[torch.Tensor, torch.Tensor]:
        d = mm[split]
        ix = torch.randint(len(d) - cfg.block_size, (cfg.batch_size,))
        x = torch.stack([torch.from_numpy(d[i:i + cfg.block_size].astype(np.int64)) for i in ix])
        y = torch.stack([torch.from_numpy(d[i + 1:i + 1 + cfg.block_size].astype(np.int64))
                         for i in ix])
        return x, y

    model = gpt.GPT(gpt.GPTConfig(vocab_size=data.vocab_size))
    decay = [p for p in model.parameters() if p.dim() >= 2]
    rest = [p for p in model.parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                                   {"params": rest, "weight_decay": 0.0}],
                                  lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))

    @torch.no_grad()
    def estimate() -> dict[str, float]:
        model.eval()
        out = {s: statistics.fmean(model(*get_batch(s))[1].item() for _ in range(cfg.eval_iters))
               for s in ("train", "val")}
        model.train()
        return out

    times, t_start = [], time.perf_counter()
    X, Y = get_batch("train")
    for step in range(max_iters + 1):
        lr = gpt.lr_at(step, cfg)
        for g in optimizer.param_groups:
            g["lr"] = lr
        if step % cfg.eval_interval == 0 or step == max_iters:
            losses = estimate()
            print(f"reference-style step {step}: {losses}", flush=True)
        if step == max_iters:
            break
        t0 = time.perf_counter()
        _, loss = model(X, Y)
        X, Y = get_batch("train")
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        loss.item()
        times.append(time.perf_counter() - t0)
    steady = times[min(len(times) // 10, 20):]
    full = gpt.full_loss(model, data.val, block_size=cfg.block_size)
    return {"iters": max_iters, "tokens_per_s": cfg.batch_size * cfg.block_size
            / statistics.median(steady), "val_loss": losses["val"], "val_loss_full": full,
            "wall_s": time.perf_counter() - t_start}


def run_cli(text_path: Path, *args: str) -> dict:
    """``python -m utils.gpt train`` in a fresh process; its last line is the JSON summary."""
    cmd = [sys.executable, "-m", "utils.gpt", "train", "--text", str(text_path), *args]
    print("$", " ".join(cmd[1:]), flush=True)
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True).stdout
    print(out, flush=True)
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-iters", type=int, default=2000)
    parser.add_argument("--skip-speedrun", action="store_true")
    parser.add_argument("--only", choices=["reference-style", "ours", "ours-compile", "speedrun"],
                        default=None)
    args = parser.parse_args()
    text = corpus_file()
    numbers: dict = {"chars": N_CHARS, "threads": 2, "max_iters": args.max_iters}
    if args.only is not None:  # re-measure one part, keep the others
        try:
            numbers = {**results.load("10_gpt_from_scratch", "bench_gpt")["numbers"], **numbers}
        except FileNotFoundError:
            pass
    from utils.bench import matmul_peak

    torch.set_num_threads(2)
    numbers["matmul_peak_gflops"] = matmul_peak(1024) / 1e9
    if args.only in (None, "reference-style"):
        code = ("import sys; sys.path.insert(0, '.'); import json; from pathlib import Path; "
                "from benchmarks.bench_gpt import reference_style; "
                f"print(json.dumps(reference_style(Path({str(text)!r}), {args.max_iters})))")
        out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout
        numbers["reference_style"] = json.loads(out.strip().splitlines()[-1])
    if args.only in (None, "ours"):
        numbers["ours"] = run_cli(text, "--max-iters", str(args.max_iters))
    if args.only in (None, "ours-compile"):
        numbers["ours_compile"] = run_cli(text, "--max-iters", str(args.max_iters), "--compile")
    if args.only in (None, "speedrun") and not args.skip_speedrun:
        numbers["speedrun"] = run_cli(text, "--preset", "speedrun")
    ref = numbers.get("reference_style")
    if ref and "ours" in numbers:
        numbers["speedup_vs_reference_style"] = (numbers["ours"]["tokens_per_s"]
                                                 / ref["tokens_per_s"])
    if ref and "ours_compile" in numbers:
        numbers["speedup_compile_vs_reference_style"] = (numbers["ours_compile"]["tokens_per_s"]
                                                         / ref["tokens_per_s"])
    if ref and "speedrun" in numbers:
        numbers["speedrun_wall_fraction"] = numbers["speedrun"]["wall_s"] / ref["wall_s"]
        numbers["speedrun_reaches_reference_loss"] = (numbers["speedrun"]["val_loss_full"]
                                                      <= ref["val_loss_full"])
    path = results.write("10_gpt_from_scratch", "bench_gpt", numbers,
                         script="benchmarks/bench_gpt.py")
    print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
