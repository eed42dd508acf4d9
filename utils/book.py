"""Sphinx extension for the book (listed in ``_config.yml``): math typeset by MathJax served
from the built site itself, as SVG, so the book works where CDNs are blocked."""

from __future__ import annotations

from typing import Any

MATHJAX_PATH = "mathjax/tex-svg.js"


def _use_local_svg(app: Any, config: Any) -> None:
    config.mathjax_path = MATHJAX_PATH


def setup(app: Any) -> dict[str, Any]:
    """Register the offline MathJax assets and switch their output to SVG."""
    app.setup_extension("sphinx-mathjax-offline")  # copies MathJax into _static/mathjax
    app.connect("config-inited", _use_local_svg, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
