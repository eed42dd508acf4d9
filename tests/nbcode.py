"""Pull top-level definitions out of a notebook so a test can compare a notebook's from-scratch
version with the ``utils`` version later chapters import (COURSE_DESIGN.md, "The utils package").

``definitions(nb, ["MultiHeadAttention"])`` finds the code cells whose top level defines each
name (``class Name`` or ``def name``), runs those cells' imports, and then the definitions
themselves, in a fresh namespace: only ``import``/``from`` statements, ``def`` and ``class``
blocks and assignments of literal constants to ALL_CAPS names (two letters or more) are run, never training or plotting code.
"""
from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import nbformat
from IPython.core.inputtransformer2 import TransformerManager

ROOT = Path(__file__).resolve().parents[1]


def _cells(path: Path) -> list[str]:
    nb = nbformat.read(path, as_version=4)
    return [c.source for c in nb.cells if c.cell_type == "code"]


def _constant_names(target: ast.expr) -> bool:
    if isinstance(target, ast.Name):
        return target.id.isupper() and len(target.id) > 1
    if isinstance(target, ast.Tuple):
        return all(_constant_names(t) for t in target.elts)
    return False


def _keep(node: ast.stmt) -> bool:
    if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef)):
        return True
    if isinstance(node, ast.Assign) and all(_constant_names(t) for t in node.targets):
        try:  # constants only: literals, never values computed from the notebook's state
            ast.literal_eval(node.value)
        except ValueError:
            return False
        return True
    return False


SKIP_IMPORTS = ("tensorflow", "keras")  # seconds to import; PyTorch definitions never need them


def _imports_skipped(node: ast.stmt, skip: tuple[str, ...]) -> bool:
    if isinstance(node, ast.Import):
        return all(a.name.split(".")[0] in skip for a in node.names)
    if isinstance(node, ast.ImportFrom):
        return (node.module or "").split(".")[0] in skip
    return False


_TRANSFORM = TransformerManager()


def definitions(notebook: str | Path, names: list[str], *,
                skip_imports: tuple[str, ...] = SKIP_IMPORTS) -> dict[str, Any]:
    """Return ``{name: object}`` for each name defined at top level in ``notebook``'s code cells
    (later definitions win, as in the notebook); cells' magics and imports of ``skip_imports``
    are skipped."""
    path = Path(notebook)
    if not path.is_absolute():
        path = ROOT / path
    if not path.exists():
        raise ValueError(f"no notebook at {path}: pass a path relative to the repository root")
    statements: list[ast.stmt] = []
    for source in _cells(path):
        # IPython turns magics and shell escapes into get_ipython() calls (which _keep drops);
        # a continuation line that merely starts with % (a modulo) stays Python.
        try:
            tree = ast.parse(_TRANSFORM.transform_cell(source))
        except SyntaxError:
            continue
        statements.extend(node for node in tree.body
                          if _keep(node) and not _imports_skipped(node, skip_imports))
    namespace: dict[str, Any] = {"__name__": f"notebook:{path.stem}"}
    module = ast.Module(body=statements, type_ignores=[])
    exec(compile(module, f"<definitions from {path.name}>", "exec"), namespace)  # noqa: S102 - our own notebooks
    missing = [n for n in names if n not in namespace]
    if missing:
        raise ValueError(f"{path.name} defines no top-level {missing}; "
                         f"defined: {sorted(k for k in namespace if not k.startswith('_'))[:20]}")
    return {n: namespace[n] for n in names}
