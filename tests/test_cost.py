"""utils.cost: training FLOPs, time, GPUs, money and memory arithmetic."""
import math

import pytest
import torch

from utils import cost

NB = "chapters/13_hardware_cost/01_hardware_and_cost.ipynb"


def test_training_flops_is_6nd_plus_attention():
    assert cost.training_flops(1e9, 1e10) == 6e19
    with_attn = cost.training_flops(100, 10, seq_len=8, n_layer=2, d_model=4)
    assert with_attn == 6 * 100 * 10 + 6 * 2 * 8 * 4 * 10


def test_training_flops_matches_gpt_flops_per_token():
    from utils.gpt import GPTConfig, flops_per_token

    c = GPTConfig(vocab_size=65, block_size=32, n_layer=2, n_head=2, n_embd=16)
    n_matmul = c.n_layer * 12 * c.n_embd ** 2 + c.n_embd * c.vocab_size
    ours = cost.training_flops(n_matmul, 1000, seq_len=32, n_layer=2, d_model=16)
    assert ours == pytest.approx(1000 * flops_per_token(c))


def test_gpt3_flops_from_paper():
    # GPT-3 175B on 300B tokens: the paper reports 3.14e23 training FLOPs
    assert cost.training_flops(175e9, 300e9) == pytest.approx(3.14e23, rel=0.01)


def test_time_gpus_and_cost_are_consistent():
    flops = 1e21
    t = cost.training_time(flops, n_gpus=4, peak_flops_per_gpu=1e14, mfu=0.5)
    assert t == pytest.approx(1e21 / (4 * 1e14 * 0.5))
    days = t / 86400
    assert cost.gpus_needed(flops, days=days, peak_flops_per_gpu=1e14, mfu=0.5) == 4
    assert cost.gpus_needed(flops, days=days * 0.99, peak_flops_per_gpu=1e14, mfu=0.5) == 5
    assert cost.cost(10.0, 2.5) == 25.0


def test_memory_bytes_per_precision():
    assert cost.memory_bytes(1000, precision="fp32") == 16_000
    assert cost.memory_bytes(1000, precision="mixed") == 16_000
    assert cost.memory_bytes(1000, precision="bf16") == 8_000
    assert cost.memory_bytes(1000, optimizer="sgd", precision="fp32") == 12_000
    assert cost.memory_bytes(1000, optimizer="none", precision="bf16") == 2_000


def test_plan_llama2_70b_near_reported_gpu_hours():
    p = cost.plan(70e9, 2e12, gpu="A100-80GB", n_gpus=2048, mfu=0.4, price=1.0)
    assert 0.5 < p.gpu_hours / 1_720_320 < 2.0  # Llama 2 paper, Table 2
    assert p.cost == pytest.approx(p.gpu_hours)
    assert p.memory_per_gpu_gb == pytest.approx(70e9 * 16 / 2048 / 1e9)
    assert p.fits
    assert not cost.plan(70e9, 2e12, gpu="H100", n_gpus=8).fits
    assert cost.plan(1e6, 1e6).cost is None
    assert "GPU-hours" in str(p)


def test_accelerator_table_is_sane():
    for acc in cost.ACCELERATORS.values():
        assert acc.bf16_tflops > acc.fp32_tflops
        assert acc.memory_gb > 0 and acc.bandwidth_tbs > 0 and acc.interconnect_gbs > 0
    h100 = cost.ACCELERATORS["H100"]
    assert h100.peak_flops == 989e12
    assert 250 < h100.ridge_point < 350


@pytest.mark.parametrize("call, match", [
    (lambda: cost.training_flops(-1, 10), "n_params"),
    (lambda: cost.training_flops(10, 10, seq_len=8), "together"),
    (lambda: cost.training_flops("7B", 10), "number"),
    (lambda: cost.training_time(1e20, n_gpus=0, peak_flops_per_gpu=1e14, mfu=0.4), "n_gpus"),
    (lambda: cost.training_time(1e20, n_gpus=1, peak_flops_per_gpu=989, mfu=0.4), "TFLOP"),
    (lambda: cost.training_time(1e20, n_gpus=1, peak_flops_per_gpu=1e14, mfu=40), "0.4"),
    (lambda: cost.memory_bytes(10, optimizer="lion"), "optimizer"),
    (lambda: cost.memory_bytes(10, precision="fp8"), "precision"),
    (lambda: cost.plan(1e9, 1e9, gpu="V100"), "unknown gpu"),
    (lambda: cost.cost(-1, 2.0), "gpu_hours"),
])
def test_bad_inputs_raise_clear_errors(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()


def test_notebook_scratch_definitions_agree():
    from tests.nbcode import definitions

    defs = definitions(NB, ["training_flops", "train_state_bytes"])
    for args, kw in [((7e9, 2e12), {}), ((100, 10), dict(seq_len=8, n_layer=2, d_model=4))]:
        assert math.isclose(defs["training_flops"](*args, **kw),
                            cost.training_flops(*args, **kw))
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model(torch.randn(4, 8)).sum().backward()
    opt.step()
    n = sum(p.numel() for p in model.parameters())
    assert defs["train_state_bytes"](model, opt) == cost.memory_bytes(n, precision="fp32")
