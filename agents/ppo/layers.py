"""The Transformer layers of ``TransformerExtractor``: PyTorch's layers computed through ``attend``.

Same parameter names and initialisation as ``nn.TransformerEncoderLayer`` / ``nn.TransformerDecoderLayer``
(pre-norm, no dropout), so either kind loads the other's weights; split from ``networks.py``, which builds
the extractors from them.
"""

from __future__ import annotations

import copy
import math

import torch
from torch import nn
from torch.nn import functional as F


def attend(mha: nn.MultiheadAttention, x: torch.Tensor, memory: torch.Tensor, pad: torch.Tensor) -> torch.Tensor:
    """``mha(x, memory, memory, key_padding_mask=pad)`` batch-first, the same function with fewer copies.

    x (B, L, d) attends to memory (B, S, d); pad (B, S) is True where a key is padding. Why by
    hand: ``nn.MultiheadAttention`` moves batch-first inputs to (L, B, d), splits its packed
    projection with copies and, on CPU, runs a flash-attention kernel made for long sequences;
    with L, S near 30 its copies, zero-fills and that kernel dominated the torch profile of a PPO
    update (1 thread); without them an update took a fifth less time. Here the projection is
    split by views and the scores are a batched matmul. Same parameters (``in_proj_weight``,
    ``out_proj``), so models load either way.
    """
    d, heads = mha.embed_dim, mha.num_heads
    w, b = mha.in_proj_weight, mha.in_proj_bias
    assert b is not None  # freshrec's layers keep the projection bias (PyTorch's default)
    if x is memory:
        q, k, v = F.linear(x, w, b).chunk(3, dim=-1)  # views into one (B, L, 3d) projection
    else:
        q = F.linear(x, w[:d], b[:d])
        k, v = F.linear(memory, w[d:], b[d:]).chunk(2, dim=-1)
    bsz, length, span = x.shape[0], x.shape[1], memory.shape[1]
    dh = d // heads
    bias = torch.zeros(bsz, 1, span, dtype=x.dtype, device=x.device).masked_fill_(pad.unsqueeze(1), -math.inf)
    if heads == 1:  # the default: batched matmuls straight on the strided views, no copies
        weights = torch.softmax(
            torch.baddbmm(bias, q, k.transpose(1, 2), alpha=dh**-0.5), dim=-1, dtype=torch.float32
        )  # (B, L, S)
        return mha.out_proj(torch.bmm(weights, v))
    # (B, heads, L, dh)
    q = q.reshape(bsz, length, heads, dh).transpose(1, 2)
    k = k.reshape(bsz, span, heads, dh).transpose(1, 2)
    v = v.reshape(bsz, span, heads, dh).transpose(1, 2)
    scores = torch.matmul(q, k.transpose(-2, -1)) * (dh**-0.5) + bias.unsqueeze(1)  # (B, heads, L, S)
    out = torch.matmul(torch.softmax(scores, dim=-1, dtype=torch.float32), v).transpose(1, 2).reshape(bsz, length, d)
    return mha.out_proj(out)


class EncoderBlock(nn.Module):
    """Pre-norm self-attention block: ``nn.TransformerEncoderLayer(norm_first=True, dropout=0)`` through ``attend``.

    Same submodule names, same order of initialisation, so its weights and state dict are those of
    PyTorch's layer (``reference_layers=True`` runs PyTorch's layer on them).
    """

    def __init__(self, d_model: int, heads: int, ffn: int) -> None:
        super().__init__()
        self.self_attn = nn.MultiheadAttention(d_model, heads, dropout=0.0, batch_first=True)
        self.linear1 = nn.Linear(d_model, ffn)
        self.linear2 = nn.Linear(ffn, d_model)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)

    def forward(self, x: torch.Tensor, pad: torch.Tensor) -> torch.Tensor:
        y = self.norm1(x)
        x = x + attend(self.self_attn, y, y, pad)
        return x + self.linear2(F.relu(self.linear1(self.norm2(x))))


class DecoderBlock(nn.Module):
    """Pre-norm ``nn.TransformerDecoderLayer(norm_first=True, dropout=0)`` through ``attend``: candidates
    (B, M, d) attend to each other (not to masked ones: ``tgt_key_padding_mask``), then to the user tokens,
    then a feed-forward (same names and inits)."""

    def __init__(self, d_model: int, heads: int, ffn: int) -> None:
        super().__init__()
        self.self_attn = nn.MultiheadAttention(d_model, heads, dropout=0.0, batch_first=True)
        self.multihead_attn = nn.MultiheadAttention(d_model, heads, dropout=0.0, batch_first=True)
        self.linear1 = nn.Linear(d_model, ffn)
        self.linear2 = nn.Linear(ffn, d_model)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.norm3 = nn.LayerNorm(d_model)

    def forward(
        self,
        x: torch.Tensor,
        memory: torch.Tensor,
        memory_key_padding_mask: torch.Tensor,
        tgt_key_padding_mask: torch.Tensor,
    ) -> torch.Tensor:
        y = self.norm1(x)
        x = x + attend(self.self_attn, y, y, tgt_key_padding_mask)
        x = x + attend(self.multihead_attn, self.norm2(x), memory, memory_key_padding_mask)
        return x + self.linear2(F.relu(self.linear1(self.norm3(x))))


class CrossBlock(nn.Module):
    """Pre-norm candidate block: candidates (B, M, d) attend to the user tokens (B, S, d), then a feed-forward.

    PyTorch's ``TransformerDecoderLayer`` always adds self-attention among the candidates; this block
    leaves it out (``candidate_self_attention=False``, the default): PPO trained 1.32x faster
    without it here (``bench_ppo``: 2,392 against 1,818 env steps/s at the default settings).
    """

    def __init__(self, d_model: int, heads: int, ffn: int, reference: bool = False) -> None:
        super().__init__()
        self.reference = reference  # nn.MultiheadAttention's own forward instead of ``attend``
        self.norm1 = nn.LayerNorm(d_model)
        self.attn = nn.MultiheadAttention(d_model, heads, dropout=0.0, batch_first=True)
        self.norm2 = nn.LayerNorm(d_model)
        self.ffn = nn.Sequential(nn.Linear(d_model, ffn), nn.ReLU(), nn.Linear(ffn, d_model))

    def forward(
        self,
        x: torch.Tensor,
        memory: torch.Tensor,
        memory_key_padding_mask: torch.Tensor,
        tgt_key_padding_mask: torch.Tensor,
    ) -> torch.Tensor:
        # tgt_key_padding_mask: the decoder layers' signature; no attention among candidates here, so unused.
        y = self.norm1(x)
        if self.reference:
            a = self.attn(y, memory, memory, key_padding_mask=memory_key_padding_mask, need_weights=False)[0]
        else:
            a = attend(self.attn, y, memory, memory_key_padding_mask)
        x = x + a
        return x + self.ffn(self.norm2(x))


class Encoder(nn.Module):
    """A stack of ``EncoderBlock``s named as ``nn.TransformerEncoder``'s (``layers.i``), so state dicts match."""

    def __init__(self, block: EncoderBlock, layers: int) -> None:
        super().__init__()
        # Copies of one block, as nn.TransformerEncoder does: every layer starts from the same weights.
        self.layers = nn.ModuleList([copy.deepcopy(block) for _ in range(layers)])

    def forward(self, x: torch.Tensor, src_key_padding_mask: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x, src_key_padding_mask)
        return x
