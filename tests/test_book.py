"""Book-wide conventions: the generated glossary is current, the math extension is offline."""

from __future__ import annotations

from pathlib import Path

from utils import book

ROOT = Path(__file__).resolve().parent.parent


def test_term_markup():
    text = "A **tensor** (张量) is ... the **learning rate** （学习率） and **bold** (no Chinese)."
    assert book.TERM.findall(text) == [("tensor", "张量"), ("learning rate", "学习率")]
    assert book.TERM.findall("a **maximum\nlikelihood** (最大\n似然) fit") == [
        ("maximum\nlikelihood", "最大\n似然")]


def test_glossary_page_is_current():
    committed = (ROOT / book.GLOSSARY).read_text(encoding="utf-8")
    assert committed == book.render_glossary(ROOT), "run make glossary"


def test_glossary_collects_first_definition(tmp_path):
    (tmp_path / "_toc.yml").write_text("root: intro\nparts:\n  - chapters:\n      - file: a\n"
                                       "      - file: b\n")
    (tmp_path / "a.md").write_text("# Page A\n\nA **tensor** (张量) holds numbers.\n")
    (tmp_path / "b.md").write_text("# Page B\n\nAgain a **Tensor** (张量) and a **loss\nfunction** (损失).\n")
    rows = book.collect_terms(tmp_path)
    assert rows == [("loss function", "损失", "b.md", "Page B"), ("tensor", "张量", "a.md", "Page A")]


def test_mathjax_is_served_locally_as_svg():
    class Config:
        mathjax_path = "https://cdn.example/mathjax.js"

    config = Config()
    book._use_local_svg(None, config)
    assert config.mathjax_path == "mathjax/tex-svg.js"
