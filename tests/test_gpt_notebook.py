"""Notebook 10.1 builds the GPT from scratch; it must equal ``utils.gpt.GPT`` with copied weights."""
from __future__ import annotations

import pytest
import torch

from tests.nbcode import definitions
from utils.gpt import GPT as UtilsGPT
from utils.gpt import GPTConfig

NOTEBOOK = "chapters/10_gpt_from_scratch/01_the_model.ipynb"


@pytest.fixture(scope="module")
def scratch():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny models: more threads only add synchronization
    yield definitions(NOTEBOOK, ["GPT", "n_params", "causal_attention", "sample"])
    torch.set_num_threads(threads)


@pytest.mark.parametrize("bias", [False, True])
def test_identical_logits_with_copied_weights(scratch, bias):
    torch.manual_seed(0)
    ours = scratch["GPT"](11, 8, 2, 2, 16, bias=bias).eval()
    if bias:  # zero at init: make the biases matter before comparing
        with torch.no_grad():
            for name, p in ours.named_parameters():
                if name.endswith("bias"):
                    p.normal_(0.0, 0.1)
    theirs = UtilsGPT(GPTConfig(11, 8, 2, 2, 16, bias=bias)).eval()
    theirs.load_state_dict(ours.state_dict())
    idx = torch.randint(11, (3, 8), generator=torch.Generator().manual_seed(1))
    targets = torch.randint(11, (3, 8), generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        (logits, loss), (ref_logits, ref_loss) = ours(idx, targets), theirs(idx, targets)
    assert logits.shape == (3, 8, 11)
    assert torch.equal(logits, ref_logits)
    torch.testing.assert_close(loss, ref_loss, rtol=0, atol=0)


def test_weight_tying_and_parameter_formula(scratch):
    for bias in (False, True):
        model = scratch["GPT"](13, 6, 3, 2, 8, bias=bias)
        assert model.head.weight is model.tok_emb.weight
        counted = sum(p.numel() for p in model.parameters())
        assert counted == scratch["n_params"](13, 6, 8, 3, bias=bias)
        assert counted == UtilsGPT(GPTConfig(13, 6, 3, 2, 8, bias=bias)).num_params()


def test_explicit_causal_attention_matches_sdpa(scratch):
    q, k, v = torch.randn(3, 2, 2, 5, 4, generator=torch.Generator().manual_seed(3)).unbind(0)
    out, weights = scratch["causal_attention"](q, k, v)
    ref = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
    torch.testing.assert_close(out, ref)
    assert weights.triu(diagonal=1).abs().max().item() == 0.0


def test_sample_matches_utils_generate(scratch):
    torch.manual_seed(4)
    ours = scratch["GPT"](7, 4, 1, 1, 8).eval()
    theirs = UtilsGPT(GPTConfig(7, 4, 1, 1, 8)).eval()
    theirs.load_state_dict(ours.state_dict())
    prompt = torch.zeros(1, 2, dtype=torch.long)
    a = scratch["sample"](ours, prompt, 6, torch.Generator().manual_seed(5))
    b = theirs.generate(prompt, 6, generator=torch.Generator().manual_seed(5))
    assert a.shape == (1, 8)
    assert torch.equal(a, b)
