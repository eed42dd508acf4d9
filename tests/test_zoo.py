"""utils.zoo: deterministic, cached, keyed by config, safe under two concurrent processes."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from utils import zoo

TINY = dict(hidden=8, epochs=1)


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ZTL_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv(zoo.LOG_ENV, str(tmp_path / "trained.log"))
    return tmp_path


def _log(tmp_path) -> list[str]:
    path = tmp_path / "trained.log"
    return path.read_text().splitlines() if path.exists() else []


def test_trains_once_then_loads_the_same_weights(tmp_path):
    first = zoo.load("digits-mlp", **TINY)
    second = zoo.load("digits-mlp", **TINY)
    assert len(_log(tmp_path)) == 1 and not second.training
    for a, b in zip(first.state_dict().values(), second.state_dict().values()):
        torch.testing.assert_close(a, b)


def test_training_is_deterministic_and_keyed_by_config(tmp_path, monkeypatch):
    a = zoo.load("digits-mlp", **TINY)
    monkeypatch.setenv("ZTL_CACHE", str(tmp_path / "other-cache"))
    b = zoo.load("digits-mlp", **TINY)  # trained again from scratch: same weights
    torch.testing.assert_close(a[0].weight, b[0].weight)
    zoo.load("digits-mlp", hidden=8, epochs=2)
    assert len(_log(tmp_path)) == 3
    assert zoo.key("digits-mlp", {"a": 1}) != zoo.key("digits-mlp", {"a": 2})


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match="unknown zoo model"):
        zoo.load("resnet")
    with pytest.raises(ValueError, match="unknown config keys"):
        zoo.load("digits-mlp", width=3)


@pytest.mark.slow
def test_two_processes_at_once_train_once(tmp_path):
    code = "from utils import zoo; m = zoo.load('digits-mlp', hidden=8, epochs=3); print(m[0].weight.sum().item())"
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [p.communicate(timeout=120)[0].strip() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert outs[0] == outs[1] and len(_log(tmp_path)) == 1
