"""utils.results: records are complete, labelled, and every committed file is valid."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from utils import results

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("path", sorted((ROOT / "results").rglob("*.json")),
                         ids=lambda p: p.relative_to(ROOT).as_posix())
def test_committed_results_parse_and_name_a_script(path):
    results.validate(json.loads(path.read_text()), repo_root=ROOT)


def test_write_load_label_roundtrip(tmp_path, capsys):
    path = results.write("14_distributed", "ddp_scaling", {"speedup_2_gpus": 1.9},
                         script="tests/test_results.py", root=tmp_path)
    record = results.load("14_distributed", "ddp_scaling", root=tmp_path)
    assert path.exists() and record["numbers"] == {"speedup_2_gpus": 1.9}
    assert results.label(record).startswith("recorded on ")
    results.show(record)
    assert "speedup_2_gpus" in capsys.readouterr().out


def test_validate_names_the_problem(tmp_path):
    with pytest.raises(ValueError, match="lacks"):
        results.validate({"numbers": {"x": 1}})
    record = json.loads(results.write("c", "n", {"x": 1}, script="nope.py", root=tmp_path)
                        .read_text())
    with pytest.raises(ValueError, match="does not exist"):
        results.validate(record, repo_root=ROOT)
    with pytest.raises(FileNotFoundError, match="no results file"):
        results.load("c", "other", root=tmp_path)
