"""Unit tests of the utils core: setup, profile, claim, run directories, plot, bench."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest
import torch

import utils
from utils import bench, config


@pytest.fixture(autouse=True)
def _reset_profile(monkeypatch):
    monkeypatch.setattr(config, "_current", None)
    monkeypatch.delenv("ZTL_PROFILE", raising=False)


def test_marker_tells_course_package_apart():
    assert utils.IS_ZERO_TO_LARGE is True


def test_setup_never_imports_tensorflow():
    code = "import sys, utils; utils.setup(0, verbose=False); print('tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_setup_seeds_numpy_and_torch():
    utils.setup(3, verbose=False)
    a = (np.random.rand(), torch.rand(1).item())
    utils.setup(3, verbose=False)
    b = (np.random.rand(), torch.rand(1).item())
    assert a == b


def test_setup_threads_env_overrides(monkeypatch):
    before = torch.get_num_threads()
    monkeypatch.setenv("ZTL_THREADS", "1")
    try:
        utils.setup(0, threads=2, verbose=False)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize("bad", [-1, 1.5, "0", True])
def test_setup_rejects_bad_seed(bad):
    with pytest.raises(ValueError, match="seed"):
        utils.setup(bad, verbose=False)


def test_setup_rejects_bad_threads_env(monkeypatch):
    monkeypatch.setenv("ZTL_THREADS", "two")
    with pytest.raises(ValueError, match="ZTL_THREADS"):
        utils.setup(0, verbose=False)


def test_setup_prints_one_line(capsys):
    utils.setup(0)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1 and "torch" in lines[0] and "device cpu" in lines[0]


SIZES = dict(cpu=dict(n=100, epochs=3), smoke=dict(n=10, epochs=1), gpu=dict(n=1000, epochs=9))


@pytest.mark.parametrize("name,expected", [("auto", 100), ("cpu", 100), ("smoke", 10),
                                           ("GPU", 1000)])
def test_profile_resolves(name, expected):
    cfg = utils.profile(name, **SIZES, verbose=False)
    assert cfg.n == expected and cfg["n"] == expected
    assert utils.current_profile() == ("cpu" if name == "auto" else name.lower())


def test_profile_overrides_skip_none():
    cfg = utils.profile("cpu", **SIZES, overrides=dict(n=None, epochs=7), verbose=False)
    assert (cfg.n, cfg.epochs) == (100, 7)


def test_profile_errors_name_the_problem():
    with pytest.raises(ValueError, match="unknown PROFILE 'fast'"):
        utils.profile("fast", **SIZES)
    with pytest.raises(ValueError, match=r"missing \['epochs'\]"):
        utils.profile("cpu", cpu=dict(n=1, epochs=1), smoke=dict(n=1))
    with pytest.raises(ValueError, match="override 'lr'"):
        utils.profile("cpu", **SIZES, overrides=dict(lr=0.1))
    with pytest.raises(AttributeError, match="no key 'lr'"):
        utils.profile("cpu", **SIZES, verbose=False).lr


def test_profile_from_env_before_call(monkeypatch):
    monkeypatch.setenv("ZTL_PROFILE", "smoke")
    assert utils.current_profile() == "smoke"


def test_claim_asserts_in_cpu(tmp_path, monkeypatch):
    record = tmp_path / "claims.jsonl"
    monkeypatch.setenv("ZTL_CLAIMS_FILE", str(record))
    utils.profile("cpu", **SIZES, verbose=False)
    assert utils.claim("accuracy", np.float64(0.9), ">=", 0.8) is None
    with pytest.raises(AssertionError, match="claim 'loss' failed"):
        utils.claim("loss", torch.tensor(2.0), "<", 1.0)
    lines = [json.loads(x) for x in record.read_text().splitlines()]
    assert [x["holds"] for x in lines] == [True, False]


def test_claim_only_checks_finiteness_in_smoke():
    utils.profile("smoke", **SIZES, verbose=False)
    utils.claim("loss", 5.0, "<", 1.0)  # not asserted in smoke
    with pytest.raises(AssertionError, match="not finite"):
        utils.claim("loss", math.nan, "<", 1.0)
    with pytest.raises(TypeError, match="real number"):
        utils.claim("loss", "low", "<", 1.0)


def test_claim_rejects_unknown_op():
    with pytest.raises(ValueError, match="op must be one of"):
        utils.claim("x", 1.0, "~", 1.0)


def test_run_dir_under_env(tmp_path, monkeypatch):
    monkeypatch.setenv("ZTL_RUNS", str(tmp_path))
    path = utils.run_dir("1.1-linear-algebra")
    assert path.is_dir() and path.parent == tmp_path
    with pytest.raises(ValueError, match="slug"):
        utils.run_dir("../escape")


def test_cache_root_env(tmp_path, monkeypatch):
    monkeypatch.setenv("ZTL_CACHE", str(tmp_path / "c"))
    assert utils.cache_root() == tmp_path / "c" and (tmp_path / "c").is_dir()


def test_plot_saves_png_only(tmp_path):
    fig, ax = utils.plot.subplots()
    ax.plot([0, 1], [1, 0])
    assert utils.plot.save(fig, tmp_path / "a.png").stat().st_size > 0
    with pytest.raises(ValueError, match="PNG"):
        utils.plot.save(fig, tmp_path / "a.svg")


def test_progress_rejects_fast_refresh():
    with pytest.raises(ValueError, match="mininterval"):
        utils.progress(range(3), mininterval=0.1)
    assert sum(utils.progress(range(4), disable=True)) == 6


def test_bench_timeit_and_throughput():
    t = bench.timeit(lambda: sum(range(1000)), repeat=3)
    assert t.repeat == 3 and 0 < t.best <= t.median
    assert bench.throughput(10, 2.0) == 5.0
    with pytest.raises(ValueError, match="seconds"):
        bench.throughput(1, 0)
    with pytest.raises(TypeError, match="callable"):
        bench.timeit(3)


def test_bench_mfu_against_measured_peak():
    peak = bench.matmul_peak(256, repeat=3)
    assert peak > 1e6
    assert bench.matmul_flops(2, 3, 4) == 48
    assert bench.mfu(peak * 0.5, 1.0, peak) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="peak_flops"):
        bench.mfu(1, 1, 0)


