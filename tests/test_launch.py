"""utils.launch: real torchrun launches on 2 CPU processes (gloo)."""
import pytest

from utils import launch

SCRIPT = '''
import json, os, torch, torch.distributed as dist
dist.init_process_group("gloo")
rank, world = dist.get_rank(), dist.get_world_size()
x = torch.tensor([float(rank + 1)])
dist.all_reduce(x)
print(f"rank {rank}/{world} sum {x.item():.0f} threads {torch.get_num_threads()}", flush=True)
print("RESULT", json.dumps({"rank": rank, "sum": x.item()}), flush=True)
dist.destroy_process_group()
'''


def test_two_processes_all_reduce(tmp_path):
    path = tmp_path / "allreduce.py"
    path.write_text(SCRIPT)
    out = launch.torchrun(path, nproc=2, threads=1, timeout=120)
    assert out.returncode == 0
    assert sorted(out.lines("rank ")) == ["rank 0/2 sum 3 threads 1", "rank 1/2 sum 3 threads 1"]
    assert out.records("RESULT") == [{"rank": 0, "sum": 3.0}, {"rank": 1, "sum": 3.0}]


def test_a_failing_rank_raises_with_its_traceback(tmp_path):
    path = tmp_path / "fail.py"
    path.write_text("import os\nif os.environ['RANK'] == '1':\n    raise SystemExit('rank one fails')\n")
    with pytest.raises(RuntimeError, match="rank one fails"):
        launch.torchrun(path, nproc=2, timeout=120)


def test_bad_arguments_name_the_fix(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        launch.torchrun(tmp_path / "missing.py")
    with pytest.raises(ValueError, match="exactly one"):
        launch.torchrun()
    with pytest.raises(ValueError, match="nproc"):
        launch.torchrun(module="utils.gpt", nproc=0)


def test_command_lines_for_one_and_several_nodes():
    assert launch.command("train.py", nproc=8) == "torchrun --standalone --nproc-per-node=8 train.py"
    multi = launch.command("train.py", "--lr", "3e-4", nproc=8, nnodes=2, endpoint="node0:29500")
    assert "--nnodes=2" in multi and "--rdzv-endpoint=node0:29500" in multi
    assert multi.endswith("train.py --lr 3e-4")
    with pytest.raises(ValueError, match="endpoint"):
        launch.command("train.py", nnodes=2)


def test_free_ports_are_distinct_and_bindable():
    import socket
    ports = launch.free_ports(3)
    assert len(set(ports)) == 3 and all(1024 <= p < 65536 for p in ports)
    with socket.socket() as s:
        s.bind(("127.0.0.1", ports[0]))
    with pytest.raises(ValueError, match="positive"):
        launch.free_ports(0)


def test_a_restart_reruns_every_rank(tmp_path):
    path = tmp_path / "restart.py"
    path.write_text(
        "import json, os, sys, torch.distributed as dist\n"
        "dist.init_process_group('gloo')\n"
        "attempt = int(os.environ['TORCHELASTIC_RESTART_COUNT'])\n"
        "print('RESULT', json.dumps({'rank': dist.get_rank(), 'attempt': attempt}), flush=True)\n"
        "dist.barrier()\n"
        "if attempt == 0 and dist.get_rank() == 1:\n"
        "    os._exit(3)  # a crash on the first attempt only\n"
        "dist.destroy_process_group()\n")
    out = launch.torchrun(path, nproc=2, max_restarts=1, timeout=120)
    assert out.returncode == 0
    assert sorted((r["attempt"], r["rank"]) for r in out.records("RESULT")) == [
        (0, 0), (0, 1), (1, 0), (1, 1)]
