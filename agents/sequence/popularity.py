"""Most-popular baseline: the same list for everyone, by interaction count."""

from __future__ import annotations

import numpy as np

from freshrec.agents.sequence.base import Recommender


class MostPopular(Recommender):
    """Scores items by how often they occur in the training sequences.

    >>> model = MostPopular.fit([np.array([1, 2, 2]), np.array([2, 3])], num_items=3)
    >>> model.recommend(np.array([], dtype=np.int64), k=2).tolist()
    [2, 1]
    """

    name = "most-popular"

    def __init__(self, counts: np.ndarray) -> None:
        self.counts = counts.astype(np.float64)  # (num_items + 1,)

    @classmethod
    def fit(cls, sequences: list[np.ndarray], num_items: int) -> MostPopular:
        counts = np.zeros(num_items + 1, dtype=np.float64)
        for seq in sequences:
            np.add.at(counts, seq, 1.0)
        counts[0] = 0.0
        return cls(counts)

    def score_histories(self, histories: list[np.ndarray]) -> np.ndarray:
        # ties broken towards lower codes, a tiny deterministic offset that never reorders counts
        scores = self.counts - np.arange(self.counts.shape[0], dtype=np.float64) * 1e-7
        scores[0] = -np.inf
        return np.tile(scores, (len(histories), 1))
