"""The notebook contract (COURSE_DESIGN.md): static checks, execution with freshness hashes,
and the time ledger. ``python -m utils.notebooks --help`` lists the commands."""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import os
import re
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import nbformat

REPO_URL = "https://github.com/zero-to-large/zero-to-large"
COLAB_PREFIX = "https://colab.research.google.com/github/zero-to-large/zero-to-large/blob/main/"
MAX_BYTES = 1_000_000
MAX_TEXT_OUTPUT = 20_000
MAX_PNG_BYTES = 250_000
ALLOWED_TAGS = {
    "parameters", "solution", "nbval-check-output", "nbval-skip", "nbval-ignore-output",
    "hide-input", "hide-output", "remove-input", "remove-output", "remove-cell",
    "raises-exception",
}
RUN_INFO_START, RUN_INFO_END = "<!-- run-info -->", "<!-- /run-info -->"
# Budgets in seconds; allotments per chapter group in minutes (COURSE_DESIGN.md, CI item 4).
BUDGET = {"cpu": 90.0, "smoke": 15.0}
BOOK_BUDGET = {"cpu": 45 * 60.0, "smoke": 10 * 60.0}
ALLOTMENTS = [((1, 1), 4), ((2, 4), 5), ((5, 9), 10), ((10, 13), 7), ((14, 14), 6),
              ((15, 16), 4), ((17, 18), 3), ((19, 22), 4), ((23, 25), 2)]
ABS_PATH = re.compile(r"(?<![\w.])(/home/|/root/|/Users/|/work/|/tmp/|/opt/|/usr/|[A-Za-z]:\\\\)")
TITLE = re.compile(r"^# (\d+)\.(\d+) \S.*$")
NB_PATH = re.compile(r"(?:^|/)chapters/(\d\d)_[a-z0-9_]+/(\d\d)_[a-z0-9_]+\.ipynb$")

RULES = {
    "format": "valid nbformat 4 JSON with the python3 kernel",
    "title": "the opening markdown cell starts '# N.M Title' matching chapters/NN_*/MM_*.ipynb",
    "one-h1": "exactly one H1 in the notebook (the title)",
    "heading-levels": "no skipped heading levels (## then ####)",
    "badge": "an 'Open in Colab' badge pointing at this notebook in the repository",
    "objectives": "'You will be able to' with 3 to 5 bullet points in the opening cell",
    "prerequisites": "a 'Prerequisites' line in the opening cell",
    "run-info": "the generated run-info line in the opening cell matches the recorded run",
    "math": "display math ($$ … $$) stands in a paragraph of its own, blank lines around it; "
            "no control characters in markdown",
    "setup": "the second cell is code that calls utils.setup(seed=...)",
    "parameters": "the third cell, tagged 'parameters', assigns literals only; PROFILE = 'auto'; "
                  "other parameters default to None",
    "profile": "the cell after the parameters calls utils.profile(PROFILE, ...)",
    "claim": "at least one utils.claim(...) outside solutions, shown holding in stored outputs",
    "fresh": "executed top to bottom; each code cell's source matches its recorded hash",
    "errors": "no stored error outputs",
    "size": "the file is at most 1 MB; no text output over 20 kB",
    "images": "images are PNG of modest size; no widget outputs",
    "abs-paths": "no absolute paths in sources or outputs",
    "tags": "only known cell tags; solution cells are hidden code cells",
    "closing": "'## Summary' then '## Exercises' with at least one code cell tagged 'solution'",
    "durations": "recorded cpu and smoke durations within budget (90 s / 15 s)",
    "toc": "listed in _toc.yml",
}


@dataclass(frozen=True)
class Violation:
    """One broken contract rule in one notebook."""

    rule: str
    message: str

    def __str__(self) -> str:
        return f"[{self.rule}] {self.message}"


def source_hash(source: str) -> str:
    """SHA-256 (first 16 hex digits) of a cell's source: the freshness fingerprint."""
    return hashlib.sha256(source.encode("utf-8")).hexdigest()[:16]


def _calls(source: str, name: str) -> list[ast.Call]:
    """Calls of ``utils.<name>(...)`` in ``source`` (empty when it does not parse)."""
    try:
        tree = ast.parse(_strip_magics(source))
    except SyntaxError:
        return []
    return [
        node for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
        and node.func.attr == name and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "utils"
    ]


def _strip_magics(source: str) -> str:
    return "\n".join(line[: len(line) - len(line.lstrip())] + "pass"
                     if line.lstrip().startswith(("%", "!")) else line
                     for line in source.splitlines())


def _headings(markdown: str) -> list[int]:
    levels, fenced = [], False
    for line in markdown.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced and (m := re.match(r"^(#{1,6}) \S", line)):
            levels.append(len(m.group(1)))
    return levels


def separate_display_math(markdown: str) -> str:
    """``markdown`` with a blank line before and after every ``$$`` display block; MyST pairs
    ``$`` signs wrongly when a display block touches a line of text."""
    lines, out, i = markdown.split("\n"), [], 0
    while i < len(lines):
        if not lines[i].strip().startswith("$$"):
            out.append(lines[i])
            i += 1
            continue
        end = i
        if "$$" not in lines[i].strip()[2:]:
            end = i + 1
            while end < len(lines) and "$$" not in lines[end]:
                end += 1
        if out and out[-1].strip():
            out.append("")
        out.extend(lines[i:end + 1])
        if end + 1 < len(lines) and lines[end + 1].strip():
            out.append("")
        i = end + 1
    return "\n".join(out)


def _tags(cell: Any) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def expected_number(path: Path) -> tuple[int, int] | None:
    """(chapter, notebook) from ``chapters/NN_slug/MM_slug.ipynb``; None elsewhere."""
    m = NB_PATH.search(path.as_posix())
    return (int(m.group(1)), int(m.group(2))) if m else None


def render_run_info(nb_meta: dict[str, Any]) -> str:
    """The generated 'last run' line from the notebook's recorded execution metadata."""
    ztl = nb_meta.get("ztl", {})
    dur, env = ztl.get("durations", {}), ztl.get("executed_with", {})
    if "cpu" not in dur:
        return "*Not executed yet: run `make execute NB=…`.*"
    versions = sorted(env.get("versions", {}).items(), key=lambda kv: (kv[0] != "python", kv[0]))
    libs = " · ".join(f"{k} {v}" for k, v in versions)
    return (f"*Last run: {dur['cpu']:.0f} s (`cpu` profile) and {dur.get('smoke', 0):.0f} s "
            f"(`smoke`) on {env.get('cores', '?')} CPU cores, {env.get('threads', '?')} thread(s) "
            f"· {libs} · {env.get('date', '?')}*")


def check_notebook(path: str | Path, *, toc: set[str] | None = None,
                   repo_root: Path | None = None) -> list[Violation]:
    """Every broken contract rule of the notebook at ``path`` (empty list: it conforms)."""
    path = Path(path)
    out: list[Violation] = []

    def bad(rule: str, message: str) -> None:
        out.append(Violation(rule, message))

    raw = path.read_bytes()
    if len(raw) > MAX_BYTES:
        bad("size", f"{len(raw) / 1e6:.2f} MB > 1 MB: shrink outputs or figures")
    try:
        nb = nbformat.reads(raw.decode("utf-8"), as_version=4)
        nbformat.validate(nb)
    except Exception as exc:  # any parse or schema error
        return [Violation("format", f"not a valid notebook: {exc}")]
    if nb.metadata.get("kernelspec", {}).get("name") != "python3":
        bad("format", "kernelspec name must be 'python3'")
    cells = nb.cells
    if len(cells) < 5:
        return out + [Violation("format", f"only {len(cells)} cells; the contract needs more")]

    # 1. opening cell
    opening = cells[0]
    first = opening.source.splitlines()[0] if opening.source else ""
    m = TITLE.match(first)
    if opening.cell_type != "markdown" or not m:
        bad("title", f"opening cell must start '# N.M Title', found {first[:60]!r}")
    elif (want := expected_number(path)) and (int(m.group(1)), int(m.group(2))) != want:
        bad("title", f"title numbers {m.group(1)}.{m.group(2)} do not match the path "
                     f"({want[0]}.{want[1]}): rename the file or fix the title")
    elif re.match(r"\s*\d+\.\d+\b", first[m.end(2):]):
        bad("title", f"the number is repeated in {first[:60]!r}: keep one '# N.M Title'")
    levels = [lvl for c in cells if c.cell_type == "markdown" for lvl in _headings(c.source)]
    if levels.count(1) != 1:
        bad("one-h1", f"{levels.count(1)} H1 headings; keep only the title as '# '")
    for i, c in enumerate(cells):
        if c.cell_type == "markdown" and separate_display_math(c.source) != c.source:
            bad("math", f"cell {i}: a $$ display block touches a line of text; put blank lines "
                        "around it")
        if c.cell_type == "markdown" and (ctrl := re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f]",
                                                             c.source)):
            bad("math", f"cell {i}: control character {ctrl.group()!r} in the text (a TeX "
                        f"backslash such as \\a or \\f eaten by a non-raw Python string?)")
    for prev, cur in zip(levels, levels[1:]):
        if cur > prev + 1:
            bad("heading-levels", f"heading level jumps from {prev} to {cur}")
            break
    rel = None
    if repo_root is not None:
        try:
            rel = path.resolve().relative_to(repo_root.resolve()).as_posix()
        except ValueError:
            rel = None
    badge = re.search(r"\(" + re.escape(COLAB_PREFIX) + r"([^)\s]+\.ipynb)\)", opening.source)
    if not badge or "colab-badge" not in opening.source:
        bad("badge", "opening cell needs [![Open In Colab](…colab-badge.svg)](" + COLAB_PREFIX
            + "<path>.ipynb)")
    elif rel is not None and badge.group(1) != rel:
        bad("badge", f"Colab badge points at {badge.group(1)!r}, not this notebook {rel!r}")
    objectives = re.search(r"You will be able to[^\n]*\n((?:\s*\n)*(?:[-*] .*\n?)+)",
                           opening.source)
    n_obj = len(re.findall(r"^[-*] ", objectives.group(1), re.M)) if objectives else 0
    if not 3 <= n_obj <= 5:
        bad("objectives", f"'You will be able to' needs 3-5 bullets, found {n_obj}")
    if "Prerequisites" not in opening.source:
        bad("prerequisites", "opening cell needs a 'Prerequisites' line with links")
    info = re.search(re.escape(RUN_INFO_START) + r"(.*?)" + re.escape(RUN_INFO_END),
                     opening.source, re.S)
    if not info:
        bad("run-info", f"opening cell needs {RUN_INFO_START}…{RUN_INFO_END} (make execute "
                        "writes it)")
    elif info.group(1).strip() != render_run_info(nb.metadata):
        bad("run-info", "run-info line differs from the recorded run: never type it, run "
                        "make execute")

    # 2-3. setup, parameters, profile
    setup, params, prof = cells[1], cells[2], cells[3]
    if setup.cell_type != "code" or not _calls(setup.source, "setup"):
        bad("setup", "second cell must be code calling utils.setup(seed=...)")
    tagged = [i for i, c in enumerate(cells) if "parameters" in _tags(c)]
    if tagged != [2] or params.cell_type != "code":
        bad("parameters", f"exactly the third cell must be tagged 'parameters' (tagged: {tagged})")
    else:
        out += _check_parameters(params.source)
    if prof.cell_type != "code" or not any(
        call.args and isinstance(call.args[0], ast.Name) and call.args[0].id == "PROFILE"
        for call in _calls(prof.source, "profile")
    ):
        bad("profile", "the cell after the parameters must call utils.profile(PROFILE, ...)")

    # 5. claims
    code = [c for c in cells if c.cell_type == "code"]
    active = [c for c in code if "solution" not in _tags(c) and _calls(c.source, "claim")]
    held = any(
        "claim holds (cpu)" in o.get("text", "")
        for c in active for o in c.get("outputs", []) if o.get("output_type") == "stream"
    )
    if not active:
        bad("claim", "no utils.claim(...) outside solution cells: assert the numbers the prose "
                     "states")
    elif not held:
        bad("claim", "no stored output shows a claim holding in the cpu profile: run make execute")

    # 6. freshness and errors
    for i, c in enumerate(code, start=1):
        recorded = c.metadata.get("ztl", {}).get("source_sha256")
        if c.execution_count != i:
            bad("fresh", f"code cell {i} has execution_count {c.execution_count}: execute top "
                         "to bottom with make execute")
            break
        if recorded != source_hash(c.source):
            bad("fresh", f"code cell {i} changed since it was executed (hash {recorded} != "
                         f"{source_hash(c.source)}): run make execute")
            break
    if any("injected-parameters" in _tags(c) for c in cells):
        bad("fresh", "stored notebook has papermill-injected parameters; execute without them")
    for i, c in enumerate(code, start=1):
        if any(o.get("output_type") == "error" for o in c.get("outputs", [])):
            bad("errors", f"code cell {i} stores an error output")

    # 7. sizes, images, paths
    for i, c in enumerate(cells):
        if ABS_PATH.search(c.source):
            bad("abs-paths", f"cell {i} source has an absolute path "
                             f"{ABS_PATH.search(c.source).group(0)!r}: use paths relative to the "
                             "notebook or utils.run_dir")
        for o in c.get("outputs", []):
            text = o.get("text", "") or json.dumps(o.get("data", {}).get("text/plain", ""))
            if len(text) > MAX_TEXT_OUTPUT:
                bad("size", f"cell {i} has a {len(text)}-character text output (max "
                            f"{MAX_TEXT_OUTPUT}): print less or raise the progress interval")
            if (hit := ABS_PATH.search(text)) is not None:
                bad("abs-paths", f"cell {i} output shows an absolute path {hit.group(0)!r}")
            data = o.get("data", {})
            if "application/vnd.jupyter.widget-view+json" in data:
                bad("images", f"cell {i} stores a widget; use text progress bars")
            for mime in ("image/svg+xml", "image/jpeg", "image/gif"):
                if mime in data:
                    bad("images", f"cell {i} stores {mime}; store figures as PNG (utils.plot)")
            if len(data.get("image/png", "")) * 3 // 4 > MAX_PNG_BYTES:
                bad("images", f"cell {i} has a PNG over {MAX_PNG_BYTES // 1000} kB: lower the "
                              "dpi or size")

    # tags
    for i, c in enumerate(cells):
        unknown = set(_tags(c)) - ALLOWED_TAGS
        if unknown:
            bad("tags", f"cell {i} has unknown tags {sorted(unknown)}; allowed: "
                        f"{sorted(ALLOWED_TAGS)}")
        if "solution" in _tags(c) and c.cell_type != "code":
            bad("tags", f"cell {i} is tagged 'solution' but is not a code cell")
        elif "solution" in _tags(c) and ("hide-input" not in _tags(c)
                                         or not c.metadata.get("jupyter", {}).get("source_hidden")):
            bad("tags", f"solution cell {i} must be hidden (tag hide-input, jupyter.source_hidden):"
                        " make execute adds both")

    # 8. closing
    md_heads = [(i, line) for i, c in enumerate(cells) if c.cell_type == "markdown"
                for line in c.source.splitlines() if line.startswith("## ")]
    summary = [i for i, line in md_heads if line.strip() == "## Summary"]
    exercises = [i for i, line in md_heads if line.strip() == "## Exercises"]
    solutions = [i for i, c in enumerate(cells) if "solution" in _tags(c)]
    if not summary or not exercises or summary[-1] > exercises[-1]:
        bad("closing", "close with '## Summary' and then '## Exercises'")
    elif not [i for i in solutions if i > exercises[-1]]:
        bad("closing", "exercises need at least one code cell tagged 'solution' after "
                       "'## Exercises'")

    # ledger entry
    dur = nb.metadata.get("ztl", {}).get("durations", {})
    for prof_name, limit in BUDGET.items():
        value = dur.get(prof_name)
        if not isinstance(value, (int, float)):
            bad("durations", f"no recorded {prof_name} duration: run make execute")
        elif value > limit:
            bad("durations", f"{prof_name} run took {value:.0f} s > budget {limit:.0f} s: shrink "
                             f"the {prof_name} sizes")

    if toc is not None and rel is not None and rel.removesuffix(".ipynb") not in toc:
        bad("toc", f"{rel} is not in _toc.yml (make new-notebook adds it)")
    return out


def _check_parameters(source: str) -> list[Violation]:
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        return [Violation("parameters", f"parameters cell does not parse: {exc}")]
    found: dict[str, Any] = {}
    for node in tree.body:
        ok = (isinstance(node, ast.Assign) and len(node.targets) == 1
              and isinstance(node.targets[0], ast.Name))
        if ok:
            try:
                found[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                ok = False
        if not ok:
            return [Violation("parameters", f"line {node.lineno} is not `NAME = literal`: the "
                                            "parameters cell holds literals only")]
    out = []
    if found.get("PROFILE") != "auto":
        out.append(Violation("parameters", "parameters cell must set PROFILE = \"auto\""))
    for name, value in found.items():
        if name != "PROFILE" and value is not None:
            out.append(Violation("parameters", f"override {name} must default to None, "
                                               f"got {value!r}"))
    return out


def toc_entries(repo_root: Path) -> set[str]:
    """Every ``file:`` entry of ``_toc.yml`` (paths without suffix)."""
    text = (repo_root / "_toc.yml").read_text(encoding="utf-8")
    return {m.group(1).strip() for m in re.finditer(r"file:\s*([^\s#]+)", text)}


def find_notebooks(repo_root: Path) -> list[Path]:
    """The book's notebooks: ``chapters/*/*.ipynb``, sorted."""
    return sorted(p for p in (repo_root / "chapters").glob("*/*.ipynb")
                  if ".ipynb_checkpoints" not in p.parts)


# ---------------------------------------------------------------- new notebooks

SETUP_SOURCE = """\
import sys
if "google.colab" in sys.modules:  # on Colab only: install the course package (loose bounds)
    import importlib.metadata as md, os
    before = {d: md.version(d) for d in ("torch", "numpy")}
    %pip install -q "zero-to-large @ git+REPO_URL"
    if any(md.version(d) != v for d, v in before.items()):
        os.kill(os.getpid(), 9)  # a loaded package was replaced: Colab restarts the runtime
import utils
if not getattr(utils, "IS_ZERO_TO_LARGE", False):
    raise ImportError(f"`import utils` found {utils.__file__}, not the course package: "
                      "rename your own utils.py or install the course (see the README)")
device = utils.setup(seed=0)""".replace("REPO_URL", REPO_URL)


def new_notebook(path: Path, chapter: int, number: int, title: str) -> nbformat.NotebookNode:
    """A conforming starting notebook for ``path`` (the author replaces the example body)."""
    if not title.strip():
        raise ValueError("title must not be empty, e.g. 'Linear algebra for deep learning'")
    if re.match(r"\s*\d+\.\d+\b", title):
        raise ValueError(f"title {title!r} starts with a number; pass the words only "
                         f"(the number {chapter}.{number} comes from the path)")
    rel = path.as_posix()
    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    opening = md(
        f"# {chapter}.{number} {title}\n\n"
        f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
        f"({COLAB_PREFIX}{rel})\n\n"
        "You will be able to:\n"
        "- estimate a mean by sampling\n- say how the error shrinks with the sample size\n"
        "- check a number the prose states with `utils.claim`\n\n"
        "**Prerequisites:** none.\n\n"
        f"{RUN_INFO_START}\n{RUN_INFO_END}"
    )
    params = code('PROFILE = "auto"  # "cpu", "smoke" or "gpu"\nN_SAMPLES = None  # override')
    params.metadata["tags"] = ["parameters"]
    solution = code("# Solution: with 100x the samples the error shrinks about 10x\n"
                    "big = rng.random(cfg.n_samples * 100)\n"
                    "utils.claim('error with 100x samples', abs(big.mean() - 0.5), '<', 0.01)")
    solution.metadata["tags"] = ["solution"]
    cells = [
        opening,
        code(SETUP_SOURCE),
        params,
        code("cfg = utils.profile(PROFILE,\n"
             "                    cpu=dict(n_samples=20_000), smoke=dict(n_samples=2_000),\n"
             "                    gpu=dict(n_samples=2_000_000), overrides=dict(n_samples=N_SAMPLES))"),
        md("## Sampling a mean\n\nThe mean of $n$ uniform samples on $[0, 1]$ has standard "
           "error $1/\\sqrt{12 n}$, so with 20,000 samples it lands within 0.01 of $1/2$."),
        code("import numpy as np\n\nrng = np.random.default_rng(0)\n"
             "sample = rng.random(cfg.n_samples)\n"
             "utils.claim('error of the sample mean', abs(sample.mean() - 0.5), '<', 0.01)"),
        md("## Summary\n\nWe sampled a mean and checked the number the prose states.\n\n"
           "## Exercises\n\n1. (easy) Take 100 times more samples: how much smaller is the error?"),
        solution,
    ]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def add_to_toc(repo_root: Path, rel_no_suffix: str) -> bool:
    """Add ``rel_no_suffix`` under its chapter's index in ``_toc.yml``; False if already there."""
    toc_path = repo_root / "_toc.yml"
    lines = toc_path.read_text(encoding="utf-8").splitlines()
    if any(line.strip() == f"- file: {rel_no_suffix}" for line in lines):
        return False
    index = rel_no_suffix.rsplit("/", 1)[0] + "/index"
    at = next((i for i, line in enumerate(lines) if line.strip() == f"- file: {index}"), None)
    if at is None:
        raise ValueError(f"_toc.yml has no '- file: {index}': add the chapter first")
    indent = len(lines[at]) - len(lines[at].lstrip())
    end = at + 1
    while end < len(lines) and (not lines[end].strip()
                                or len(lines[end]) - len(lines[end].lstrip()) > indent):
        end += 1
    block = lines[at + 1:end]
    new = []
    if not any(line.strip() == "sections:" for line in block):
        new.append(" " * (indent + 2) + "sections:")
    new.append(" " * (indent + 4) + f"- file: {rel_no_suffix}")
    lines[end:end] = new
    toc_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return True


# ---------------------------------------------------------------- execution and the ledger

def _versions(sources: str) -> dict[str, str]:
    names = ["python", "torch", "numpy"]
    for lib in ("tensorflow", "keras", "sklearn", "pandas", "shap", "lime"):
        if re.search(rf"^\s*(import|from) {lib}\b", sources, re.M):
            names.append(lib)
    dist = {"sklearn": "scikit-learn", "tensorflow": "tensorflow-cpu"}
    out = {}
    for name in names:
        if name == "python":
            out[name] = ".".join(map(str, sys.version_info[:3]))
            continue
        for candidate in (dist.get(name, name), name):
            try:
                out[name] = metadata.version(candidate)
                break
            except metadata.PackageNotFoundError:
                continue
    return out


def _papermill(src: Path, dst: Path, parameters: dict[str, Any] | None, threads: int,
               timeout: int) -> float:
    import papermill

    env_backup = dict(os.environ)
    os.environ["ZTL_THREADS"] = str(threads)
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    try:
        start = time.perf_counter()
        done = papermill.execute_notebook(
            str(src), str(dst), parameters=parameters or None, kernel_name="python3",
            cwd=str(src.parent), progress_bar=False, log_output=False,
            request_save_on_cell_execute=False, execution_timeout=timeout,
        )
        # papermill's own duration: kernel start to the last cell's end (not the shutdown)
        return float(done.metadata.get("papermill", {}).get("duration")
                     or time.perf_counter() - start)
    finally:
        os.environ.clear()
        os.environ.update(env_backup)


def execute(path: str | Path, *, threads: int | None = None) -> dict[str, float]:
    """Run the notebook in place (cpu, no parameters), record hashes, durations and versions."""
    path = Path(path).resolve()
    nb = nbformat.read(path, as_version=4)
    if not any("parameters" in _tags(c) for c in nb.cells if c.cell_type == "code"):
        raise ValueError(f"{path.name} has no code cell tagged 'parameters': the smoke run "
                         f"would silently use the cpu sizes; tag the PROFILE cell 'parameters'")
    alone = bool(nb.metadata.get("ztl", {}).get("run_alone"))
    threads = threads or (2 if alone else 1)
    load_before = os.getloadavg()[0]
    if load_before > 0.5 * (os.cpu_count() or 1):
        print(f"  warning: load average {load_before:.2f} before executing; recorded times "
              "will be inflated (stop other work and run again)", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        cpu_out, smoke_out = Path(tmp) / "cpu.ipynb", Path(tmp) / "smoke.ipynb"
        t_cpu = _papermill(path, cpu_out, None, threads, timeout=600)
        t_smoke = _papermill(path, smoke_out, {"PROFILE": "smoke"}, threads, timeout=120)
        done = nbformat.read(cpu_out, as_version=4)
    done.metadata.pop("papermill", None)
    for cell in done.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            cell.metadata["ztl"] = {"source_sha256": source_hash(cell.source)}
        if "solution" in _tags(cell):  # hidden in the book, collapsed in JupyterLab and Colab
            if "hide-input" not in cell.metadata["tags"]:
                cell.metadata["tags"].append("hide-input")
            cell.metadata["jupyter"] = {"source_hidden": True}
    all_code = "\n".join(c.source for c in done.cells if c.cell_type == "code")
    ztl = done.metadata.setdefault("ztl", {})
    ztl["durations"] = {"cpu": round(t_cpu, 1), "smoke": round(t_smoke, 1)}
    ztl["executed_with"] = {
        "cores": os.cpu_count(), "threads": threads, "load_before": round(load_before, 2),
        "versions": _versions(all_code), "date": time.strftime("%Y-%m-%d"),
    }
    opening = done.cells[0]
    line = f"{RUN_INFO_START}\n{render_run_info(done.metadata)}\n{RUN_INFO_END}"
    pattern = re.escape(RUN_INFO_START) + r".*?" + re.escape(RUN_INFO_END)
    if re.search(pattern, opening.source, re.S):
        opening.source = re.sub(pattern, lambda _: line, opening.source, flags=re.S)
    else:
        opening.source = opening.source.rstrip() + "\n\n" + line
    tmp_path = path.with_suffix(".ipynb.tmp")
    nbformat.write(done, tmp_path)
    os.replace(tmp_path, path)  # atomic: a crash never leaves a half-written notebook
    return dict(ztl["durations"])


def chapter_of(path: Path) -> int | None:
    """Chapter number of a book notebook path."""
    num = expected_number(path)
    return num[0] if num else None


def ledger(paths: list[Path]) -> tuple[list[dict[str, Any]], list[str]]:
    """Per-notebook recorded durations and every budget or allotment they break."""
    rows, problems = [], []
    for p in paths:
        meta = nbformat.read(p, as_version=4).metadata.get("ztl", {})
        dur = meta.get("durations", {})
        try:
            name = p.resolve().relative_to(Path.cwd().resolve()).as_posix()
        except ValueError:
            name = p.as_posix()
        rows.append({"notebook": name, "chapter": chapter_of(p),
                     "cpu": dur.get("cpu"), "smoke": dur.get("smoke")})
    for row in rows:
        for prof, limit in BUDGET.items():
            if row[prof] is None:
                problems.append(f"{row['notebook']}: no recorded {prof} duration")
            elif row[prof] > limit:
                problems.append(f"{row['notebook']}: {prof} {row[prof]:.0f} s > {limit:.0f} s")
    for (lo, hi), minutes in ALLOTMENTS:
        total = sum(r["cpu"] or 0 for r in rows if r["chapter"] and lo <= r["chapter"] <= hi)
        if total > minutes * 60:
            problems.append(f"chapters {lo}-{hi}: cpu {total / 60:.1f} min > {minutes} min")
    for prof, limit in BOOK_BUDGET.items():
        total = sum(r[prof] or 0 for r in rows)
        if total > limit:
            problems.append(f"whole book: {prof} {total / 60:.1f} min > {limit / 60:.0f} min")
    return rows, problems


def print_times(reports: Path) -> int:
    """Print the per-notebook times measured in the last ``make test`` phases."""
    files = sorted(reports.glob("notebook_times-*.json"))
    if not files:
        print("no measured times yet (they are written by make test)")
        return 0
    phases = [json.loads(f.read_text()) for f in files]
    names = sorted({k for ph in phases for k in ph["seconds"]})
    print(f"measured in make test: {'notebook':52}" + "".join(f"{ph['phase']:>13}" for ph in phases))
    for name in names:
        print(f"{'':22}{name[-52:]:52}"
              + "".join(f"{ph['seconds'].get(name, 0):13.1f}" for ph in phases))
    passed = failed = 0
    for junit in sorted(reports.glob("junit-*.xml")):
        import xml.etree.ElementTree as ET

        for suite in ET.parse(junit).getroot().iter("testsuite"):
            n_fail = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
            failed += n_fail
            passed += int(suite.get("tests", 0)) - n_fail - int(suite.get("skipped", 0))
    for ph in phases:
        load = ", ".join(f"{x:.2f}" for x in ph["loadavg"])
        print(f"  {ph['phase']}: {sum(ph['seconds'].values()):.1f} s in all; load average {load} "
              f"on {ph['cores']} cores at the end ({ph['date']})")
    if passed or failed:
        print(f"total: {passed} passed, {failed} failed")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Command line: check, execute, ledger."""
    parser = argparse.ArgumentParser(prog="python -m utils.notebooks", description=__doc__)
    sub = parser.add_subparsers(dest="cmd", required=True)
    for name, help_ in (("check", "check the notebook contract"),
                        ("execute", "execute notebooks in place (cpu + smoke timing)"),
                        ("ledger", "print the time ledger"),
                        ("stale", "list notebooks whose stored outputs are not fresh"),
                        ("alone", "list notebooks marked to run alone (speed measurements)")):
        p = sub.add_parser(name, help=help_)
        p.add_argument("notebooks", nargs="*", type=Path)
    sub.add_parser("times", help="print the times measured by the last make test")
    p = sub.add_parser("new", help="write a conforming notebook, execute it, add it to _toc.yml")
    p.add_argument("path", type=Path, help="chapters/NN_slug/MM_slug.ipynb")
    p.add_argument("title")
    args = parser.parse_args(argv)
    root = Path.cwd()
    if args.cmd == "new":
        num = expected_number(args.path)
        if num is None:
            parser.error(f"path {args.path} must look like chapters/01_math/02_calculus.ipynb")
        if args.path.exists():
            parser.error(f"{args.path} exists already; pick a new number")
        if not (args.path.parent / "index.md").exists():
            parser.error(f"{args.path.parent}/index.md is missing: the chapter must exist")
        nbformat.write(new_notebook(args.path, num[0], num[1], args.title), args.path)
        add_to_toc(root, args.path.as_posix().removesuffix(".ipynb"))
        print(f"wrote {args.path} and added it to _toc.yml; executing ...")
        print(execute(args.path))
        return 0
    paths = getattr(args, "notebooks", None) or find_notebooks(root)
    if args.cmd == "execute":
        for p in paths:
            print(f"executing {p} ...", flush=True)
            print(f"  {execute(p)}", flush=True)
        return 0
    if args.cmd == "stale":
        for p in paths:
            if {v.rule for v in check_notebook(p)} & {"fresh", "durations", "run-info"}:
                print(p.as_posix())
        return 0
    if args.cmd == "alone":
        for p in paths:
            if nbformat.read(p, as_version=4).metadata.get("ztl", {}).get("run_alone"):
                print(p.as_posix())
        return 0
    if args.cmd == "times":
        return print_times(root / "_build" / "reports")
    if args.cmd == "check":
        toc = toc_entries(root)
        failed = 0
        for p in paths:
            problems = check_notebook(p, toc=toc, repo_root=root)
            failed += bool(problems)
            for v in problems:
                print(f"{p}: {v}")
        print(f"{len(paths) - failed}/{len(paths)} notebooks conform")
        return 1 if failed else 0
    rows, problems = ledger(paths)
    print(f"{'notebook':60} {'cpu s':>7} {'smoke s':>8}")
    for r in rows:
        print(f"{r['notebook']:60} {r['cpu'] or 0:7.1f} {r['smoke'] or 0:8.1f}")
    print(f"{'total':60} {sum(r['cpu'] or 0 for r in rows):7.1f} "
          f"{sum(r['smoke'] or 0 for r in rows):8.1f}")
    for msg in problems:
        print("LEDGER:", msg)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
