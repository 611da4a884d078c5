"""The transformer behind the :class:`Recommender` contract, plus the checkpoint format."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from freshrec.agents.sequence.base import Recommender
from freshrec.agents.sequence.transformer import ModelConfig, SequenceRecommender
from freshrec.simulators.data.sequences import pad_histories

CHECKPOINT_VERSION = 1


@dataclass
class TransformerRecommender(Recommender):
    """A trained :class:`SequenceRecommender` with its id map (code - 1 -> item id)."""

    model: SequenceRecommender
    item_ids: list[str]
    encoder_name: str | None = None
    batch_size: int = 256

    def __post_init__(self) -> None:
        self.name = "transformer+text" if self.model.config.use_text else "transformer (ID only)"
        self.model.eval()

    @torch.no_grad()
    def score_histories(self, histories: list[np.ndarray]) -> np.ndarray:
        max_len = self.model.config.max_len
        out = np.empty((len(histories), self.model.config.num_items + 1), dtype=np.float32)
        vectors = self.model.item_vectors()
        for start in range(0, len(histories), self.batch_size):
            batch = torch.from_numpy(pad_histories(histories[start : start + self.batch_size], max_len))
            users = self.model.user_vectors(batch, vectors)
            scores = users @ vectors.T
            scores[:, 0] = float("-inf")
            out[start : start + len(batch)] = scores.numpy()
        return out

    def save(self, path: Path, extra: dict[str, Any] | None = None) -> None:
        """Weights, config, id map and text vectors in one file; ``load`` gives identical scores."""
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(
            {
                "version": CHECKPOINT_VERSION,
                "config": self.model.config.to_dict(),
                "state": self.model.state_dict(),
                "item_ids": self.item_ids,
                "encoder": self.encoder_name,
                "extra": extra or {},
            },
            path,
        )

    @classmethod
    def load(cls, path: Path) -> TransformerRecommender:
        blob = torch.load(path, map_location="cpu", weights_only=True)
        if blob.get("version") != CHECKPOINT_VERSION:
            raise ValueError(f"{path}: checkpoint version {blob.get('version')} is not {CHECKPOINT_VERSION}")
        config = ModelConfig(**blob["config"])
        text = blob["state"]["text_vectors"] if config.use_text else None
        model = SequenceRecommender(config, text)
        model.load_state_dict(blob["state"])
        return cls(model, list(blob["item_ids"]), blob["encoder"])
