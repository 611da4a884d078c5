"""The contract every sequence recommender satisfies, so evaluation treats them alike."""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np


class Recommender(ABC):
    """Scores all items as the next item of each user history.

    Item codes are shifted by one (0 is padding) and ``score_histories`` returns one column per
    code, column 0 being ``-inf``. Evaluation only needs this method.
    """

    name: str = "recommender"

    @abstractmethod
    def score_histories(self, histories: list[np.ndarray]) -> np.ndarray:
        """(len(histories), num_items + 1) scores; higher is better."""

    def recommend(self, history: np.ndarray, k: int = 10, exclude_seen: bool = True) -> np.ndarray:
        """The ``k`` best item codes for one history, best first."""
        if k < 1:
            raise ValueError(f"k={k} must be at least 1")
        scores = self.score_histories([history])[0]
        if exclude_seen:
            scores[history] = -np.inf
        k = min(k, int(np.isfinite(scores).sum()))
        top = np.argpartition(-scores, k - 1)[:k] if k else np.array([], dtype=np.int64)
        return top[np.argsort(-scores[top], kind="stable")]
