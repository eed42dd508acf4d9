"""The chapter-10 GPT and its trainer (``python -m utils.gpt train --text FILE``).

The model: token + learned position embeddings, pre-norm blocks from ``utils.attention``
(causal self-attention through ``F.scaled_dot_product_attention``, a GELU MLP), a final
LayerNorm and an output layer tied to the token embedding. The trainer: AdamW, linear warmup
then cosine decay, gradient clipping, periodic evaluation, atomic checkpoints that resume
exactly. Defaults equal the reference configuration of chapter 10 (a 4-layer, 128-wide
character model trained for 2000 steps on batches of 12 × 64 characters).
"""
from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import nn

from utils.attention import Block


@dataclass
class GPTConfig:
    """Model shape: vocabulary, context length, depth, heads, width, dropout, biases."""

    vocab_size: int
    block_size: int = 64
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    dropout: float = 0.0
    bias: bool = False

    def __post_init__(self) -> None:
        for name in ("vocab_size", "block_size", "n_layer", "n_head", "n_embd"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"GPTConfig.{name} must be a positive int, got {value!r}")
        if self.n_embd % self.n_head:
            raise ValueError(f"n_embd ({self.n_embd}) must be divisible by n_head "
                             f"({self.n_head}): pick n_head among the divisors of n_embd")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")


class GPT(nn.Module):
    """A decoder-only Transformer language model with weight tying."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.config = config
        c = config
        self.tok_emb = nn.Embedding(c.vocab_size, c.n_embd)
        self.pos_emb = nn.Embedding(c.block_size, c.n_embd)
        self.drop = nn.Dropout(c.dropout)
        self.blocks = nn.ModuleList(Block(c.n_embd, c.n_head, dropout=c.dropout, bias=c.bias)
                                    for _ in range(c.n_layer))
        self.ln_f = nn.LayerNorm(c.n_embd, bias=c.bias)
        self.head = nn.Linear(c.n_embd, c.vocab_size, bias=False)
        self.head.weight = self.tok_emb.weight  # weight tying: one matrix in and out
        self.register_buffer("positions", torch.arange(c.block_size), persistent=False)
        self.apply(self._init_weights)
        for name, p in self.named_parameters():  # residual projections: smaller at init
            if name.endswith("proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * c.n_layer))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def num_params(self, *, non_embedding: bool = False) -> int:
        """Parameters, counting the tied matrix once (minus position embeddings if asked)."""
        n = sum(p.numel() for p in self.parameters())
        return n - self.pos_emb.weight.numel() if non_embedding else n

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Logits (B, T, vocab) for token ids ``idx`` (B, T), and the mean cross-entropy
        against ``targets`` when given."""
        if idx.dim() != 2:
            raise ValueError(f"idx must be (batch, time) token ids, got shape {tuple(idx.shape)}")
        T = idx.shape[1]
        if T > self.config.block_size:
            raise ValueError(f"sequence length {T} exceeds block_size "
                             f"{self.config.block_size}: crop the input to the last "
                             f"{self.config.block_size} tokens")
        x = self.drop(self.tok_emb(idx) + self.pos_emb(self.positions[:T]))
        for block in self.blocks:
            x = block(x)
        logits = self.head(self.ln_f(x))
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.reshape(-1),
                                   ignore_index=-1)
        return logits, loss

    @torch.no_grad()
    def generate(self, idx: torch.Tensor, max_new_tokens: int, *, temperature: float = 1.0,
                 top_k: int | None = None, generator: torch.Generator | None = None
                 ) -> torch.Tensor:
        """Append ``max_new_tokens`` sampled tokens to ``idx`` (B, T)."""
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}; use a small value "
                             f"such as 1e-3 for near-greedy sampling")
        was_training = self.training
        self.eval()
        for _ in range(max_new_tokens):
            logits, _ = self(idx[:, -self.config.block_size:])
            logits = logits[:, -1, :] / temperature
            if top_k is not None:
                kth = torch.topk(logits, min(top_k, logits.size(-1))).values[:, [-1]]
                logits = logits.masked_fill(logits < kth, float("-inf"))
            probs = F.softmax(logits, dim=-1)
            idx = torch.cat([idx, torch.multinomial(probs, 1, generator=generator)], dim=1)
        self.train(was_training)
        return idx


def flops_per_token(config: GPTConfig, *, seq_len: int | None = None) -> float:
    """Training FLOPs per token: 6·N (N = non-embedding parameters, forward + backward)
    plus the attention scores and weighted sum, 6·n_layer·T·d (chapter 10.3)."""
    T = seq_len or config.block_size
    d, L, V = config.n_embd, config.n_layer, config.vocab_size
    n_matmul = L * 12 * d * d + d * V  # q, k, v, out (4d²), MLP (8d²), output layer
    return 6 * n_matmul + 6 * L * T * d


# ----------------------------------------------------------------------------- data
# The reference text of chapter 10's benchmarks: as many characters of the standard-library
# corpus as the reference trainer's README data set has.
REFERENCE_CHARS = 1_115_394


def reference_text() -> str:
    """The first ``REFERENCE_CHARS`` characters of ``utils.data.stdlib_corpus()``."""
    from utils.data import stdlib_corpus

    return stdlib_corpus()[:REFERENCE_CHARS]


class CharData:
    """A text file as character ids: vocabulary = its characters (sorted), the first 90%
    of characters train and the last 10% validate."""

    def __init__(self, text: str, *, train_fraction: float = 0.9) -> None:
        if not text:
            raise ValueError("the text is empty: pass a UTF-8 file with some characters")
        if not 0.0 < train_fraction < 1.0:
            raise ValueError(f"train_fraction must be in (0, 1), got {train_fraction}")
        self.chars = sorted(set(text))
        self.stoi = {ch: i for i, ch in enumerate(self.chars)}
        ids = torch.tensor([self.stoi[ch] for ch in text], dtype=torch.int64)
        n = int(train_fraction * len(ids))
        self.train, self.val = ids[:n], ids[n:]

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> list[int]:
        missing = sorted({ch for ch in text if ch not in self.stoi})
        if missing:
            raise ValueError(f"characters {missing[:5]} are not in the vocabulary")
        return [self.stoi[ch] for ch in text]

    def decode(self, ids: list[int]) -> str:
        return "".join(self.chars[i] for i in ids)


def get_batch(data: torch.Tensor, batch_size: int, block_size: int,
              generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Random windows: inputs (B, T) and the next-token targets, gathered in one indexing."""
    if len(data) <= block_size:
        raise ValueError(f"the split has {len(data)} tokens, fewer than block_size+1 = "
                         f"{block_size + 1}: use a longer text or a smaller block size")
    ix = torch.randint(len(data) - block_size, (batch_size,), generator=generator)
    windows = data[ix[:, None] + torch.arange(block_size + 1)]
    return windows[:, :-1], windows[:, 1:]


@torch.no_grad()
def estimate_loss(model: GPT, data: torch.Tensor, *, batch_size: int, block_size: int,
                  iters: int, generator: torch.Generator) -> float:
    """Mean loss over ``iters`` random batches (the reference's estimate)."""
    model.eval()
    losses = [model(*get_batch(data, batch_size, block_size, generator))[1].item()
              for _ in range(iters)]
    model.train()
    return sum(losses) / len(losses)


@torch.no_grad()
def full_loss(model: GPT, data: torch.Tensor, *, block_size: int, batch_size: int = 64) -> float:
    """Mean loss over every token of ``data`` in non-overlapping windows (no sampling noise)."""
    model.eval()
    n_windows = (len(data) - 1) // block_size
    if n_windows < 1:
        raise ValueError(f"data has {len(data)} tokens; need more than block_size={block_size}")
    x = data[: n_windows * block_size].view(n_windows, block_size)
    y = data[1: n_windows * block_size + 1].view(n_windows, block_size)
    total = 0.0
    for i in range(0, n_windows, batch_size):
        _, loss = model(x[i:i + batch_size], y[i:i + batch_size])
        total += loss.item() * len(x[i:i + batch_size])
    model.train()
    return total / n_windows


# ----------------------------------------------------------------------------- training
OPTIMIZERS = ("adamw", "muon")


@dataclass
class TrainConfig:
    """Every option of ``python -m utils.gpt train``; defaults = the reference configuration."""

    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    block_size: int = 64
    batch_size: int = 12
    max_iters: int = 2000
    lr: float = 1e-3
    min_lr: float = 1e-4
    warmup_iters: int = 100
    beta1: float = 0.9
    beta2: float = 0.99
    weight_decay: float = 0.1
    grad_clip: float = 1.0
    dropout: float = 0.0
    bias: bool = False
    eval_interval: int = 250
    eval_iters: int = 20
    full_val: bool = False
    threads: int = 2
    seed: int = 1337
    compile: bool = False
    fused_adamw: bool = True
    optimizer: str = "adamw"
    muon_lr: float = 1e-2
    target_val_loss: float | None = None
    out_dir: str | None = None
    checkpoint_interval: int = 0

    def __post_init__(self) -> None:
        positive = ("n_layer", "n_head", "n_embd", "block_size", "batch_size", "max_iters",
                    "eval_interval", "eval_iters", "threads")
        for name in positive:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"--{name.replace('_', '-')} must be a positive int, "
                                 f"got {value!r}")
        if self.lr <= 0 or self.min_lr < 0 or self.min_lr > self.lr:
            raise ValueError(f"need 0 <= min_lr <= lr and lr > 0, got lr={self.lr}, "
                             f"min_lr={self.min_lr}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"--optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        if self.muon_lr <= 0:
            raise ValueError(f"--muon-lr must be > 0, got {self.muon_lr}")
        if self.warmup_iters < 0 or self.grad_clip < 0 or self.checkpoint_interval < 0:
            raise ValueError("warmup_iters, grad_clip and checkpoint_interval must be >= 0")


PRESETS: dict[str, dict[str, Any]] = {
    "reference": {},
    # Reaches the reference's validation loss in less wall time: Muon (orthogonalised momentum)
    # for the blocks' matrices, AdamW at a larger learning rate for the rest, a shorter schedule.
    "speedrun": dict(optimizer="muon", muon_lr=1e-2, lr=4e-3, min_lr=4e-4, max_iters=700,
                     warmup_iters=50),
}


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Linear warmup to ``lr`` over ``warmup_iters`` steps, then cosine decay to ``min_lr``
    at ``max_iters`` (and ``min_lr`` after)."""
    if step < cfg.warmup_iters:
        return cfg.lr * step / cfg.warmup_iters
    if step > cfg.max_iters:
        return cfg.min_lr
    ratio = (step - cfg.warmup_iters) / max(1, cfg.max_iters - cfg.warmup_iters)
    return cfg.min_lr + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (cfg.lr - cfg.min_lr)


class MuonAdamW:
    """Muon for the blocks' weight matrices and AdamW for everything else, stepped together;
    ``param_groups`` lists both, each group's ``lr_scale`` is its learning rate over ``cfg.lr``."""

    def __init__(self, muon: torch.optim.Optimizer, adamw: torch.optim.Optimizer) -> None:
        self.optimizers = {"muon": muon, "adamw": adamw}

    @property
    def param_groups(self) -> list[dict[str, Any]]:
        return [g for opt in self.optimizers.values() for g in opt.param_groups]

    def step(self) -> None:
        for opt in self.optimizers.values():
            opt.step()

    def zero_grad(self, set_to_none: bool = True) -> None:
        for opt in self.optimizers.values():
            opt.zero_grad(set_to_none=set_to_none)

    def state_dict(self) -> dict[str, Any]:
        return {name: opt.state_dict() for name, opt in self.optimizers.items()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for name, opt in self.optimizers.items():
            opt.load_state_dict(state[name])


def make_optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer | MuonAdamW:
    """AdamW with weight decay on matrices (dim ≥ 2) only, fused kernel unless disabled; with
    ``cfg.optimizer == "muon"``, the blocks' matrices go to ``torch.optim.Muon`` instead."""
    params = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    hidden = [p for n, p in params if cfg.optimizer == "muon" and p.dim() == 2
              and n.startswith("blocks.")]
    decay = [p for n, p in params if p.dim() >= 2 and not any(p is h for h in hidden)]
    no_decay = [p for n, p in params if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": cfg.weight_decay},
              {"params": no_decay, "weight_decay": 0.0}]
    kind = {"fused": True} if cfg.fused_adamw else {"foreach": False}
    adamw = torch.optim.AdamW(groups, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), **kind)
    if not hidden:
        return adamw
    muon = torch.optim.Muon(hidden, lr=cfg.muon_lr, weight_decay=cfg.weight_decay,
                            adjust_lr_fn="match_rms_adamw")
    for group in muon.param_groups:
        group["lr_scale"] = cfg.muon_lr / cfg.lr
    return MuonAdamW(muon, adamw)


def train(text: str, cfg: TrainConfig, *, log: Callable[[str], None] = print,
          stop_at: int | None = None) -> dict[str, Any]:
    """Train the char-level GPT on ``text`` with ``cfg``; return the summary (what the
    command line prints last as JSON) plus ``model``, ``history`` and ``config``. Resumes from
    ``cfg.out_dir`` when it holds a checkpoint; ``stop_at`` ends early at that step, as an
    interruption would (for tests and chapter 12)."""
    from utils import checkpoint

    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    data = CharData(text)
    model_cfg = GPTConfig(vocab_size=data.vocab_size, block_size=cfg.block_size,
                          n_layer=cfg.n_layer, n_head=cfg.n_head, n_embd=cfg.n_embd,
                          dropout=cfg.dropout, bias=cfg.bias)
    model = GPT(model_cfg)
    optimizer = make_optimizer(model, cfg)
    batches = torch.Generator().manual_seed(cfg.seed)
    evals = torch.Generator().manual_seed(cfg.seed + 1)
    step, history = 0, []
    if cfg.out_dir and (found := checkpoint.latest(cfg.out_dir)) is not None:
        state = checkpoint.load(found, model)
        optimizer.load_state_dict(state["optimizer"])
        batches.set_state(state["batches"])
        evals.set_state(state["evals"])
        checkpoint.set_rng_state(state["rng"])
        step, history = state["step"], state["history"]
        log(f"resumed from {found.name} at step {step}")
    forward = torch.compile(model) if cfg.compile else model

    def evaluate() -> dict[str, float]:
        kw = dict(batch_size=cfg.batch_size, block_size=cfg.block_size, iters=cfg.eval_iters,
                  generator=evals)
        out = {"train": estimate_loss(forward, data.train, **kw)}
        out["val"] = (full_loss(model, data.val, block_size=cfg.block_size) if cfg.full_val
                      else estimate_loss(forward, data.val, **kw))
        return out

    step_times: list[float] = []
    wall0 = time.perf_counter()
    losses: dict[str, float] = {}
    while True:
        if step % cfg.eval_interval == 0 or step == cfg.max_iters:
            losses = evaluate()
            history.append({"step": step, **losses})
            log(f"step {step:5d}  train loss {losses['train']:.4f}  val loss {losses['val']:.4f}")
            if cfg.target_val_loss is not None and losses["val"] <= cfg.target_val_loss:
                break
        if step >= cfg.max_iters or (stop_at is not None and step >= stop_at):
            break
        t0 = time.perf_counter()
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step, cfg) * group.get("lr_scale", 1.0)
        X, Y = get_batch(data.train, cfg.batch_size, cfg.block_size, batches)
        _, loss = forward(X, Y)
        loss.backward()
        if cfg.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip, foreach=True)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1
        step_times.append(time.perf_counter() - t0)
        if cfg.out_dir and cfg.checkpoint_interval and step % cfg.checkpoint_interval == 0:
            checkpoint.save(cfg.out_dir, step, model, {
                "optimizer": optimizer.state_dict(), "batches": batches.get_state(),
                "evals": evals.get_state(), "rng": checkpoint.rng_state(), "step": step,
                "history": history, "config": asdict(cfg)})
    if not history or history[-1]["step"] != step:  # stopped between evaluations
        losses = evaluate()
        history.append({"step": step, **losses})
    # The final loss on every validation token too (the sampled estimate is noisy); the wall
    # time includes it, so a run judged by it pays for it.
    val_full = losses["val"] if cfg.full_val else full_loss(model, data.val,
                                                            block_size=cfg.block_size)
    wall = time.perf_counter() - wall0
    # Steady-state speed: skip the first steps (allocator and compile warm-up).
    steady = step_times[min(len(step_times) // 10, 20):] or step_times or [float("nan")]
    median = statistics.median(steady)
    return {"iters": step, "tokens_per_s": cfg.batch_size * cfg.block_size / median,
            "train_loss": losses["train"], "val_loss": losses["val"], "val_loss_full": val_full,
            "wall_s": wall,
            "params": model.num_params(), "median_step_ms": 1000 * median,
            "history": history, "config": asdict(cfg), "model": model}


# ----------------------------------------------------------------------------- command line
def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m utils.gpt",
                                     description="Train chapter 10's character-level GPT.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("train", help="train on a UTF-8 text file (90%% train / 10%% val)")
    p.add_argument("--text", required=True, help="a UTF-8 text file")
    p.add_argument("--preset", choices=sorted(PRESETS), default="reference")
    for f in fields(TrainConfig):
        if f.name == "out_dir":
            continue
        flag = "--" + f.name.replace("_", "-")
        if f.type in ("bool", bool):
            p.add_argument(flag, action=argparse.BooleanOptionalAction, default=None)
        elif f.name == "target_val_loss":
            p.add_argument(flag, type=float, default=None)
        elif f.name == "optimizer":
            p.add_argument(flag, choices=OPTIMIZERS, default=None)
        else:
            kind = int if isinstance(f.default, int) else float
            p.add_argument(flag, type=kind, default=None)
    p.add_argument("--out-dir", default=None, help="checkpoint folder (resumes from it)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m utils.gpt``."""
    args = _parser().parse_args(argv)
    path = Path(args.text)
    if not path.is_file():
        raise SystemExit(f"--text {path}: no such file; pass a UTF-8 text file")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise SystemExit(f"--text {path} is not UTF-8 ({err}); convert it first") from None
    options = dict(PRESETS[args.preset])
    for f in fields(TrainConfig):
        value = getattr(args, f.name, None)
        if value is not None:
            options[f.name] = value
    try:
        cfg = TrainConfig(**options)
    except ValueError as err:
        raise SystemExit(str(err)) from None
    summary = train(text, cfg)
    for key in ("history", "config", "model"):
        summary.pop(key)
    summary["preset"] = args.preset
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
