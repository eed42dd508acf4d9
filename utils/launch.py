"""Launch real multi-process ``torch.distributed`` jobs from a notebook (chapter 14).

``torchrun(...)`` starts ``python -m torch.distributed.run --standalone`` (the ``torchrun``
command) on a script or a module: the standalone rendezvous picks a free port itself, so
notebooks running side by side never collide. Each process gets ``threads`` intra-op threads;
the output of every rank comes back whole (each rank logs to its own file), and a failure raises with the tail of the log and the
usual causes. ``command(...)`` prints the same launch for GPUs and several nodes.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HINTS = (
    "common causes: an exception on one rank (read its traceback above); a rank that never "
    "reaches a collective the others wait in (a deadlock: check every rank calls the same "
    "collectives in the same order); RANK/WORLD_SIZE read before torchrun set them "
    "(use os.environ['LOCAL_RANK'], not a --local_rank argument)"
)


@dataclass
class Launch:
    """What a ``torchrun`` launch returned: its command, exit code, output and wall time."""

    command: list[str]
    returncode: int
    stdout: str  # every rank's standard output, rank by rank (attempt by attempt)
    stderr: str  # torchrun's own messages, then every rank's standard error
    wall_s: float

    def lines(self, prefix: str = "") -> list[str]:
        """Lines of the ranks' standard output that start with ``prefix``."""
        return [line for line in self.stdout.splitlines() if line.startswith(prefix)]

    def records(self, prefix: str) -> list[dict]:
        """The JSON objects the ranks printed after ``prefix`` (one per line), in rank order:
        a script prints ``print(PREFIX, json.dumps({...}), flush=True)``."""
        if not prefix:
            raise ValueError("records needs a non-empty prefix, e.g. 'RESULT', to tell the "
                             "script's JSON lines from its other output")
        return [json.loads(line[len(prefix):]) for line in self.lines(prefix)]


def _rank_logs(log_dir: Path, name: str) -> str:
    """Each rank's ``name`` log (torchrun ``--redirects``), attempt by attempt, rank by rank:
    whole lines, never two processes interleaved inside one."""
    files = sorted(log_dir.glob(f"*/attempt_*/*/{name}"),
                   key=lambda f: (int(f.parent.parent.name.split("_")[1]), int(f.parent.name)))
    return "".join(f.read_text(errors="replace") for f in files)


def _target(script: str | Path | None, module: str | None) -> list[str]:
    if (script is None) == (module is None):
        raise ValueError("pass exactly one of script= (a .py file) or module= (e.g. "
                         "'utils.gpt')")
    if module is not None:
        return ["-m", module]
    path = Path(script)  # type: ignore[arg-type]
    if not path.is_file():
        raise ValueError(f"script {path} does not exist: write it first (e.g. with "
                         f"%%writefile in the run directory) or pass module=")
    return [str(path)]


def torchrun(script: str | Path | None = None, *args: str, module: str | None = None,
             nproc: int = 2, threads: int = 1, timeout: float = 300,
             max_restarts: int = 0, env: dict[str, str] | None = None,
             cwd: str | Path | None = None, check: bool = True) -> Launch:
    """Run ``script`` (or ``module``) on ``nproc`` local processes with ``torchrun
    --standalone``; each process gets ``threads`` threads. Raises ``RuntimeError`` with the
    log's tail when it fails and ``check`` is true."""
    if isinstance(nproc, bool) or not isinstance(nproc, int) or nproc < 1:
        raise ValueError(f"nproc must be a positive int, got {nproc!r}")
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be a positive int, got {threads!r}")
    if max_restarts < 0:
        raise ValueError(f"max_restarts must be >= 0, got {max_restarts}")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone",
           f"--nproc-per-node={nproc}", f"--max-restarts={max_restarts}",
           *_target(script, module), *map(str, args)]
    root = str(Path(__file__).resolve().parent.parent)
    full_env = {**os.environ, "OMP_NUM_THREADS": str(threads), "ZTL_THREADS": str(threads),
                "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH"))
                                              if p),
                **(env or {})}
    if max_restarts > 0:  # a fresh rendezvous store per attempt: a restarted rank could read a
        # dead peer's address from the shared one (pytorch#135712) and fail to connect
        full_env.setdefault("TORCH_DISABLE_SHARE_RDZV_TCP_STORE", "1")
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="torchrun-") as logs:
        # Each rank writes to its own files: one shared pipe would interleave their prints.
        run = [*cmd[:4], f"--log-dir={logs}", "--redirects=3", *cmd[4:]]
        try:
            done = subprocess.run(run, capture_output=True, text=True, env=full_env, cwd=cwd,
                                  timeout=timeout)
        except subprocess.TimeoutExpired as err:
            raise RuntimeError(f"torchrun did not finish in {timeout} s; {HINTS}\n"
                               f"{_rank_logs(Path(logs), 'stderr.log')[-2000:]}") from None
        launch = Launch(cmd, done.returncode, done.stdout + _rank_logs(Path(logs), "stdout.log"),
                        done.stderr + _rank_logs(Path(logs), "stderr.log"),
                        time.perf_counter() - start)
    if check and done.returncode != 0:
        raise RuntimeError(f"torchrun exited with {done.returncode}; {HINTS}\n"
                           f"--- stdout (tail) ---\n{launch.stdout[-1500:]}\n"
                           f"--- stderr (tail) ---\n{launch.stderr[-3000:]}")
    return launch


def free_ports(n: int = 1) -> list[int]:
    """``n`` distinct TCP ports free on this machine now (the OS picks them), for launchers
    that need explicit addresses, such as TensorFlow's ``TF_CONFIG``; never a fixed port."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(n)]
    try:
        for s in sockets:  # hold them all open so the n ports differ
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def command(script: str, *args: str, nproc: int = 2, nnodes: int = 1,
            endpoint: str | None = None, job_id: str = "ztl") -> str:
    """The ``torchrun`` command line for ``nproc`` processes on each of ``nnodes`` machines
    (several nodes need ``endpoint``, the ``host:port`` of the rendezvous on node 0)."""
    if nnodes < 1 or nproc < 1:
        raise ValueError(f"nnodes and nproc must be >= 1, got {nnodes} and {nproc}")
    if nnodes == 1:
        head = ["torchrun", "--standalone", f"--nproc-per-node={nproc}"]
    else:
        if not endpoint:
            raise ValueError("several nodes need endpoint='host:port' of node 0's rendezvous, "
                             "e.g. endpoint='node0:29500'")
        head = ["torchrun", f"--nnodes={nnodes}", f"--nproc-per-node={nproc}",
                "--rdzv-backend=c10d", f"--rdzv-endpoint={endpoint}", f"--rdzv-id={job_id}"]
    return " ".join([*head, script, *args])
