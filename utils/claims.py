"""``claim``: every number the prose states is checked where it is computed."""

from __future__ import annotations

import json
import math
import numbers
import operator
import os
from typing import Any

from utils.config import current_profile

_OPS = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
}
_made: list[dict[str, Any]] = []


def _as_number(name: str, value: Any) -> float:
    if hasattr(value, "item") and callable(value.item):  # numpy / torch scalars
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"claim {name!r}: value must be a real number, got {value!r}")
    return float(value)


def claim(name: str, value: Any, op: str, threshold: Any) -> None:
    """Assert ``value op threshold`` in cpu/gpu; in smoke only check it is a finite number.
    Returns None, so a claim on a cell's last line prints only its one line."""
    if not isinstance(name, str) or not name:
        raise TypeError(f"claim name must be a non-empty string, got {name!r}")
    if op not in _OPS:
        raise ValueError(f"claim {name!r}: op must be one of {list(_OPS)}, got {op!r}")
    number = _as_number(name, value)
    limit = _as_number(name, threshold)
    prof = current_profile()
    if not math.isfinite(number):
        raise AssertionError(f"claim {name!r}: value is not finite ({number})")
    holds = bool(_OPS[op](number, limit))
    record = {"name": name, "value": number, "op": op, "threshold": limit,
              "profile": prof, "holds": holds}
    _made.append(record)
    if path := os.environ.get("ZTL_CLAIMS_FILE"):
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")
    if prof == "smoke":
        print(f"claim (smoke: not asserted) {name}: {number:.6g} {op} {limit:.6g}")
        return
    if not holds:
        raise AssertionError(f"claim {name!r} failed: {number:.6g} {op} {limit:.6g} is false")
    print(f"claim holds ({prof}) {name}: {number:.6g} {op} {limit:.6g}")


def claims_made() -> list[dict[str, Any]]:
    """The claims checked so far in this process, in order."""
    return list(_made)
