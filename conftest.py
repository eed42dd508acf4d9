"""pytest hooks for the notebook runs in ``make test`` (nbval as stored, papermill smoke).

* nbval waits a fixed 5 s for a cell's output messages after the reply (``output_timeout``);
  under load on 2 cores that flakes, so every nbval cell gets 60 s instead.
* ``ZTL_ALONE=skip`` deselects notebooks marked ``"ztl": {"run_alone": true}`` in their metadata
  (speed measurements); ``ZTL_ALONE=only`` selects only those, for a run after the parallel phase.
* A whole notebook under nbval gets ``NOTEBOOK_LIMIT`` seconds (cells also have nbval's own
  per-cell timeout): once a notebook has used it up, its remaining cells fail at once.
* Per-notebook durations and the machine's load are written to
  ``_build/reports/notebook_times-<phase>.json`` for the times table.
"""

from __future__ import annotations

import json
import os
import time
from collections import defaultdict
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent
NBVAL_OUTPUT_TIMEOUT = 60
NOTEBOOK_LIMIT = float(os.environ.get("ZTL_NOTEBOOK_LIMIT", 4 * 90))
_times: dict[str, float] = defaultdict(float)
_spent: dict[str, float] = defaultdict(float)  # per worker process, for NOTEBOOK_LIMIT


def _run_alone(path: Path) -> bool:
    try:
        meta = nbformat.read(path, as_version=4).metadata
    except Exception:
        return False
    return bool(meta.get("ztl", {}).get("run_alone"))


def notebook_of(item) -> Path | None:
    """The notebook an item runs: the nbval file, or a smoke test's ``path`` parameter."""
    if item.path.suffix == ".ipynb":
        return Path(item.path)
    param = getattr(item, "callspec", None)
    value = param.params.get("path") if param else None
    return Path(value) if value is not None and str(value).endswith(".ipynb") else None


def pytest_collection_modifyitems(config, items):
    for item in items:
        if hasattr(item, "output_timeout"):  # nbval cell
            item.output_timeout = NBVAL_OUTPUT_TIMEOUT
    mode = os.environ.get("ZTL_ALONE", "")
    if mode not in ("", "skip", "only"):
        raise ValueError(f"ZTL_ALONE={mode!r}: use 'skip', 'only' or leave it unset")
    if not mode:
        return
    keep, drop = [], []
    cache: dict[Path, bool] = {}
    for item in items:
        nb = notebook_of(item)
        alone = nb is not None and cache.setdefault(nb, _run_alone(nb))
        (keep if alone == (mode == "only") else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    if item.path.suffix != ".ipynb":
        yield
        return
    key = str(item.path)
    if _spent[key] > NOTEBOOK_LIMIT:
        pytest.fail(f"{item.path.name} has run {_spent[key]:.0f} s, over the per-notebook limit "
                    f"of {NOTEBOOK_LIMIT:.0f} s: shrink its cpu profile", pytrace=False)
    start = time.perf_counter()
    yield
    _spent[key] += time.perf_counter() - start


def pytest_runtest_logreport(report):
    path = report.nodeid.split("::")[0]
    if path.endswith(".ipynb") or "notebook_smoke" in path:
        key = path if path.endswith(".ipynb") else report.nodeid.split("[", 1)[-1].rstrip("]")
        _times[key] += report.duration


def pytest_sessionfinish(session, exitstatus):
    phase = os.environ.get("ZTL_PHASE")
    if not phase or hasattr(session.config, "workerinput") or not _times:
        return
    out = ROOT / "_build" / "reports" / f"notebook_times-{phase}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    data = {"phase": phase, "loadavg": os.getloadavg(), "cores": os.cpu_count(),
            "date": time.strftime("%Y-%m-%d %H:%M:%S"), "seconds": dict(sorted(_times.items()))}
    out.write_text(json.dumps(data, indent=1))
