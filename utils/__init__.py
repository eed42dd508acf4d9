"""Zero to Large: the shared, tested helpers that the course notebooks import as ``utils``."""

from __future__ import annotations

from utils import bench, data, plot, results, train, zoo
from utils.claims import claim, claims_made
from utils.config import Config, current_profile, profile
from utils.env import setup
from utils.paths import cache_root, run_dir
from utils.progress import progress

#: Marker that tells the course package apart from a reader's own ``utils.py``.
IS_ZERO_TO_LARGE = True
__version__ = "0.1.0"

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
