"""Results of runs too long for CI (GPU runs, long benchmarks, sweeps): written by scripts as
``results/<chapter>/<name>.json`` with the command, commit, hardware, versions and date, and
shown in notebooks labelled with where and when they were recorded."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

REQUIRED = ("command", "script", "commit", "hardware", "versions", "date", "numbers")
RESULTS = Path(__file__).resolve().parent.parent / "results"


def hardware() -> dict[str, Any]:
    """What the run ran on: CPU, cores, memory and GPUs (if torch sees any)."""
    info: dict[str, Any] = {"machine": platform.machine(), "processor": platform.processor(),
                            "cores": os.cpu_count(), "system": platform.system()}
    try:
        import torch

        if torch.cuda.is_available():
            info["gpus"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    except ImportError:
        pass
    return info


def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                              check=True, cwd=RESULTS.parent).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def validate(record: dict[str, Any], *, repo_root: Path | None = None) -> None:
    """Raise ``ValueError`` naming what is missing or wrong in a results record."""
    missing = [k for k in REQUIRED if k not in record]
    if missing:
        raise ValueError(f"results record lacks {missing}; write it with utils.results.write")
    if not isinstance(record["numbers"], dict) or not record["numbers"]:
        raise ValueError("results 'numbers' must be a non-empty dict of measured values")
    if repo_root is not None and not (repo_root / record["script"]).is_file():
        raise ValueError(f"results name script {record['script']!r}, which does not exist")


def write(chapter: str, name: str, numbers: dict[str, Any], *, script: str,
          root: Path = RESULTS) -> Path:
    """Write ``results/<chapter>/<name>.json`` for a finished run, atomically."""
    record = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "script": script, "commit": _commit(), "hardware": hardware(),
        "versions": {d: _version(d) for d in ("torch", "numpy")},
        "python": platform.python_version(), "date": time.strftime("%Y-%m-%d"),
        "numbers": numbers,
    }
    validate(record)
    path = root / chapter / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "absent"


def load(chapter: str, name: str, *, root: Path = RESULTS) -> dict[str, Any]:
    """A results record, validated."""
    path = root / chapter / f"{name}.json"
    if not path.exists():
        have = sorted(p.stem for p in (root / chapter).glob("*.json")) if (root / chapter).is_dir() else []
        raise FileNotFoundError(f"no results file {path.name} in results/{chapter}; have {have}")
    record = json.loads(path.read_text(encoding="utf-8"))
    validate(record)
    return record


def label(record: dict[str, Any]) -> str:
    """'recorded on <hardware> on <date> at commit <short>' for a notebook caption."""
    hw = record["hardware"]
    where = ", ".join(hw.get("gpus", [])) or f"{hw.get('cores', '?')} CPU cores"
    return f"recorded on {where} on {record['date']} at commit {record['commit'][:8]}"


def show(record: dict[str, Any]) -> None:
    """Print a record's numbers under its 'recorded on …' label."""
    print(label(record))
    width = max(len(k) for k in record["numbers"])
    for key, value in record["numbers"].items():
        print(f"  {key:<{width}}  {value}")
