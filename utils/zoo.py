"""Models that later chapters reuse: trained deterministically on first use, then cached
(safetensors, written atomically) under the cache root, keyed by the model's config and the
library versions. Two notebooks asking at once are safe: the second waits for the first."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from utils.paths import cache_root

LOG_ENV = "ZTL_ZOO_LOG"  # when set, each training appends a line to this file (for tests)


@dataclass(frozen=True)
class Entry:
    """A zoo model: how to build it from its config, how to train it, its default config."""

    build: Callable[[dict[str, Any]], Any]
    train: Callable[[Any, dict[str, Any]], None]
    defaults: dict[str, Any]


ZOO: dict[str, Entry] = {}


def register(name: str, build: Callable, train: Callable, defaults: dict[str, Any]) -> None:
    """Add a model to the zoo (chapters that own a reusable model call this in ``utils``)."""
    if not name.replace("-", "").isalnum():
        raise ValueError(f"zoo name must be letters, digits and '-', got {name!r}")
    ZOO[name] = Entry(build, train, dict(defaults))


def key(name: str, config: dict[str, Any]) -> str:
    """Cache key: the model's name, config and the library versions that shape its weights."""
    versions = {d: metadata.version(d) for d in ("torch", "numpy")}
    blob = json.dumps({"name": name, "config": config, "versions": versions}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def load(name: str, **overrides: Any) -> Any:
    """The trained model ``name`` (in eval mode): from the cache, or trained now and cached."""
    import torch
    from safetensors.torch import load_file, save_file

    if name not in ZOO:
        raise ValueError(f"unknown zoo model {name!r}; the zoo has {sorted(ZOO)}")
    entry = ZOO[name]
    unknown = set(overrides) - set(entry.defaults)
    if unknown:
        raise ValueError(f"{name}: unknown config keys {sorted(unknown)}; known {sorted(entry.defaults)}")
    config = {**entry.defaults, **overrides}
    folder = cache_root() / "zoo"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}-{key(name, config)}.safetensors"
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a second notebook waits here, then loads
        if path.exists():
            model = entry.build(config)
            model.load_state_dict(load_file(path))
        else:
            torch.manual_seed(config.get("seed", 0))
            model = entry.build(config)
            entry.train(model, config)
            tmp = path.with_suffix(".tmp")
            save_file({k: v.contiguous() for k, v in model.state_dict().items()}, tmp,
                      metadata={"config": json.dumps(config, sort_keys=True)})
            os.replace(tmp, path)
            if log := os.environ.get(LOG_ENV):
                with open(log, "a") as fh:
                    fh.write(f"trained {path.name}\n")
    return model.eval()


# ------------------------------------------------------------------ models in the zoo
def _digits_mlp(config: dict[str, Any]) -> Any:
    from torch import nn

    return nn.Sequential(nn.Linear(64, config["hidden"]), nn.ReLU(),
                         nn.Linear(config["hidden"], 10))


def _train_digits_mlp(model: Any, config: dict[str, Any]) -> None:
    import torch

    from utils.data import load_sklearn

    X, y = load_sklearn("digits")
    X = torch.from_numpy(X / 16.0)
    y = torch.from_numpy(y)
    opt = torch.optim.Adam(model.parameters(), lr=config["lr"])
    gen = torch.Generator().manual_seed(config["seed"])
    for _ in range(config["epochs"]):
        for idx in torch.randperm(len(X), generator=gen).split(64):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(X[idx]), y[idx]).backward()
            opt.step()


register("digits-mlp", _digits_mlp, _train_digits_mlp,
         dict(hidden=64, epochs=20, lr=1e-2, seed=0))
