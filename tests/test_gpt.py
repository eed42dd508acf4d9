"""utils.gpt and utils.checkpoint on tiny configurations."""
import json
import math

import pytest
import torch

from utils import checkpoint, gpt

TEXT = "def add(a, b):\n    return a + b\n" * 40


def tiny(**kw):
    base = dict(n_layer=2, n_head=2, n_embd=16, block_size=8, batch_size=4, max_iters=12,
                warmup_iters=3, eval_interval=4, eval_iters=2, threads=1, seed=0)
    return gpt.TrainConfig(**{**base, **kw})


def test_forward_shapes_and_initial_loss_near_uniform():
    torch.manual_seed(0)
    model = gpt.GPT(gpt.GPTConfig(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=16))
    idx = torch.randint(11, (3, 8))
    logits, loss = model(idx, idx)
    assert logits.shape == (3, 8, 11)
    assert abs(loss.item() - math.log(11)) < 0.2
    assert model.head.weight is model.tok_emb.weight


def test_param_count_by_formula():
    c = gpt.GPTConfig(vocab_size=11, block_size=8, n_layer=3, n_head=2, n_embd=16)
    d, L = c.n_embd, c.n_layer
    formula = c.vocab_size * d + c.block_size * d + L * (12 * d * d + 2 * d) + d
    assert gpt.GPT(c).num_params() == formula
    c_bias = gpt.GPTConfig(vocab_size=11, block_size=8, n_layer=3, n_head=2, n_embd=16, bias=True)
    extra = L * (3 * d + d + 4 * d + d + 2 * d) + d  # qkv, proj, fc, mlp proj, 2 LN, ln_f
    assert gpt.GPT(c_bias).num_params() == formula + extra


def test_bad_config_names_the_value():
    with pytest.raises(ValueError, match="divisible by n_head"):
        gpt.GPTConfig(vocab_size=5, n_embd=10, n_head=4)
    with pytest.raises(ValueError, match="--batch-size"):
        gpt.TrainConfig(batch_size=0)
    model = gpt.GPT(gpt.GPTConfig(vocab_size=5, block_size=4, n_layer=1, n_head=1, n_embd=8))
    with pytest.raises(ValueError, match="exceeds block_size"):
        model(torch.zeros(1, 5, dtype=torch.long))


def test_batches_are_shifted_windows():
    data = torch.arange(100)
    x, y = gpt.get_batch(data, 5, 7, torch.Generator().manual_seed(0))
    assert x.shape == y.shape == (5, 7)
    torch.testing.assert_close(y, x + 1)


def test_schedule_warms_up_then_decays_to_min():
    cfg = tiny(lr=1.0, min_lr=0.1, warmup_iters=10, max_iters=110)
    assert gpt.lr_at(0, cfg) == 0.0
    assert gpt.lr_at(5, cfg) == pytest.approx(0.5)
    assert gpt.lr_at(10, cfg) == pytest.approx(1.0)
    assert gpt.lr_at(60, cfg) == pytest.approx(0.55)
    assert gpt.lr_at(110, cfg) == pytest.approx(0.1)
    assert gpt.lr_at(500, cfg) == pytest.approx(0.1)


def test_training_lowers_the_loss_and_reports_speed():
    out = gpt.train(TEXT, tiny(max_iters=40, lr=1e-2), log=lambda s: None)
    first, last = out["history"][0], out["history"][-1]
    assert out["iters"] == 40 and last["step"] == 40
    assert last["train"] < first["train"] - 0.5
    assert out["tokens_per_s"] > 0 and out["params"] == out["model"].num_params()


@pytest.mark.parametrize("optimizer", ["adamw", "muon"])
def test_resume_from_checkpoint_is_exact(tmp_path, optimizer):
    whole = gpt.train(TEXT, tiny(optimizer=optimizer), log=lambda s: None)["model"]
    cfg = tiny(optimizer=optimizer, out_dir=str(tmp_path), checkpoint_interval=4)
    gpt.train(TEXT, cfg, log=lambda s: None, stop_at=6)  # "killed" after step 6; ckpt at 4
    assert checkpoint.latest(tmp_path).name == "step-00000004"
    resumed = gpt.train(TEXT, cfg, log=lambda s: None)["model"]
    for (name, a), b in zip(whole.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), name


def test_muon_takes_the_block_matrices_and_adamw_the_rest():
    model = gpt.GPT(gpt.GPTConfig(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=16))
    opt = gpt.make_optimizer(model, tiny(optimizer="muon", lr=1e-3, muon_lr=2e-2))
    muon, adamw = opt.optimizers["muon"], opt.optimizers["adamw"]
    in_muon = {id(p) for g in muon.param_groups for p in g["params"]}
    names = {n for n, p in model.named_parameters() if id(p) in in_muon}
    assert names == {f"blocks.{i}.{m}.weight" for i in range(2)
                     for m in ("attn.qkv", "attn.proj", "mlp.fc", "mlp.proj")}
    n_adamw = sum(len(g["params"]) for g in adamw.param_groups)
    assert len(in_muon) + n_adamw == len(list(model.parameters()))
    assert muon.param_groups[0]["lr_scale"] == pytest.approx(20.0)
    with pytest.raises(ValueError, match="--optimizer"):
        tiny(optimizer="sgd")


def test_checkpoint_keeps_newest_and_rejects_non_checkpoints(tmp_path):
    model = torch.nn.Linear(2, 2)
    for step in (1, 2, 3):
        checkpoint.save(tmp_path, step, model, {"step": step}, keep=2)
    assert sorted(p.name for p in tmp_path.glob("step-*")) == ["step-00000002", "step-00000003"]
    assert json.loads((tmp_path / "latest.json").read_text())["step"] == 3
    assert checkpoint.load(checkpoint.latest(tmp_path), model)["step"] == 3
    with pytest.raises(ValueError, match="not a checkpoint folder"):
        checkpoint.load(tmp_path, model)


def test_command_line_prints_json_last(tmp_path, capsys):
    path = tmp_path / "t.txt"
    path.write_text(TEXT)
    gpt.main(["train", "--text", str(path), "--n-layer", "1", "--n-embd", "16", "--n-head", "2",
              "--block-size", "8", "--max-iters", "3", "--eval-interval", "3",
              "--eval-iters", "1", "--threads", "1", "--no-fused-adamw"])
    last = capsys.readouterr().out.strip().splitlines()[-1]
    summary = json.loads(last)
    assert {"iters", "tokens_per_s", "train_loss", "val_loss", "wall_s", "params"} <= set(summary)
    assert summary["iters"] == 3
    with pytest.raises(SystemExit, match="no such file"):
        gpt.main(["train", "--text", str(tmp_path / "absent.txt")])


def test_kill_during_checkpoint_write_keeps_the_previous_one(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    code = ("import os, torch; from utils import checkpoint; m = torch.nn.Linear(2, 2); "
            f"checkpoint.save({str(tmp_path)!r}, 1, m, {{'step': 1}}); "
            "os.environ['ZTL_CHECKPOINT_PAUSE'] = '30'; "  # only the second save is slow
            f"checkpoint.save({str(tmp_path)!r}, 2, m, {{'step': 2}})")
    proc = subprocess.Popen([sys.executable, "-c", code])
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".step-00000002.*")) and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert list(tmp_path.glob(".step-00000002.*")), "the second save never started"
    assert checkpoint.latest(tmp_path).name == "step-00000001"
    # The next save cleans the half-written folder away.
    checkpoint.save(tmp_path, 2, torch.nn.Linear(2, 2), {"step": 2})
    assert not list(tmp_path.glob(".step-*"))
    assert checkpoint.latest(tmp_path).name == "step-00000002"
