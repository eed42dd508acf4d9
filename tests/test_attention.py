"""utils.attention: each block equals PyTorch's own version (or a naive one) on tiny inputs."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from utils import attention as A

NOTEBOOK = "chapters/09_attention_transformers/01_attention_from_scratch.ipynb"
TOL = dict(atol=1e-5, rtol=1e-4)


def _randn(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


# ---------------------------------------------------------------- attention(q, k, v)
@pytest.mark.parametrize("is_causal", [False, True])
def test_attention_equals_sdpa(is_causal):
    q, k, v = _randn(2, 3, 5, 4, seed=1), _randn(2, 3, 5, 4, seed=2), _randn(2, 3, 5, 6, seed=3)
    out, weights = A.attention(q, k, v, is_causal=is_causal)
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v, is_causal=is_causal),
                               **TOL)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 3, 5))
    if is_causal:
        assert torch.all(weights.triu(1) == 0)


def test_attention_with_bool_and_float_masks():
    q, k, v = _randn(2, 4, 3, seed=1), _randn(2, 6, 3, seed=2), _randn(2, 6, 3, seed=3)
    allowed = _randn(2, 4, 6, seed=4) > 0
    allowed[..., 0] = True  # no fully masked row
    out, weights = A.attention(q, k, v, mask=allowed)
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v, attn_mask=allowed),
                               **TOL)
    assert torch.all(weights[~allowed] == 0)
    bias = _randn(4, 6, seed=5)
    out, _ = A.attention(q, k, v, mask=bias)
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v, attn_mask=bias), **TOL)


def test_attention_rejects_bad_shapes():
    with pytest.raises(ValueError, match="last dim"):
        A.attention(torch.zeros(2, 3, 4), torch.zeros(2, 3, 5), torch.zeros(2, 3, 5))
    with pytest.raises(ValueError, match="same length"):
        A.attention(torch.zeros(2, 3, 4), torch.zeros(2, 3, 4), torch.zeros(2, 2, 4))
    with pytest.raises(TypeError):
        A.attention([[1.0]], torch.zeros(1, 1), torch.zeros(1, 1))


# ---------------------------------------------------------------- MultiHeadAttention
def _mha_pair(d=8, h=2, bias=True, seed=0):
    torch.manual_seed(seed)
    theirs = nn.MultiheadAttention(d, h, batch_first=True, bias=bias).eval()
    ours = A.MultiHeadAttention(d, h, bias=bias).eval().copy_from(theirs)
    return ours, theirs


@pytest.mark.parametrize("need_weights", [False, True])
@pytest.mark.parametrize("bias", [False, True])
def test_mha_equals_torch_self_attention(need_weights, bias):
    ours, theirs = _mha_pair(bias=bias)
    x = _randn(3, 5, 8)
    ref, ref_w = theirs(x, x, x, need_weights=True)
    got = ours(x, need_weights=need_weights)
    if need_weights:
        got, w = got
        torch.testing.assert_close(w, ref_w, **TOL)
    torch.testing.assert_close(got, ref, **TOL)


@pytest.mark.parametrize("need_weights", [False, True])
def test_mha_equals_torch_with_masks(need_weights):
    ours, theirs = _mha_pair()
    q, kv = _randn(2, 4, 8, seed=1), _randn(2, 6, 8, seed=2)
    blocked = _randn(4, 6, seed=3) > 0.5
    blocked[:, 0] = False
    padding = torch.tensor([[False] * 6, [False] * 4 + [True] * 2])
    ref, ref_w = theirs(q, kv, kv, attn_mask=blocked, key_padding_mask=padding)
    got = ours(q, kv, kv, attn_mask=blocked, key_padding_mask=padding, need_weights=need_weights)
    if need_weights:
        got, w = got
        torch.testing.assert_close(w, ref_w, **TOL)
        assert torch.all(w[1, :, 4:] == 0)
    torch.testing.assert_close(got, ref, **TOL)
    per_head = torch.zeros(2 * 2, 4, 6).masked_fill(blocked, -1e9)  # float (B*H, Lq, Lk) mask
    torch.testing.assert_close(ours(q, kv, attn_mask=per_head),
                               theirs(q, kv, kv, attn_mask=per_head)[0], **TOL)


def test_mha_is_causal_equals_explicit_causal_mask():
    ours, theirs = _mha_pair()
    x = _randn(2, 5, 8)
    blocked = torch.ones(5, 5, dtype=torch.bool).triu(1)
    ref = theirs(x, x, x, attn_mask=blocked)[0]
    torch.testing.assert_close(ours(x, is_causal=True), ref, **TOL)
    torch.testing.assert_close(ours(x, is_causal=True, need_weights=True)[0], ref, **TOL)
    padding = torch.zeros(2, 5, dtype=torch.bool)
    padding[1, 4] = True
    torch.testing.assert_close(ours(x, is_causal=True, key_padding_mask=padding),
                               theirs(x, x, x, attn_mask=blocked, key_padding_mask=padding)[0],
                               **TOL)


def test_mha_rejects_bad_arguments():
    with pytest.raises(ValueError, match="not divisible"):
        A.MultiHeadAttention(10, 3)
    m = A.MultiHeadAttention(8, 2)
    with pytest.raises(ValueError, match="batch-first"):
        m(torch.zeros(4, 8))
    with pytest.raises(ValueError, match="key_padding_mask"):
        m(torch.zeros(2, 3, 8), key_padding_mask=torch.zeros(3, 2, dtype=torch.bool))
    with pytest.raises(ValueError, match="attn_mask"):
        m(torch.zeros(2, 3, 8), attn_mask=torch.zeros(4, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match="sizes differ"):
        m.copy_from(nn.MultiheadAttention(8, 4))


def test_notebook_multi_head_equals_utils():
    Scratch = __import__("tests.nbcode", fromlist=["definitions"]).definitions(
        NOTEBOOK, ["MultiHeadAttention"])["MultiHeadAttention"]
    torch.manual_seed(0)
    scratch = Scratch(8, 2)
    ours = A.MultiHeadAttention(8, 2)
    ours.load_state_dict(scratch.state_dict())
    q, kv = _randn(2, 4, 8, seed=1), _randn(2, 6, 8, seed=2)
    out, weights = scratch(q, kv, kv)
    got, got_w = ours(q, kv, kv, need_weights=True)
    torch.testing.assert_close(got, out, **TOL)
    torch.testing.assert_close(got_w, weights.mean(1), **TOL)
    x = _randn(2, 5, 8, seed=3)
    allowed = torch.ones(5, 5, dtype=torch.bool).tril()
    torch.testing.assert_close(ours(x, is_causal=True), scratch(x, x, x, mask=allowed)[0], **TOL)


# ---------------------------------------------------------------- CausalSelfAttention
def _naive_causal(m: A.CausalSelfAttention, x):
    b, t, d = x.shape
    q, k, v = m.qkv(x).split(d, dim=-1)
    heads = [z.view(b, t, m.n_heads, -1).transpose(1, 2) for z in (q, k, v)]
    scores = heads[0] @ heads[1].transpose(-2, -1) / (d // m.n_heads) ** 0.5
    scores = scores.masked_fill(torch.ones(t, t, dtype=torch.bool).triu(1), float("-inf"))
    y = torch.softmax(scores, -1) @ heads[2]
    return m.proj(y.transpose(1, 2).reshape(b, t, d))


def test_causal_self_attention_equals_naive_and_torch():
    torch.manual_seed(0)
    m = A.CausalSelfAttention(8, 2, bias=True).eval()
    x = _randn(2, 6, 8)
    torch.testing.assert_close(m(x), _naive_causal(m, x), **TOL)
    theirs = nn.MultiheadAttention(8, 2, batch_first=True).eval()
    with torch.no_grad():
        theirs.in_proj_weight.copy_(m.qkv.weight)
        theirs.in_proj_bias.copy_(m.qkv.bias)
        theirs.out_proj.weight.copy_(m.proj.weight)
        theirs.out_proj.bias.copy_(m.proj.bias)
    blocked = torch.ones(6, 6, dtype=torch.bool).triu(1)
    torch.testing.assert_close(m(x), theirs(x, x, x, attn_mask=blocked)[0], **TOL)


def test_causal_self_attention_does_not_look_ahead():
    torch.manual_seed(0)
    m = A.CausalSelfAttention(8, 2, rope=True, max_len=16).eval()
    x = _randn(1, 6, 8)
    y = x.clone()
    y[:, 4:] = _randn(1, 2, 8, seed=9)
    torch.testing.assert_close(m(x)[:, :4], m(y)[:, :4])
    assert not torch.allclose(m(x)[:, 4:], m(y)[:, 4:])
    with pytest.raises(ValueError, match="not divisible"):
        A.CausalSelfAttention(12, 5)


def test_causal_self_attention_rope_equals_naive_with_rotation():
    torch.manual_seed(0)
    m = A.CausalSelfAttention(8, 2, rope=True, max_len=8).eval()
    x = _randn(2, 6, 8)
    b, t, d = x.shape
    q, k, v = [z.view(b, t, 2, 4).transpose(1, 2) for z in m.qkv(x).split(d, dim=-1)]
    q, k = m.rotary(q), m.rotary(k)
    ref = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    ref = m.proj(ref.transpose(1, 2).reshape(b, t, d))
    torch.testing.assert_close(m(x), ref, **TOL)


# ---------------------------------------------------------------- positions
def test_rotary_scores_depend_only_on_offset():
    rope = A.RotaryEmbedding(8, max_len=32)
    q, k = _randn(8, seed=1), _randn(8, seed=2)
    qs = rope(q.expand(1, 1, 32, 8))[0, 0]  # the same vector at every position
    ks = rope(k.expand(1, 1, 32, 8))[0, 0]
    scores = qs @ ks.T  # scores[m, n] = q_m . k_n
    for offset in (-3, 0, 5):
        diag = torch.diagonal(scores, offset=offset)
        torch.testing.assert_close(diag, diag[0].expand_as(diag), atol=1e-4, rtol=1e-4)
    assert not torch.allclose(scores[5, 5], scores[5, 2])
    torch.testing.assert_close(qs.norm(dim=-1), q.norm().expand(32))  # rotations keep length
    with pytest.raises(ValueError, match="even"):
        A.RotaryEmbedding(7)
    with pytest.raises(ValueError, match="max_len"):
        rope(torch.zeros(1, 1, 33, 8))


def test_sinusoidal_and_learned_positions():
    table = A.sinusoidal_positions(50, 16)
    assert table.shape == (50, 16)
    torch.testing.assert_close(table[0, 0::2], torch.zeros(8))
    torch.testing.assert_close(table[0, 1::2], torch.ones(8))
    torch.testing.assert_close(table[7, 0], torch.sin(torch.tensor(7.0)))
    assert A.sinusoidal_positions(5, 7).shape == (5, 7)
    with pytest.raises(ValueError):
        A.sinusoidal_positions(0, 8)
    learned = A.LearnedPositions(10, 4)
    x = torch.zeros(2, 6, 4)
    torch.testing.assert_close(learned(x)[1], learned.embedding.weight[:6])
    with pytest.raises(ValueError, match="max_len"):
        learned(torch.zeros(1, 11, 4))


# ---------------------------------------------------------------- layers
def test_feed_forward_and_block():
    ff = A.FeedForward(8, 32, activation="relu")
    x = _randn(2, 3, 8)
    torch.testing.assert_close(ff(x), ff.proj(F.relu(ff.fc(x))))
    with pytest.raises(ValueError, match="activation"):
        A.FeedForward(8, 32, activation="tanh")
    torch.manual_seed(0)
    block = A.Block(8, 2).eval()
    assert block.mlp.fc.out_features == 32 and block.ln1.bias is None
    h = x + block.attn(block.ln1(x))
    torch.testing.assert_close(block(x), h + block.mlp(block.ln2(h)))


def test_encoder_layer_equals_torch():
    torch.manual_seed(0)
    theirs = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0, norm_first=True,
                                        batch_first=True).eval()
    ours = A.EncoderLayer(8, 2, d_ff=16).eval().copy_from(theirs)
    x = _randn(2, 5, 8)
    padding = torch.tensor([[False] * 5, [False] * 3 + [True] * 2])
    causal = torch.ones(5, 5, dtype=torch.bool).triu(1)  # True = not allowed
    torch.testing.assert_close(ours(x), theirs(x), **TOL)
    torch.testing.assert_close(ours(x, src_key_padding_mask=padding, src_mask=causal),
                               theirs(x, src_key_padding_mask=padding, src_mask=causal), **TOL)
    with pytest.raises(ValueError, match="norm_first"):
        ours.copy_from(nn.TransformerEncoderLayer(8, 2, 16, batch_first=True))


def test_decoder_layer_equals_torch():
    torch.manual_seed(0)
    theirs = nn.TransformerDecoderLayer(8, 2, dim_feedforward=16, dropout=0.0, norm_first=True,
                                        batch_first=True).eval()
    ours = A.DecoderLayer(8, 2, d_ff=16).eval().copy_from(theirs)
    tgt, memory = _randn(2, 4, 8, seed=1), _randn(2, 6, 8, seed=2)
    causal = nn.Transformer.generate_square_subsequent_mask(4)
    padding = torch.tensor([[False] * 6, [False] * 5 + [True]])
    ref = theirs(tgt, memory, tgt_mask=causal, memory_key_padding_mask=padding)
    torch.testing.assert_close(
        ours(tgt, memory, tgt_mask=causal, memory_key_padding_mask=padding), ref, **TOL)
    torch.testing.assert_close(
        ours(tgt, memory, tgt_is_causal=True, memory_key_padding_mask=padding), ref, **TOL)
    with pytest.raises(TypeError):
        ours.copy_from(nn.TransformerEncoderLayer(8, 2, 16, norm_first=True, batch_first=True))
