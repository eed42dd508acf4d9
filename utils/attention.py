"""Attention and Transformer building blocks, as built in notebook 9.1 and reused by 9.2, 9.3 and
chapter 10's GPT.

Shapes are batch-first: ``(B, L, d_model)`` for token sequences and ``(B, H, L, head_dim)`` inside
the heads. Two mask conventions meet here, so each function says which one it uses:

* :func:`attention` (the readable version) takes ``mask`` where bool ``True`` means *may attend*
  (the convention of ``F.scaled_dot_product_attention``), or an additive float mask.
* The modules (:class:`MultiHeadAttention`, :class:`EncoderLayer`, :class:`DecoderLayer`) follow
  ``nn.MultiheadAttention``: a bool ``attn_mask`` is ``True`` where attending is *not allowed*,
  a bool ``key_padding_mask`` (B, Lk) is ``True`` at padding; float masks are added to the scores.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "attention", "MultiHeadAttention", "CausalSelfAttention", "sinusoidal_positions",
    "LearnedPositions", "RotaryEmbedding", "FeedForward", "Block", "EncoderLayer", "DecoderLayer",
]

_ACTIVATIONS = ("gelu", "gelu_tanh", "relu", "silu")


def _check_heads(d_model: int, n_heads: int) -> int:
    if not isinstance(d_model, int) or not isinstance(n_heads, int):
        raise TypeError(f"d_model and n_heads must be ints, got {d_model!r} and {n_heads!r}")
    if d_model < 1 or n_heads < 1:
        raise ValueError(f"d_model and n_heads must be >= 1, got {d_model} and {n_heads}")
    if d_model % n_heads:
        raise ValueError(f"d_model={d_model} is not divisible by n_heads={n_heads}: "
                         f"pick n_heads among the divisors of d_model")
    return d_model // n_heads


def _check_seq(x: Tensor, name: str, d_model: int) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if x.dim() != 3 or x.size(-1) != d_model:
        raise ValueError(f"{name} must have shape (batch, length, {d_model}) (batch-first), "
                         f"got {tuple(x.shape)}")


def attention(q: Tensor, k: Tensor, v: Tensor, *, mask: Tensor | None = None,
              is_causal: bool = False) -> tuple[Tensor, Tensor]:
    """Scaled dot-product attention softmax(q kᵀ/√d) v, returning ``(output, weights)``;
    bool ``mask`` True = may attend, float ``mask`` is added to the scores."""
    for name, t in (("q", q), ("k", k), ("v", v)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
        if t.dim() < 2:
            raise ValueError(f"{name} must have shape (..., length, dim), got {tuple(t.shape)}")
    if k.size(-1) != q.size(-1):
        raise ValueError(f"q and k must share the last dim, got {tuple(q.shape)} and "
                         f"{tuple(k.shape)}")
    if k.size(-2) != v.size(-2):
        raise ValueError(f"k and v must have the same length (dim -2), got {tuple(k.shape)} "
                         f"and {tuple(v.shape)}")
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))
    if is_causal:
        lq, lk = scores.shape[-2:]
        allowed = torch.ones(lq, lk, dtype=torch.bool, device=q.device).tril()
        scores = scores.masked_fill(~allowed, float("-inf"))
    if mask is not None:
        if mask.dtype == torch.bool:
            scores = scores.masked_fill(~mask, float("-inf"))
        else:
            scores = scores + mask
    weights = torch.softmax(scores, dim=-1)
    return weights @ v, weights


def _additive(mask: Tensor | None, dtype: torch.dtype, name: str) -> Tensor | None:
    """A torch-convention mask (bool True = blocked, or float) as an additive float mask."""
    if mask is None:
        return None
    if not isinstance(mask, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor or None, got {type(mask).__name__}")
    if mask.dtype == torch.bool:
        return torch.zeros(mask.shape, dtype=dtype, device=mask.device).masked_fill(
            mask, float("-inf"))
    return mask.to(dtype)


def _merge_masks(attn_mask: Tensor | None, key_padding_mask: Tensor | None, is_causal: bool,
                 batch: int, n_heads: int, lq: int, lk: int, dtype: torch.dtype,
                 device: torch.device) -> Tensor | None:
    """One additive mask broadcastable to (B, H, Lq, Lk) from the torch-style masks."""
    merged = None
    if attn_mask is not None:
        m = _additive(attn_mask, dtype, "attn_mask")
        if m.dim() == 2 and m.shape == (lq, lk):
            pass
        elif m.dim() == 3 and m.shape == (batch * n_heads, lq, lk):
            m = m.view(batch, n_heads, lq, lk)
        elif m.dim() == 4 and m.shape[-2:] == (lq, lk):
            pass
        else:
            raise ValueError(f"attn_mask must have shape ({lq}, {lk}) or "
                             f"({batch * n_heads}, {lq}, {lk}), got {tuple(attn_mask.shape)}")
        merged = m
    if key_padding_mask is not None:
        if key_padding_mask.shape != (batch, lk):
            raise ValueError(f"key_padding_mask must have shape (batch, key length) = "
                             f"({batch}, {lk}), got {tuple(key_padding_mask.shape)}")
        m = _additive(key_padding_mask, dtype, "key_padding_mask").view(batch, 1, 1, lk)
        merged = m if merged is None else merged + m
    if is_causal and merged is not None:
        causal = torch.ones(lq, lk, dtype=torch.bool, device=device).tril()
        merged = merged + _additive(~causal, dtype, "causal mask")
    return merged


class MultiHeadAttention(nn.Module):
    """Multi-head attention, batch-first, with ``nn.MultiheadAttention``'s mask conventions."""

    def __init__(self, d_model: int, n_heads: int, *, dropout: float = 0.0, bias: bool = True):
        super().__init__()
        self.head_dim = _check_heads(d_model, n_heads)
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.d_model, self.n_heads, self.dropout = d_model, n_heads, dropout
        self.q_proj = nn.Linear(d_model, d_model, bias=bias)
        self.k_proj = nn.Linear(d_model, d_model, bias=bias)
        self.v_proj = nn.Linear(d_model, d_model, bias=bias)
        self.out_proj = nn.Linear(d_model, d_model, bias=bias)

    def _heads(self, x: Tensor) -> Tensor:
        b, length, _ = x.shape
        return x.view(b, length, self.n_heads, self.head_dim).transpose(1, 2)

    def forward(self, query: Tensor, key: Tensor | None = None, value: Tensor | None = None, *,
                attn_mask: Tensor | None = None, key_padding_mask: Tensor | None = None,
                is_causal: bool = False, need_weights: bool = False
                ) -> Tensor | tuple[Tensor, Tensor]:
        """Attend from ``query`` (B, Lq, d) to ``key``/``value`` (B, Lk, d), both defaulting to
        ``query``. ``attn_mask`` (Lq, Lk) or (B·H, Lq, Lk): bool True = NOT allowed, float is
        added; ``key_padding_mask`` (B, Lk): True = padding; ``is_causal`` adds a causal mask.
        Returns the output, or ``(output, weights averaged over heads)`` when ``need_weights``."""
        key = query if key is None else key
        value = key if value is None else value
        for name, t in (("query", query), ("key", key), ("value", value)):
            _check_seq(t, name, self.d_model)
        if key.shape[:2] != value.shape[:2] or key.size(0) != query.size(0):
            raise ValueError(f"query, key, value need the same batch and key/value the same "
                             f"length, got {tuple(query.shape)}, {tuple(key.shape)}, "
                             f"{tuple(value.shape)}")
        b, lq, lk = query.size(0), query.size(1), key.size(1)
        q, k, v = self._heads(self.q_proj(query)), self._heads(self.k_proj(key)), \
            self._heads(self.v_proj(value))
        mask = _merge_masks(attn_mask, key_padding_mask, is_causal, b, self.n_heads, lq, lk,
                            q.dtype, q.device)
        p = self.dropout if self.training else 0.0
        if need_weights:
            scores = q @ k.transpose(-2, -1) / math.sqrt(self.head_dim)
            if is_causal and mask is None:
                causal = torch.ones(lq, lk, dtype=torch.bool, device=q.device).tril()
                scores = scores.masked_fill(~causal, float("-inf"))
            if mask is not None:
                scores = scores + mask
            weights = torch.softmax(scores, dim=-1)
            out = F.dropout(weights, p) @ v
        else:
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p,
                                                 is_causal=is_causal and mask is None)
        out = self.out_proj(out.transpose(1, 2).reshape(b, lq, self.d_model))
        return (out, weights.mean(dim=1)) if need_weights else out

    @torch.no_grad()
    def copy_from(self, mha: nn.MultiheadAttention) -> "MultiHeadAttention":
        """Copy the weights of a ``nn.MultiheadAttention`` of the same size; returns self."""
        if not isinstance(mha, nn.MultiheadAttention):
            raise TypeError(f"copy_from needs an nn.MultiheadAttention, got {type(mha).__name__}")
        if (mha.embed_dim, mha.num_heads) != (self.d_model, self.n_heads):
            raise ValueError(f"sizes differ: theirs embed_dim={mha.embed_dim}, "
                             f"num_heads={mha.num_heads}; ours d_model={self.d_model}, "
                             f"n_heads={self.n_heads}")
        if (mha.in_proj_bias is not None) != (self.q_proj.bias is not None):
            raise ValueError("one module has biases and the other not: build ours with "
                             f"bias={mha.in_proj_bias is not None}")
        if mha.kdim != mha.embed_dim or mha.vdim != mha.embed_dim:
            raise ValueError(f"kdim/vdim ({mha.kdim}/{mha.vdim}) must equal embed_dim")
        if mha.in_proj_weight is not None:
            weights = mha.in_proj_weight.chunk(3)
        else:
            weights = (mha.q_proj_weight, mha.k_proj_weight, mha.v_proj_weight)
        biases = mha.in_proj_bias.chunk(3) if mha.in_proj_bias is not None else (None,) * 3
        for lin, w, bias in zip((self.q_proj, self.k_proj, self.v_proj), weights, biases):
            lin.weight.copy_(w)
            if bias is not None:
                lin.bias.copy_(bias)
        self.out_proj.weight.copy_(mha.out_proj.weight)
        if self.out_proj.bias is not None:
            self.out_proj.bias.copy_(mha.out_proj.bias)
        return self


def sinusoidal_positions(n_positions: int, d_model: int) -> Tensor:
    """The fixed sine/cosine position table of "Attention is all you need", (n_positions, d)."""
    if not isinstance(n_positions, int) or not isinstance(d_model, int) or \
            n_positions < 1 or d_model < 1:
        raise ValueError(f"n_positions and d_model must be ints >= 1, got {n_positions!r} and "
                         f"{d_model!r}")
    position = torch.arange(n_positions, dtype=torch.float32).unsqueeze(1)
    inv_freq = torch.exp(torch.arange(0, d_model, 2, dtype=torch.float32)
                         * (-math.log(10000.0) / d_model))
    table = torch.zeros(n_positions, d_model)
    table[:, 0::2] = torch.sin(position * inv_freq)
    table[:, 1::2] = torch.cos(position * inv_freq[: d_model // 2])
    return table


class LearnedPositions(nn.Module):
    """A trained position table: ``forward(x)`` adds row t to x[:, t] for x (B, T, d_model)."""

    def __init__(self, max_len: int, d_model: int):
        super().__init__()
        if max_len < 1 or d_model < 1:
            raise ValueError(f"max_len and d_model must be >= 1, got {max_len} and {d_model}")
        self.max_len = max_len
        self.embedding = nn.Embedding(max_len, d_model)

    def forward(self, x: Tensor) -> Tensor:
        """Return x plus the positions 0..T-1 (T = x.size(1) <= max_len)."""
        _check_seq(x, "x", self.embedding.embedding_dim)
        if x.size(1) > self.max_len:
            raise ValueError(f"sequence length {x.size(1)} exceeds max_len={self.max_len}: "
                             f"build LearnedPositions with a larger max_len")
        return x + self.embedding.weight[: x.size(1)]


def _rotate_half(x: Tensor) -> Tensor:
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


class RotaryEmbedding(nn.Module):
    """Rotary position embedding (RoPE): rotates pairs (i, i + head_dim/2) of each vector by an
    angle proportional to its position, so q_m·k_n depends only on m − n."""

    def __init__(self, head_dim: int, *, max_len: int = 2048, base: float = 10000.0):
        super().__init__()
        if head_dim < 2 or head_dim % 2:
            raise ValueError(f"head_dim must be even and >= 2, got {head_dim}")
        if max_len < 1 or base <= 1.0:
            raise ValueError(f"need max_len >= 1 and base > 1, got {max_len} and {base}")
        self.head_dim, self.max_len = head_dim, max_len
        inv_freq = base ** (-torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim)
        angles = torch.outer(torch.arange(max_len, dtype=torch.float32), inv_freq)
        angles = torch.cat((angles, angles), dim=-1)  # (max_len, head_dim)
        self.register_buffer("cos", angles.cos(), persistent=False)
        self.register_buffer("sin", angles.sin(), persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        """Rotate x (B, H, T, head_dim) for positions 0..T-1."""
        if x.dim() < 2 or x.size(-1) != self.head_dim:
            raise ValueError(f"x must have shape (..., T, {self.head_dim}), got {tuple(x.shape)}")
        t = x.size(-2)
        if t > self.max_len:
            raise ValueError(f"sequence length {t} exceeds max_len={self.max_len}: "
                             f"build RotaryEmbedding with a larger max_len")
        cos, sin = self.cos[:t].to(x.dtype), self.sin[:t].to(x.dtype)
        return x * cos + _rotate_half(x) * sin


class CausalSelfAttention(nn.Module):
    """The GPT's masked self-attention: one fused qkv projection, SDPA with is_causal=True,
    optional rotary positions on q and k."""

    def __init__(self, d_model: int, n_heads: int, *, dropout: float = 0.0, bias: bool = False,
                 rope: bool = False, max_len: int = 2048):
        super().__init__()
        self.head_dim = _check_heads(d_model, n_heads)
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.d_model, self.n_heads, self.dropout = d_model, n_heads, dropout
        self.qkv = nn.Linear(d_model, 3 * d_model, bias=bias)
        self.proj = nn.Linear(d_model, d_model, bias=bias)
        self.resid_dropout = nn.Dropout(dropout)
        self.rotary = RotaryEmbedding(self.head_dim, max_len=max_len) if rope else None

    def forward(self, x: Tensor) -> Tensor:
        """Causal self-attention over x (B, T, d_model)."""
        _check_seq(x, "x", self.d_model)
        b, t, d = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, self.n_heads, self.head_dim).permute(
            2, 0, 3, 1, 4).unbind(0)  # each (B, H, T, head_dim)
        if self.rotary is not None:
            q, k = self.rotary(q), self.rotary(k)
        y = F.scaled_dot_product_attention(
            q, k, v, dropout_p=self.dropout if self.training else 0.0, is_causal=True)
        return self.resid_dropout(self.proj(y.transpose(1, 2).reshape(b, t, d)))


class FeedForward(nn.Module):
    """The position-wise MLP: proj(dropout(act(fc(x)))), then dropout."""

    def __init__(self, d_model: int, d_ff: int, *, dropout: float = 0.0, bias: bool = True,
                 activation: str = "gelu"):
        super().__init__()
        if activation not in _ACTIVATIONS:
            raise ValueError(f"activation must be one of {_ACTIVATIONS}, got {activation!r}")
        if d_model < 1 or d_ff < 1:
            raise ValueError(f"d_model and d_ff must be >= 1, got {d_model} and {d_ff}")
        self.activation = activation
        self.fc = nn.Linear(d_model, d_ff, bias=bias)
        self.proj = nn.Linear(d_ff, d_model, bias=bias)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        """Apply the MLP to each position of x (..., d_model)."""
        h = self.fc(x)
        if self.activation == "gelu":
            h = F.gelu(h)
        elif self.activation == "gelu_tanh":
            h = F.gelu(h, approximate="tanh")
        elif self.activation == "relu":
            h = F.relu(h)
        else:
            h = F.silu(h)
        return self.dropout(self.proj(self.dropout(h)))


class Block(nn.Module):
    """Pre-norm GPT block: x + attn(ln1(x)), then x + mlp(ln2(x))."""

    def __init__(self, d_model: int, n_heads: int, *, d_ff: int | None = None,
                 dropout: float = 0.0, bias: bool = False, rope: bool = False,
                 max_len: int = 2048):
        super().__init__()
        self.ln1 = nn.LayerNorm(d_model, bias=bias)
        self.attn = CausalSelfAttention(d_model, n_heads, dropout=dropout, bias=bias, rope=rope,
                                        max_len=max_len)
        self.ln2 = nn.LayerNorm(d_model, bias=bias)
        self.mlp = FeedForward(d_model, d_ff or 4 * d_model, dropout=dropout, bias=bias)

    def forward(self, x: Tensor) -> Tensor:
        """One block over x (B, T, d_model)."""
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


def _copy_norm(ours: nn.LayerNorm, theirs: nn.LayerNorm) -> None:
    ours.weight.copy_(theirs.weight)
    if ours.bias is not None and theirs.bias is not None:
        ours.bias.copy_(theirs.bias)
    ours.eps = theirs.eps


def _copy_ff(ff: FeedForward, layer: nn.Module) -> None:
    act = getattr(layer, "activation_relu_or_gelu", 0)
    if (act == 1 and ff.activation != "relu") or (act == 2 and ff.activation != "gelu"):
        raise ValueError(f"activations differ: ours is {ff.activation!r}, theirs "
                         f"{'relu' if act == 1 else 'gelu'}: pass activation= to match")
    if layer.linear1.out_features != ff.fc.out_features:
        raise ValueError(f"d_ff differs: theirs {layer.linear1.out_features}, "
                         f"ours {ff.fc.out_features}")
    for ours, theirs in ((ff.fc, layer.linear1), (ff.proj, layer.linear2)):
        ours.weight.copy_(theirs.weight)
        if ours.bias is not None:
            ours.bias.copy_(theirs.bias)


def _check_torch_layer(layer: nn.Module, kind: type) -> None:
    if not isinstance(layer, kind):
        raise TypeError(f"copy_from needs an {kind.__name__}, got {type(layer).__name__}")
    if not layer.norm_first or not layer.self_attn.batch_first:
        raise ValueError(f"copy_from needs {kind.__name__}(norm_first=True, batch_first=True), "
                         f"got norm_first={layer.norm_first}, "
                         f"batch_first={layer.self_attn.batch_first}")


class EncoderLayer(nn.Module):
    """Pre-norm Transformer encoder layer, equal to
    ``nn.TransformerEncoderLayer(norm_first=True, batch_first=True)`` with copied weights."""

    def __init__(self, d_model: int, n_heads: int, *, d_ff: int | None = None,
                 dropout: float = 0.0, activation: str = "relu", bias: bool = True,
                 eps: float = 1e-5):
        super().__init__()
        self.ln1 = nn.LayerNorm(d_model, eps=eps, bias=bias)
        self.self_attn = MultiHeadAttention(d_model, n_heads, dropout=dropout, bias=bias)
        self.ln2 = nn.LayerNorm(d_model, eps=eps, bias=bias)
        self.mlp = FeedForward(d_model, d_ff or 4 * d_model, dropout=dropout, bias=bias,
                               activation=activation)
        self.dropout = nn.Dropout(dropout)

    def forward(self, src: Tensor, *, src_mask: Tensor | None = None,
                src_key_padding_mask: Tensor | None = None, is_causal: bool = False) -> Tensor:
        """Encode src (B, S, d_model); masks as in ``nn.TransformerEncoderLayer``."""
        h = self.ln1(src)
        x = src + self.dropout(self.self_attn(h, attn_mask=src_mask,
                                              key_padding_mask=src_key_padding_mask,
                                              is_causal=is_causal))
        return x + self.mlp(self.ln2(x))

    @torch.no_grad()
    def copy_from(self, layer: nn.TransformerEncoderLayer) -> "EncoderLayer":
        """Copy the weights of a pre-norm, batch-first ``nn.TransformerEncoderLayer``."""
        _check_torch_layer(layer, nn.TransformerEncoderLayer)
        self.self_attn.copy_from(layer.self_attn)
        _copy_norm(self.ln1, layer.norm1)
        _copy_norm(self.ln2, layer.norm2)
        _copy_ff(self.mlp, layer)
        return self


class DecoderLayer(nn.Module):
    """Pre-norm Transformer decoder layer (self-attention, cross-attention, MLP), equal to
    ``nn.TransformerDecoderLayer(norm_first=True, batch_first=True)`` with copied weights."""

    def __init__(self, d_model: int, n_heads: int, *, d_ff: int | None = None,
                 dropout: float = 0.0, activation: str = "relu", bias: bool = True,
                 eps: float = 1e-5):
        super().__init__()
        self.ln1 = nn.LayerNorm(d_model, eps=eps, bias=bias)
        self.self_attn = MultiHeadAttention(d_model, n_heads, dropout=dropout, bias=bias)
        self.ln2 = nn.LayerNorm(d_model, eps=eps, bias=bias)
        self.cross_attn = MultiHeadAttention(d_model, n_heads, dropout=dropout, bias=bias)
        self.ln3 = nn.LayerNorm(d_model, eps=eps, bias=bias)
        self.mlp = FeedForward(d_model, d_ff or 4 * d_model, dropout=dropout, bias=bias,
                               activation=activation)
        self.dropout = nn.Dropout(dropout)

    def forward(self, tgt: Tensor, memory: Tensor, *, tgt_mask: Tensor | None = None,
                memory_mask: Tensor | None = None, tgt_key_padding_mask: Tensor | None = None,
                memory_key_padding_mask: Tensor | None = None, tgt_is_causal: bool = False,
                memory_is_causal: bool = False) -> Tensor:
        """Decode tgt (B, T, d) attending to memory (B, S, d); masks as in
        ``nn.TransformerDecoderLayer``."""
        h = self.ln1(tgt)
        x = tgt + self.dropout(self.self_attn(h, attn_mask=tgt_mask,
                                              key_padding_mask=tgt_key_padding_mask,
                                              is_causal=tgt_is_causal))
        x = x + self.dropout(self.cross_attn(self.ln2(x), memory, attn_mask=memory_mask,
                                             key_padding_mask=memory_key_padding_mask,
                                             is_causal=memory_is_causal))
        return x + self.mlp(self.ln3(x))

    @torch.no_grad()
    def copy_from(self, layer: nn.TransformerDecoderLayer) -> "DecoderLayer":
        """Copy the weights of a pre-norm, batch-first ``nn.TransformerDecoderLayer``."""
        _check_torch_layer(layer, nn.TransformerDecoderLayer)
        self.self_attn.copy_from(layer.self_attn)
        self.cross_attn.copy_from(layer.multihead_attn)
        _copy_norm(self.ln1, layer.norm1)
        _copy_norm(self.ln2, layer.norm2)
        _copy_norm(self.ln3, layer.norm3)
        _copy_ff(self.mlp, layer)
        return self
