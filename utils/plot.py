"""One plotting style for the book: readable, small PNGs at about 100 dpi."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

DPI = 100
STYLE = {
    "figure.dpi": DPI,
    "savefig.dpi": DPI,
    "figure.figsize": (6.0, 3.6),
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "image.cmap": "viridis",
    "savefig.bbox": "tight",
}


def use_style() -> None:
    """Apply the book style and PNG output for inline figures."""
    matplotlib.rcParams.update(STYLE)
    try:
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats("png")
    except Exception:  # not in IPython: nothing to configure
        pass


def subplots(nrows: int = 1, ncols: int = 1, **kwargs: Any):
    """``plt.subplots`` in the book style; returns ``(fig, axes)``."""
    import matplotlib.pyplot as plt

    if nrows < 1 or ncols < 1:
        raise ValueError(f"nrows and ncols must be >= 1, got {nrows}x{ncols}")
    use_style()
    kwargs.setdefault("figsize", (3.2 * ncols + 0.6, 3.0 * nrows + 0.4))
    kwargs.setdefault("layout", "constrained")
    return plt.subplots(nrows, ncols, **kwargs)


def save(fig: Any, path: str | Path) -> Path:
    """Save ``fig`` as a PNG at the book's dpi (the suffix must be .png)."""
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ValueError(f"figures are stored as PNG; got {path.name!r}, use a .png name")
    fig.savefig(path, dpi=DPI)
    return path
