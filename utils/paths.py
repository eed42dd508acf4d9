"""Where the course writes: a cache root and per-run directories, never inside the repository."""

from __future__ import annotations

import os
import re
from pathlib import Path

_SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def _checkout_root() -> Path | None:
    root = Path(__file__).resolve().parent.parent
    if (root / "pyproject.toml").is_file() and (root / "datasets").is_dir():
        return root
    return None


def cache_root() -> Path:
    """``$ZTL_CACHE``, else ``datasets/cache`` in a checkout, else a per-user cache folder."""
    if env := os.environ.get("ZTL_CACHE"):
        root = Path(env).expanduser()
    elif (checkout := _checkout_root()) is not None:
        root = checkout / "datasets" / "cache"
    else:
        base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
        root = Path(base) / "zero-to-large"
    root.mkdir(parents=True, exist_ok=True)
    return root


def run_dir(name: str) -> Path:
    """A fresh-or-reused folder ``<cache root>/runs/<name>`` for everything a notebook writes."""
    if not isinstance(name, str) or not _SLUG.match(name):
        raise ValueError(
            f"run_dir name must be a simple slug like '1.1-linear-algebra', got {name!r}"
        )
    base = Path(os.environ["ZTL_RUNS"]) if os.environ.get("ZTL_RUNS") else cache_root() / "runs"
    path = base / name
    path.mkdir(parents=True, exist_ok=True)
    return path
