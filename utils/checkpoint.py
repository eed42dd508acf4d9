"""Checkpoints that never lose work (chapter 12): written atomically, resumed exactly.

A checkpoint is a folder ``step-00000100/`` holding ``model.safetensors`` (the weights),
``state.pt`` (optimizer, scheduler, RNG states, data position and anything else the trainer
needs) and ``meta.json``. It is written under a temporary name, flushed to disk, then renamed
into place; only then is ``latest.json`` replaced (also atomically) to point at it. A process
killed at any moment leaves either the previous checkpoint or the new one, never half of one.

Set ``ZTL_CHECKPOINT_PAUSE=<seconds>`` to sleep between writing the weights and the state:
chapter 12 uses it to kill a trainer while a checkpoint is half written.
"""
from __future__ import annotations

import json
import os
import random
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

LATEST = "latest.json"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_bytes_atomic(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a flushed temporary file in the same folder and
    ``os.replace``: a reader sees the old file or the new one, never a part."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def write_json_atomic(path: str | Path, obj: Any) -> None:
    """Write ``obj`` as JSON to ``path`` atomically (``write_bytes_atomic``)."""
    write_bytes_atomic(path, json.dumps(obj, indent=1).encode("utf-8"))


def rng_state() -> dict[str, Any]:
    """The Python, NumPy and torch (CPU, and CUDA if present) random states."""
    state = {"python": random.getstate(), "numpy": np.random.get_state(),
             "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what ``rng_state`` returned."""
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save(folder: str | Path, step: int, model: torch.nn.Module, state: dict[str, Any],
         *, meta: dict[str, Any] | None = None, keep: int = 2) -> Path:
    """Write checkpoint ``step`` under ``folder`` atomically and point ``latest.json`` at it;
    keep the newest ``keep`` checkpoints. ``state`` holds everything but the weights."""
    from safetensors.torch import save_model

    if not isinstance(step, int) or step < 0:
        raise ValueError(f"step must be an int >= 0, got {step!r}")
    if keep < 1:
        raise ValueError(f"keep must be >= 1, got {keep}: the newest checkpoint is always kept")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / f"step-{step:08d}"
    tmp = Path(tempfile.mkdtemp(dir=folder, prefix=f".{final.name}."))
    save_model(model, str(tmp / "model.safetensors"))
    if pause := float(os.environ.get("ZTL_CHECKPOINT_PAUSE", "0")):
        time.sleep(pause)  # a test hook: widen the write so a kill can land inside it
    torch.save(state, tmp / "state.pt")
    (tmp / "meta.json").write_text(json.dumps({"step": step, **(meta or {})}, indent=1))
    for name in ("model.safetensors", "state.pt", "meta.json"):
        with open(tmp / name, "rb") as f:
            os.fsync(f.fileno())
    if final.exists():  # a rerun of the same step after a crash: replace it
        shutil.rmtree(final)
    os.rename(tmp, final)
    _fsync_dir(folder)
    write_json_atomic(folder / LATEST, {"step": step, "path": final.name})
    steps = sorted(p for p in folder.glob("step-*") if p.is_dir())
    for old in steps[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    for stale in folder.glob(".step-*"):  # leftovers of a killed writer
        if stale != tmp:
            shutil.rmtree(stale, ignore_errors=True)
    return final


def latest(folder: str | Path) -> Path | None:
    """The newest complete checkpoint folder under ``folder``, or None when there is none."""
    pointer = Path(folder) / LATEST
    if not pointer.exists():
        return None
    path = Path(folder) / json.loads(pointer.read_text())["path"]
    if not (path / "model.safetensors").exists():
        raise ValueError(f"{pointer} points at {path.name}, which is incomplete: delete "
                         f"{pointer} to start over or restore the folder")
    return path


def load(path: str | Path, model: torch.nn.Module) -> dict[str, Any]:
    """Load weights into ``model`` from checkpoint folder ``path``; return its saved state."""
    from safetensors.torch import load_model

    path = Path(path)
    if not (path / "model.safetensors").exists():
        raise ValueError(f"{path} is not a checkpoint folder (no model.safetensors); "
                         f"pass a folder written by utils.checkpoint.save or use latest()")
    load_model(model, str(path / "model.safetensors"))
    return torch.load(path / "state.pt", weights_only=False)
