"""Papermill runs every book notebook with ``PROFILE="smoke"`` (run by ``make test``, not by a
plain ``pytest tests``): the code path of each notebook works end to end in seconds."""

from __future__ import annotations

import os
from pathlib import Path

import papermill
import pytest

from utils import notebooks as nbc

ROOT = Path(__file__).resolve().parent.parent
BOOK = nbc.find_notebooks(ROOT)


@pytest.mark.parametrize("path", BOOK, ids=[p.relative_to(ROOT).as_posix() for p in BOOK])
def test_notebook_runs_in_smoke(path, tmp_path, monkeypatch):
    monkeypatch.setenv("ZTL_THREADS", os.environ.get("ZTL_THREADS", "1"))
    papermill.execute_notebook(
        str(path), str(tmp_path / path.name), parameters={"PROFILE": "smoke"},
        kernel_name="python3", cwd=str(path.parent), progress_bar=False,
        execution_timeout=int(nbc.BUDGET["smoke"] * 8),
    )
