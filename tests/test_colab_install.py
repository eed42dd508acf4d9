"""Installing the course on Colab must never replace what Colab ships (colab-versions.txt).

The test builds a stand-in for Colab's runtime: a fresh virtual environment in which each
package of colab-versions.txt is *recorded as installed* at Colab's version (metadata only, no
code), then asks pip for a dry-run install of the course package with all its runtime extras.
pip replaces an installed package only when a requirement excludes its version, so the planned
install list must contain none of Colab's packages."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
EXTRAS = "torch,tf,classic"


def colab_versions() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "colab-versions.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, version = line.split("==")
            pins[canonicalize_name(name)] = version
    return pins


def test_colab_versions_satisfy_every_lower_bound():
    """Fast, static form of the same promise, read from pyproject.toml."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"])
    for extra in EXTRAS.split(","):
        reqs += project["optional-dependencies"][extra]
    pins = colab_versions()
    for req in map(Requirement, reqs):
        name = canonicalize_name(req.name)
        if name in pins:
            assert req.specifier.contains(Version(pins[name]), prereleases=True), (
                f"{req} excludes Colab's {name}=={pins[name]}: lower the bound")


def _fake_installed(site: Path, name: str, version: str) -> None:
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    (info / "INSTALLER").write_text("colab-stand-in\n")
    (info / "RECORD").write_text("")


@pytest.mark.slow
def test_pip_would_replace_nothing_colab_ships(tmp_path):
    venv = tmp_path / "colab"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    py = venv / "bin" / "python"
    purelib = subprocess.run([str(py), "-c", "import sysconfig;print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    pins = colab_versions()
    for name, version in pins.items():
        _fake_installed(Path(purelib), name, version)
    report = tmp_path / "report.json"
    result = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(py), "install", "--dry-run", "--quiet",
         "--disable-pip-version-check", "--report", str(report), f"{ROOT}[{EXTRAS}]"],
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    planned = {canonicalize_name(item["metadata"]["name"]): item["metadata"]["version"]
               for item in json.loads(report.read_text())["install"]}
    replaced = {n: (pins[n], v) for n, v in planned.items() if n in pins}
    assert not replaced, f"pip would replace Colab's packages (colab -> new): {replaced}"
    assert "zero-to-large" in planned
