"""`make bench-scaling`: chapter 10.3's scaling sweep (loss against compute).

Trains chapter 10's character-level GPT (``utils.gpt.train``) at five sizes, from 2 layers ×
32 wide to 3 layers × 96 wide, each with three token budgets (250, 500 and 1000 steps of
16 × 64 characters), on the first 1,115,394 characters of the Python standard-library corpus
(``utils.data.stdlib_corpus``). Every run has its own warmup + cosine schedule sized to its
budget, the same seed and the same learning rate. For each run it records the non-embedding
parameters N, the training tokens D, the compute C = 6·N·D, the validation loss on every
validation token and the wall time.

Writes ``results/10_gpt_from_scratch/scaling.json``. Usage:
``OMP_NUM_THREADS=1 ZTL_THREADS=1 python benchmarks/bench_scaling.py [--threads 1]``
(about 4 minutes on a quiet core; the losses do not depend on the load). On a busy machine,
run parts in parallel (``--sizes 0,1,2``, ``--sizes 3``, ``--sizes 4``), then ``--merge``. One thread, like the
notebook's live run, so the two compute in the same order.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from utils import gpt, results  # noqa: E402
from utils.paths import run_dir  # noqa: E402

N_CHARS = gpt.REFERENCE_CHARS
# (n_layer, n_embd, n_head): from 28 k to 0.34 M non-embedding parameters.
SIZES = [(2, 32, 2), (2, 48, 3), (2, 64, 4), (3, 80, 4), (3, 96, 4)]
STEPS = [250, 500, 1000]
COMMON = dict(batch_size=16, block_size=64, lr=2e-3, min_lr=2e-4, eval_iters=10, seed=1337)


def train_config(n_layer: int, n_embd: int, n_head: int, steps: int,
                 threads: int = 1) -> gpt.TrainConfig:
    """The sweep's settings for one (size, budget) point: warmup is 10% of the steps."""
    return gpt.TrainConfig(n_layer=n_layer, n_embd=n_embd, n_head=n_head, max_iters=steps,
                           warmup_iters=steps // 10, eval_interval=steps, threads=threads,
                           **COMMON)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=int(os.environ.get("ZTL_THREADS", 1)))
    parser.add_argument("--sizes", default=None,
                        help="comma-separated indices into SIZES: run only these and save them "
                             "as a part under the run directory (to run parts in parallel)")
    parser.add_argument("--merge", action="store_true",
                        help="combine the saved parts into the results file instead of training")
    args = parser.parse_args()
    parts = run_dir("bench-scaling")
    if args.merge:
        runs = [run for i in range(len(SIZES)) for run in
                json.loads((parts / f"size-{i}.json").read_text(encoding="utf-8"))["runs"]]
        write(runs, args.threads, None)
        return
    text = gpt.reference_text()
    runs = []
    t_start = time.perf_counter()
    chosen = ([int(i) for i in args.sizes.split(",")] if args.sizes
              else list(range(len(SIZES))))
    for i in chosen:
        n_layer, n_embd, n_head = SIZES[i]
        size_runs = []
        for steps in STEPS:
            cfg = train_config(n_layer, n_embd, n_head, steps, args.threads)
            out = gpt.train(text, cfg, log=lambda s: None)
            model = out["model"]
            n = model.num_params(non_embedding=True)
            tokens = steps * cfg.batch_size * cfg.block_size
            run = {"n_layer": n_layer, "n_embd": n_embd, "n_head": n_head, "steps": steps,
                   "N": n, "params": out["params"], "D": tokens, "C": 6 * n * tokens,
                   "C_with_attention": gpt.flops_per_token(model.config) * tokens,
                   "val_loss_full": out["val_loss_full"], "val_loss": out["val_loss"],
                   "train_loss": out["train_loss"], "wall_s": out["wall_s"],
                   "tokens_per_s": out["tokens_per_s"]}
            size_runs.append(run)
            print(f"L={n_layer} d={n_embd:3d} N={n:7d} D={tokens:8d} "
                  f"val={run['val_loss_full']:.4f} wall={run['wall_s']:.1f}s", flush=True)
        (parts / f"size-{i}.json").write_text(json.dumps({"runs": size_runs}), encoding="utf-8")
        runs += size_runs
    if args.sizes is None:
        write(runs, args.threads, time.perf_counter() - t_start)


def write(runs: list[dict], threads: int, wall: float | None) -> None:
    """The results record of the whole sweep."""
    numbers = {"chars": N_CHARS, "threads": threads, "sizes": SIZES, "steps": STEPS,
               "settings": asdict(train_config(*SIZES[0], STEPS[0], threads)),
               "runs": runs, "run_wall_s_total": sum(r["wall_s"] for r in runs),
               "sweep_wall_s": wall}
    path = results.write("10_gpt_from_scratch", "scaling", numbers,
                         script="benchmarks/bench_scaling.py")
    print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
