"""The notebook contract: the checker catches every rule on its defect fixture, the good
fixture and every book notebook conform, and the time ledger holds."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from tests.fixtures.contract import make_defects
from utils import notebooks as nbc

ROOT = Path(__file__).resolve().parent.parent
BOOK = nbc.find_notebooks(ROOT)


def _rules(path: Path, toc=None) -> set[str]:
    return {v.rule for v in nbc.check_notebook(path, toc=toc, repo_root=ROOT)}


def test_good_fixture_conforms():
    assert nbc.check_notebook(make_defects.GOOD, repo_root=ROOT) == []


@pytest.mark.parametrize("rule", sorted(nbc.RULES))
def test_defect_fixture_is_caught(rule):
    path = make_defects.DEFECTS / f"{rule}.ipynb"
    assert path.exists(), f"rule {rule!r} has no defect fixture: run make_defects.py"
    assert _rules(path, toc=set() if rule == "toc" else None) == {rule}


@pytest.mark.parametrize("rule", sorted(make_defects.MUTATIONS))
def test_defect_fixtures_are_regenerated_not_edited(rule):
    stored = nbformat.read(make_defects.DEFECTS / f"{rule}.ipynb", as_version=4)
    assert stored == make_defects.build(rule)


def test_every_rule_has_a_mutation():
    assert set(make_defects.MUTATIONS) == set(nbc.RULES)


def test_parameters_cell_rules():
    assert nbc._check_parameters('PROFILE = "auto"\nEPOCHS = None') == []
    assert nbc._check_parameters('PROFILE = "auto"\nEPOCHS = 3')[0].rule == "parameters"
    assert nbc._check_parameters('PROFILE = "cpu"')[0].rule == "parameters"
    assert nbc._check_parameters('import os\nPROFILE = "auto"')[0].rule == "parameters"


def test_papermill_smoke_parameter_reaches_the_profile(tmp_path):
    out = tmp_path / "out.ipynb"
    subprocess.run(
        [sys.executable, "-m", "papermill", str(make_defects.GOOD), str(out),
         "-p", "PROFILE", "smoke", "--cwd", str(tmp_path), "--no-progress-bar", "-k", "python3"],
        check=True, capture_output=True, env={**__import__("os").environ, "ZTL_THREADS": "1"},
    )
    nb = nbformat.read(out, as_version=4)
    printed = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                      for o in c.outputs)
    assert "profile=smoke n_samples=2000" in printed
    assert "claim (smoke: not asserted)" in printed


@pytest.mark.slow
def test_new_notebook_conforms_and_joins_the_toc(tmp_path):
    (tmp_path / "chapters" / "99_test").mkdir(parents=True)
    (tmp_path / "chapters" / "99_test" / "index.md").write_text("# 99 Test\n")
    (tmp_path / "_toc.yml").write_text(
        "format: jb-book\nroot: intro\nparts:\n  - caption: Test\n    chapters:\n"
        "      - file: chapters/99_test/index\n")
    rel = Path("chapters/99_test/01_first.ipynb")
    subprocess.run([sys.executable, "-m", "utils.notebooks", "new", str(rel), "A first notebook"],
                   cwd=tmp_path, check=True, capture_output=True)
    toc = nbc.toc_entries(tmp_path)
    assert "chapters/99_test/01_first" in toc
    assert nbc.check_notebook(tmp_path / rel, toc=toc, repo_root=tmp_path) == []
    assert nbc.add_to_toc(tmp_path, "chapters/99_test/01_first") is False


def test_new_notebook_rejects_a_numbered_title():
    with pytest.raises(ValueError, match="starts with a number"):
        nbc.new_notebook(Path("chapters/99_test/01_first.ipynb"), 99, 1, "99.1 A first notebook")


def test_book_has_notebooks():
    assert BOOK, "no notebooks under chapters/"


@pytest.mark.parametrize("path", BOOK, ids=[p.relative_to(ROOT).as_posix() for p in BOOK])
def test_book_notebook_conforms(path):
    problems = nbc.check_notebook(path, toc=nbc.toc_entries(ROOT), repo_root=ROOT)
    assert not problems, "\n".join(map(str, problems))


def test_time_ledger():
    rows, problems = nbc.ledger(BOOK)
    report = ROOT / "_build" / "reports"
    report.mkdir(parents=True, exist_ok=True)
    (report / "ledger.json").write_text(json.dumps(rows, indent=1))
    assert not problems, "\n".join(problems)


def test_ledger_catches_overruns(tmp_path):
    nb = nbformat.read(make_defects.GOOD, as_version=4)
    paths = []
    for i in range(6):  # six 60 s notebooks in chapter 1 exceed its 4-minute allotment
        nb.metadata["ztl"]["durations"] = {"cpu": 60.0, "smoke": 5.0}
        p = tmp_path / "chapters" / "01_math" / f"0{i + 1}_x.ipynb"
        p.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, p)
        paths.append(p)
    _, problems = nbc.ledger(paths)
    assert any("chapters 1-1" in msg for msg in problems)
    nb.metadata["ztl"]["durations"] = {"cpu": 95.0, "smoke": 5.0}
    nbformat.write(nb, paths[0])
    assert any("cpu 95 s > 90 s" in msg for msg in nbc.ledger(paths[:1])[1])


def test_nbval_runs_fixture_and_enforces_the_notebook_limit():
    """nbval passes the good fixture as stored; with a tiny per-notebook limit it stops it."""
    def run(limit: str) -> subprocess.CompletedProcess:
        env = {**__import__("os").environ, "ZTL_NOTEBOOK_LIMIT": limit, "ZTL_THREADS": "1"}
        return subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:xdist", "--nbval-lax",
             str(make_defects.GOOD)], cwd=ROOT, env=env, capture_output=True, text=True)
    ok = run("360")
    assert ok.returncode == 0, ok.stdout[-2000:]
    limited = run("0.01")
    assert limited.returncode == 1 and "over the per-notebook limit" in limited.stdout


def test_title_with_a_repeated_number_is_flagged(tmp_path):
    nb = nbformat.read(make_defects.GOOD, as_version=4)
    title = nb.cells[0].source.splitlines()[0]
    number = title.split()[1]
    nb.cells[0].source = nb.cells[0].source.replace(title, f"# {number} {number} Twice", 1)
    path = tmp_path / make_defects.GOOD.relative_to(ROOT)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    rules = {v.rule for v in nbc.check_notebook(path, repo_root=ROOT)}
    assert "title" in rules


def test_control_character_in_markdown_is_flagged(tmp_path):
    nb = nbformat.read(make_defects.GOOD, as_version=4)
    md = next(c for c in nb.cells[1:] if c.cell_type == "markdown")
    md.source += "\n\nabout $\\ln 45 \approx 3.8$"  # "\a" became BEL in a non-raw string
    path = tmp_path / make_defects.GOOD.relative_to(ROOT)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    assert "math" in {v.rule for v in nbc.check_notebook(path, repo_root=ROOT)}


def test_execute_refuses_a_notebook_without_a_parameters_cell(tmp_path):
    nb = nbformat.read(make_defects.GOOD, as_version=4)
    for cell in nb.cells:
        cell.metadata["tags"] = [t for t in cell.metadata.get("tags", []) if t != "parameters"]
    path = tmp_path / "untagged.ipynb"
    nbformat.write(nb, path)
    with pytest.raises(ValueError, match="no code cell tagged 'parameters'"):
        nbc.execute(path)
