"""Zero to Large: the shared, tested helpers that the course notebooks import as ``utils``."""

from __future__ import annotations

import importlib
from pathlib import Path
from utils.claims import claim, claims_made
from utils.config import Config, current_profile, profile
from utils.env import setup
from utils.paths import cache_root, run_dir
from utils.progress import progress

#: Marker that tells the course package apart from a reader's own ``utils.py``.
IS_ZERO_TO_LARGE = True
__version__ = "0.1.0"


def __getattr__(name: str):
    """Import a submodule on first use (``utils.plot``, ``utils.launch``, ...): a process that
    needs only ``utils.checkpoint`` (a torchrun worker, a Dask worker) skips matplotlib and
    scikit-learn, and every module is reachable without its own import line."""
    if not name.startswith("_") and (Path(__file__).parent / f"{name}.py").is_file():
        return importlib.import_module(f"utils.{name}")
    raise AttributeError(f"module 'utils' has no attribute {name!r}")

__all__ = [
    "IS_ZERO_TO_LARGE",
    "Config",
    "bench",
    "data",
    "cache_root",
    "claim",
    "claims_made",
    "current_profile",
    "plot",
    "results",
    "train",
    "zoo",
    "profile",
    "progress",
    "run_dir",
    "setup",
]
