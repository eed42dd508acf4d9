"""tests/nbcode.py pulls definitions out of notebooks without running their other code."""
import nbformat
import pytest

from tests.nbcode import definitions


def _write(tmp_path, sources):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, path)
    return path


def test_definitions_runs_imports_defs_and_constants_only(tmp_path):
    path = _write(tmp_path, [
        "import math\nimport keras\nfrom tensorflow import nn\n%matplotlib inline\nSCALE, UNUSED = 3, 4\nL = cfg.size\nN = len(x)\n"
        "raise RuntimeError('training code')",
        "def area(r):\n    return SCALE * math.pi * r * r\nprint('not run')",
        "class Box:\n    def size(self):\n        return area(1)",
    ])
    found = definitions(path, ["area", "Box"])
    assert found["area"](2) == pytest.approx(12 * 3.141592653589793)
    assert found["Box"]().size() == pytest.approx(3 * 3.141592653589793)


def test_later_definition_wins_and_missing_names_are_named(tmp_path):
    path = _write(tmp_path, ["def f():\n    return 1", "def f():\n    return 2"])
    assert definitions(path, ["f"])["f"]() == 2
    with pytest.raises(ValueError, match="defines no top-level \\['g'\\]"):
        definitions(path, ["g"])
    with pytest.raises(ValueError, match="no notebook"):
        definitions(tmp_path / "absent.ipynb", ["f"])
