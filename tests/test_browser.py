"""The browser check itself, on a tiny site with planted defects: it must pass the good page
and catch broken math, a missing figure and a broken link."""

from __future__ import annotations

import shutil
from importlib.util import find_spec
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from tests import browser  # noqa: E402

pytestmark = pytest.mark.slow
PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8">
<script defer src="_static/mathjax/tex-svg.js"></script></head>
<body id="top"><p>{body}</p></body></html>"""


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    if not browser.require_browser():
        pytest.skip("chromium/chromedriver not installed (run make browser)")
    root = tmp_path_factory.mktemp("site")
    spec = find_spec("sphinx-mathjax-offline")
    shutil.copytree(Path(spec.origin).parent / "static" / "mathjax", root / "_static" / "mathjax")
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot([0, 1], [0, 1])
    fig.savefig(root / "fig.png", dpi=50)
    pages = {
        "good.html": r'Math <span class="math">\(e^{i\pi} + 1 = 0\)</span>, a figure <img src="fig.png"> and '
                     r'<a href="good.html#top">a link</a>.',
        "broken_math.html": r'Broken math <span class="math">\(x^\)</span> here.',
        "no_mathjax.html": r'<span class="math">\(x^2\)</span>',
        "missing_figure.html": r'A figure that is gone: <img src="gone.png">',
        "broken_link.html": r'<a href="nowhere.html">a link to nowhere</a>',
        "missing_anchor.html": r'<a href="#nothing">a link to a missing anchor</a>',
    }
    for name, body in pages.items():
        page = PAGE.format(body=body)
        if name == "no_mathjax.html":  # the script tag is missing: math stays raw TeX
            page = page.replace('<script defer src="_static/mathjax/tex-svg.js"></script>', "")
        (root / name).write_text(page, encoding="utf-8")
    return root


def test_good_page_passes(site):
    assert browser.check_site(site, ["good.html"], min_images={"good.html": 1}) == []


@pytest.mark.parametrize("page,expected", [
    ("broken_math.html", "MathJax error node"),
    ("missing_figure.html", "image does not load"),
    ("broken_link.html", "broken link"),
    ("missing_anchor.html", "missing anchor"),
    ("no_mathjax.html", "MathJax no-mathjax"),
])
def test_planted_defect_is_caught(site, page, expected):
    problems = browser.check_site(site, [page])
    assert any(expected in p for p in problems), problems


def test_expected_figure_count(site):
    problems = browser.check_site(site, ["good.html"], min_images={"good.html": 2})
    assert any("expected at least 2" in p for p in problems)
