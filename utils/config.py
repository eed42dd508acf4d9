"""Profiles: one place that turns ``PROFILE`` into the sizes a notebook runs with."""

from __future__ import annotations

import os
from typing import Any

PROFILES = ("cpu", "smoke", "gpu")
_current: str | None = None


class Config(dict):
    """A dict of resolved sizes that also reads as attributes (``cfg.epochs``)."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(
                f"config has no key {name!r}; it has {sorted(self)}"
            ) from None

    def __repr__(self) -> str:
        items = ", ".join(f"{k}={v!r}" for k, v in self.items())
        return f"Config({items})"


def current_profile() -> str:
    """The profile resolved by the last ``profile()`` call (``ZTL_PROFILE`` or "cpu" before it)."""
    if _current is not None:
        return _current
    return _resolve(os.environ.get("ZTL_PROFILE", "auto"))


def _resolve(name: str) -> str:
    if not isinstance(name, str):
        raise TypeError(f"PROFILE must be a string such as 'auto', got {name!r}")
    name = name.strip().lower()
    if name == "auto":
        return "cpu"
    if name not in PROFILES:
        raise ValueError(
            f"unknown PROFILE {name!r}; use one of 'auto', {', '.join(map(repr, PROFILES))}"
        )
    return name


def profile(
    name: str,
    *,
    cpu: dict[str, Any],
    smoke: dict[str, Any],
    gpu: dict[str, Any] | None = None,
    overrides: dict[str, Any] | None = None,
    verbose: bool = True,
) -> Config:
    """Pick the sizes for profile ``name`` ("auto" means the cpu sizes), apply non-None overrides."""
    global _current
    resolved = _resolve(name)
    tables = {"cpu": cpu, "smoke": smoke, "gpu": gpu if gpu is not None else cpu}
    for key, table in tables.items():
        if not isinstance(table, dict):
            raise TypeError(f"profile {key}= must be a dict of sizes, got {type(table).__name__}")
    for key in ("smoke", "gpu"):
        if set(tables[key]) != set(cpu):
            missing = sorted(set(cpu) - set(tables[key]))
            extra = sorted(set(tables[key]) - set(cpu))
            raise ValueError(
                f"profile {key}= must name the same keys as cpu=; missing {missing}, extra {extra}"
            )
    cfg = Config(tables[resolved])
    for key, value in (overrides or {}).items():
        if key not in cfg:
            raise ValueError(f"override {key!r} is not a config key; keys are {sorted(cfg)}")
        if value is not None:
            cfg[key] = value
    _current = resolved
    if verbose:
        print(f"profile={resolved} " + " ".join(f"{k}={v}" for k, v in cfg.items()))
    return cfg
