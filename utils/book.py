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


# ------------------------------------------------------------------ the generated glossary
import re  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

#: A defined term: ``**term** (中文)`` — bold English, then its Chinese rendering in parentheses.
TERM = re.compile(r"\*\*([^*]{1,60}?)\*\*\s*[(（]([^()（）]{0,30}[\u3400-\u9fff][^()（）]{0,30})[)）]")
GLOSSARY = Path("appendices") / "glossary.md"
HEADER = """# Glossary

Every term the book defines, with its usual Chinese rendering and the page that defines it.
Authors mark a definition as `**term** (中文)`; `make glossary` writes this page from those marks
(do not edit it by hand; a test checks it is current).

| term | 中文 | defined in |
| --- | --- | --- |
"""


def _toc_pages(root: Path) -> list[str]:
    text = (root / "_toc.yml").read_text(encoding="utf-8")
    return [m.group(1) for m in re.finditer(r"file:\s*([^\s#]+)", text)]


def _page_text(path: Path) -> str:
    if path.suffix == ".ipynb":
        import nbformat

        nb = nbformat.read(path, as_version=4)
        return "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    return path.read_text(encoding="utf-8")


def _title(text: str, fallback: str) -> str:
    m = re.search(r"^# (.+)$", text, re.M)
    return m.group(1).strip() if m else fallback


def collect_terms(root: Path) -> list[tuple[str, str, str, str]]:
    """``(term, chinese, page path, page title)`` for each first definition, in book order."""
    seen: dict[str, tuple[str, str, str, str]] = {}
    for page in _toc_pages(root):
        for suffix in (".ipynb", ".md"):
            path = root / (page + suffix)
            if path.exists() and path.as_posix() != (root / GLOSSARY).as_posix():
                text = _page_text(path)
                for term, zh in TERM.findall(text):
                    term, zh = " ".join(term.split()), " ".join(zh.split())  # may wrap lines
                    key = term.lower()
                    seen.setdefault(key, (term, zh, page + suffix,
                                          _title(text, page)))
                break
    return sorted(seen.values(), key=lambda row: row[0].lower())


def render_glossary(root: Path) -> str:
    """The glossary page's Markdown."""
    rows = [f"| {term} | {zh} | [{title}](../{path}) |"
            for term, zh, path, title in collect_terms(root)]
    return HEADER + "\n".join(rows) + "\n"


def main(argv: list[str] | None = None) -> int:
    """``python -m utils.book glossary [--check]``: write (or check) appendices/glossary.md."""
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] != "glossary":
        print("usage: python -m utils.book glossary [--check]")
        return 2
    root = Path.cwd()
    text = render_glossary(root)
    target = root / GLOSSARY
    if "--check" in args:
        current = target.read_text(encoding="utf-8") if target.exists() else ""
        if current != text:
            print(f"{GLOSSARY} is out of date: run make glossary")
            return 1
        return 0
    target.write_text(text, encoding="utf-8")
    print(f"wrote {GLOSSARY} with {len(collect_terms(root))} terms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
