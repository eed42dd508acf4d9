"""A readable PyTorch training loop with a text progress bar, shared by the chapters after
chapter 2 (notebook 1.4 writes the same loop out by hand; tests/test_train.py checks they agree)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch

from utils.progress import progress

Metric = Callable[[torch.Tensor, torch.Tensor], float]


def accuracy(logits: torch.Tensor, y: torch.Tensor) -> float:
    """Share of predictions equal to the label: the arg-max over the last dimension when
    ``logits`` has one more dimension than ``y`` (classes last, e.g. (B, C) or (B, L, C)),
    else one logit per item, positive meaning class 1."""
    if logits.ndim == y.ndim + 1 and logits.shape[-1] > 1:
        pred = logits.argmax(dim=-1)
    elif logits.numel() == y.numel():
        pred = (logits.reshape(y.shape) > 0).long()
    else:
        raise ValueError(f"accuracy: logits {tuple(logits.shape)} do not fit labels "
                         f"{tuple(y.shape)}; pass (..., classes) logits with (...) labels")
    if pred.shape != y.shape:
        raise ValueError(f"accuracy: {tuple(pred.shape)} predictions vs {tuple(y.shape)} labels")
    return (pred == y).float().mean().item()


def _check_loader(loader: Any, name: str) -> None:
    if loader is None or not isinstance(loader, Iterable):
        raise TypeError(f"{name} must be an iterable of (X, y) batches such as a DataLoader, "
                        f"got {type(loader).__name__}")


@torch.no_grad()
def evaluate(model: torch.nn.Module, loader: Iterable, loss_fn: Callable, *,
             metrics: dict[str, Metric] | None = None, device: Any = None) -> dict[str, float]:
    """Mean loss (and metrics) over ``loader``, weighted by batch size, in eval mode."""
    _check_loader(loader, "loader")
    was_training = model.training
    model.eval()
    totals: dict[str, float] = {"loss": 0.0, **{k: 0.0 for k in (metrics or {})}}
    n = 0
    for X, y in loader:
        X, y = X.to(device or "cpu"), y.to(device or "cpu")
        out = model(X)
        totals["loss"] += loss_fn(out, y).item() * len(X)
        for name, fn in (metrics or {}).items():
            totals[name] += fn(out, y) * len(X)
        n += len(X)
    model.train(was_training)
    if n == 0:
        raise ValueError("evaluate: the loader yielded no batches")
    return {k: v / n for k, v in totals.items()}


def fit(model: torch.nn.Module, train_loader: Iterable, *, loss_fn: Callable,
        optimizer: torch.optim.Optimizer, epochs: int, val_loader: Iterable | None = None,
        metrics: dict[str, Metric] | None = None, scheduler: Any = None,
        clip_grad_norm: float | None = None, device: Any = None, desc: str = "epochs",
        verbose: bool = True) -> dict[str, list[float]]:
    """Train for ``epochs``: forward, loss, zero_grad, backward, (clip), step, (schedule per
    step). Returns the history: per-epoch ``train_loss`` and ``val_<name>`` values."""
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be a positive int, got {epochs!r}")
    _check_loader(train_loader, "train_loader")
    if val_loader is not None:
        _check_loader(val_loader, "val_loader")
    if clip_grad_norm is not None and clip_grad_norm <= 0:
        raise ValueError(f"clip_grad_norm must be > 0 or None, got {clip_grad_norm}")
    history: dict[str, list[float]] = {"train_loss": []}
    bar = progress(range(epochs), desc=desc, disable=not verbose)
    for _ in bar:
        model.train()
        total, n = 0.0, 0
        for X, y in train_loader:
            X, y = X.to(device or "cpu"), y.to(device or "cpu")
            loss = loss_fn(model(X), y)
            optimizer.zero_grad()
            loss.backward()
            if clip_grad_norm is not None:
                torch.nn.utils.clip_grad_norm_(model.parameters(), clip_grad_norm)
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            total += loss.item() * len(X)
            n += len(X)
        if n == 0:
            raise ValueError("fit: train_loader yielded no batches")
        history["train_loss"].append(total / n)
        postfix = {"loss": f"{total / n:.4f}"}
        if val_loader is not None:
            for name, value in evaluate(model, val_loader, loss_fn, metrics=metrics,
                                        device=device).items():
                history.setdefault(f"val_{name}", []).append(value)
                postfix[f"val_{name}"] = f"{value:.4f}"
        bar.set_postfix(postfix, refresh=False)
    return history


def plot_history(history: dict[str, list[float]], keys: list[str] | None = None) -> Any:
    """Loss (and metric) curves per epoch from ``fit``'s history; returns the figure."""
    from utils import plot

    keys = keys or [k for k in history if k.endswith("loss")]
    missing = [k for k in keys if k not in history]
    if missing:
        raise ValueError(f"history has no {missing}; it has {sorted(history)}")
    fig, ax = plot.subplots()
    for key in keys:
        ax.plot(range(1, len(history[key]) + 1), history[key], marker=".", label=key)
    ax.set(xlabel="epoch", ylabel="value")
    ax.legend()
    return fig
