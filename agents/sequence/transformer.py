"""A causal transformer over item sequences (SASRec family) whose item vectors mix an ID
embedding with a learned projection of a frozen sentence embedding of the item's text.

Because the text projection is shared by all items, an item never seen in training still gets
a meaningful vector from its text alone: that is what lets new items be recommended at once.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn


@dataclass
class ModelConfig:
    """Shape of the network. ``num_items`` excludes the padding row 0."""

    num_items: int
    hidden: int = 64
    layers: int = 2
    heads: int = 2
    max_len: int = 50  # measured on ml-100k: 50 beat 200 on NDCG@10 (0.107 vs 0.097) and converged faster
    dropout: float = 0.2
    attn_dropout: float = 0.0  # dropout on L x L attention weights: costly on CPU, rarely worth it
    use_text: bool = True
    text_dim: int = 384
    ff_mult: int = 4

    def __post_init__(self) -> None:
        if self.hidden % self.heads:
            raise ValueError(f"hidden={self.hidden} must be divisible by heads={self.heads}")
        for name in ("num_items", "hidden", "layers", "heads", "max_len"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}={getattr(self, name)} must be at least 1")
        for name in ("dropout", "attn_dropout"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"{name}={getattr(self, name)} must be in [0, 1)")

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


class CausalBlock(nn.Module):
    """Pre-norm self-attention (each position sees itself and earlier items) plus a feed-forward."""

    def __init__(self, hidden: int, heads: int, dropout: float, attn_dropout: float, ff_mult: int) -> None:
        super().__init__()
        self.heads = heads
        self.attn_dropout = attn_dropout
        self.attn_norm = nn.LayerNorm(hidden)
        self.qkv = nn.Linear(hidden, 3 * hidden)
        self.attn_out = nn.Linear(hidden, hidden)
        self.ff_norm = nn.LayerNorm(hidden)
        # no dropout inside the feed-forward: on the 4x wider tensor it costs more than it helps on CPU
        self.ff = nn.Sequential(
            nn.Linear(hidden, ff_mult * hidden),
            nn.GELU(),
            nn.Linear(ff_mult * hidden, hidden),
        )
        self.drop = nn.Dropout(dropout)

    def forward(self, x: Tensor, mask: Tensor | None) -> Tensor:
        # x: (B, L, H); mask: (B, 1, L, L) bool, True where attention is allowed; None means plain causal
        batch, length, hidden = x.shape
        qkv = self.qkv(self.attn_norm(x)).view(batch, length, 3, self.heads, hidden // self.heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)  # each (B, heads, L, H/heads)
        attended = F.scaled_dot_product_attention(
            q, k, v, attn_mask=mask, is_causal=mask is None, dropout_p=self.attn_dropout if self.training else 0.0
        )
        x = x + self.drop(self.attn_out(attended.transpose(1, 2).reshape(batch, length, hidden)))
        return x + self.drop(self.ff(self.ff_norm(x)))


class SequenceRecommender(nn.Module):
    """Scores every catalog item as the next item of each history.

    Histories are left-padded item codes, 0 meaning padding: (B, L) with L <= max_len.
    """

    def __init__(self, config: ModelConfig, text_vectors: Tensor | None = None) -> None:
        super().__init__()
        self.config = config
        rows = config.num_items + 1
        self.item_ids = nn.Embedding(rows, config.hidden, padding_idx=0)
        nn.init.normal_(self.item_ids.weight, std=0.02)
        with torch.no_grad():
            self.item_ids.weight[0].zero_()
        if config.use_text:
            if text_vectors is None or text_vectors.shape != (rows, config.text_dim):
                got = None if text_vectors is None else tuple(text_vectors.shape)
                raise ValueError(f"use_text needs text_vectors of shape {(rows, config.text_dim)}, got {got}")
            self.text_proj: nn.Linear | None = nn.Linear(config.text_dim, config.hidden)
        else:
            self.text_proj = None
            text_vectors = torch.zeros(rows, 0)
        self.register_buffer("text_vectors", text_vectors.float().clone())
        self.positions = nn.Embedding(config.max_len, config.hidden)
        nn.init.normal_(self.positions.weight, std=0.02)
        self.input_drop = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(
            CausalBlock(config.hidden, config.heads, config.dropout, config.attn_dropout, config.ff_mult)
            for _ in range(config.layers)
        )
        self.final_norm = nn.LayerNorm(config.hidden)

    def item_vectors(self) -> Tensor:
        """(num_items + 1, H): ID embedding plus projected text; row 0 (padding) is never scored."""
        vectors = self.item_ids.weight
        if self.text_proj is not None:
            vectors = vectors + self.text_proj(self.text_vectors)
        return vectors

    def encode(self, histories: Tensor, item_vectors: Tensor | None = None) -> Tensor:
        """Hidden state after each position: (B, L, H)."""
        vectors = self.item_vectors() if item_vectors is None else item_vectors
        _batch, length = histories.shape
        real = histories > 0  # (B, L)
        x = vectors[histories] * real.unsqueeze(-1)
        x = x + self.positions.weight[self.config.max_len - length :].unsqueeze(0)
        x = self.input_drop(x)
        mask = None  # no padding: the fused causal kernel, about a quarter faster than an explicit mask
        if not bool(real.all()):
            causal = torch.ones(length, length, dtype=torch.bool, device=histories.device).tril()
            # attend to earlier real items; every position may attend to itself so no row is empty
            mask = (causal & real.unsqueeze(1)) | torch.eye(length, dtype=torch.bool, device=histories.device)
            mask = mask.unsqueeze(1)  # (B, 1, L, L)
        for block in self.blocks:
            x = block(x, mask)
        return self.final_norm(x)  # type: ignore[no-any-return]

    def user_vectors(self, histories: Tensor, item_vectors: Tensor | None = None) -> Tensor:
        """The state after the newest item: (B, H). Its dot product with an item vector is the score."""
        return self.encode(histories, item_vectors)[:, -1]

    def score(self, histories: Tensor) -> Tensor:
        """(B, num_items + 1) scores; column 0 (padding) is -inf."""
        vectors = self.item_vectors()
        scores = self.user_vectors(histories, vectors) @ vectors.T
        scores[:, 0] = float("-inf")
        return scores
