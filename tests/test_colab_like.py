"""A Colab-like install: the course package built as a wheel and installed (``--no-deps``) into
a fresh virtual environment that reuses .venv's libraries (as Colab brings its own), then the
chapter-1 notebook that uses the most of ``utils`` (data, TensorFlow) run from a folder outside
the repository, where no ``utils`` folder is next to it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "chapters" / "01_math" / "04_pytorch_keras.ipynb"


def _run(*cmd, **kw):
    return subprocess.run([str(c) for c in cmd], check=True, capture_output=True, text=True, **kw)


@pytest.mark.slow
def test_installed_package_runs_a_notebook_outside_the_repo(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "utils", src / "utils", ignore=shutil.ignore_patterns("__pycache__"))
    _run(sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", tmp_path / "dist",
         src)
    wheel = next((tmp_path / "dist").glob("zero_to_large-*.whl"))

    venv = tmp_path / "colab"
    _run(sys.executable, "-m", "venv", "--without-pip", venv)
    py = venv / "bin" / "python"
    purelib = Path(_run(py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])")
                   .stdout.strip())
    # reuse the libraries of .venv (plain path: its editable `utils` finder is not activated)
    (purelib / "reuse_course_venv.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run(sys.executable, "-m", "pip", "--python", py, "install", "--no-deps", "--quiet",
         "--disable-pip-version-check", wheel)
    where = _run(py, "-c", "import utils; print(utils.__file__)", cwd=tmp_path).stdout.strip()
    assert Path(where).is_relative_to(venv), f"utils imported from {where}, not the wheel"
    assert (Path(where).parent / "manifests" / "stdlib-3.11.tsv").exists()

    outside = tmp_path / "reader"
    outside.mkdir()
    shutil.copy(NOTEBOOK, outside / NOTEBOOK.name)
    env = {**os.environ, "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
           "ZTL_THREADS": "1", "ZTL_CACHE": str(tmp_path / "cache")}
    _run(py, "-m", "papermill", outside / NOTEBOOK.name, outside / "out.ipynb", "-p", "PROFILE",
         "smoke", "-k", "python3", "--cwd", outside, "--no-progress-bar", env=env, cwd=outside,
         timeout=600)
    done = nbformat.read(outside / "out.ipynb", as_version=4)
    printed = "".join(o.get("text", "") for c in done.cells if c.cell_type == "code"
                      for o in c.get("outputs", []))
    assert "setup: python" in printed and "profile=smoke" in printed
    assert "tensorflow" in printed, "the notebook should import TensorFlow (setup seeds it)"
