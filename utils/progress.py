"""Text progress bars that keep stored notebook outputs small."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any

from tqdm import tqdm


def progress(iterable: Iterable[Any] | None = None, **kwargs: Any) -> tqdm:
    """A text-mode tqdm bar refreshing at most once a second (no widgets in the book)."""
    kwargs.setdefault("mininterval", 1.0)
    kwargs.setdefault("file", sys.stdout)
    kwargs.setdefault("dynamic_ncols", False)
    # A fixed 20-character bar and no width limit, so the postfix (loss, metrics) is never cut.
    kwargs.setdefault("bar_format", "{l_bar}{bar:20}{r_bar}")
    if kwargs["mininterval"] < 1.0:
        raise ValueError(f"mininterval={kwargs['mininterval']} would bloat outputs; use >= 1.0")
    return tqdm(iterable, **kwargs)
