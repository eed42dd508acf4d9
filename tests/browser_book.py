"""The built book in headless Chromium (run by ``make test`` after the book build, not by a
plain ``pytest tests``): figures present, math typeset locally, internal links resolve."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from tests import browser
from utils import notebooks as nbc

ROOT = Path(__file__).resolve().parent.parent
HTML = ROOT / "_build" / "html"


def _png_outputs(path: Path) -> int:
    nb = nbformat.read(path, as_version=4)
    return sum("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code"
               for o in c.get("outputs", []))


def test_built_book_in_chromium():
    if not browser.require_browser():
        pytest.skip("chromium/chromedriver not installed (run make browser)")
    assert (HTML / "intro.html").exists(), "build the book first (make book-build)"
    pages = browser.book_pages(HTML)
    assert "intro.html" in pages and len(pages) > 25
    figures = {p.relative_to(ROOT).with_suffix(".html").as_posix(): _png_outputs(p)
               for p in nbc.find_notebooks(ROOT)}
    assert all(page in pages for page in figures), "a notebook is missing from the built book"
    problems = browser.check_site(HTML, pages, min_images=figures)
    assert not problems, "\n".join(problems)
