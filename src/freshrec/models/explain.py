"""Why an item was recommended: which history items drove its score.

We measure, for each of the newest history items, how much the item's score drops when that
history item is removed (occlusion). Costs one batched forward pass per explained user.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from freshrec.models.base import Recommender


@dataclass(frozen=True)
class Attribution:
    history_item: int  # item code (+1)
    contribution: float  # score drop when this history item is removed


def explain(
    model: Recommender, history: np.ndarray, items: np.ndarray, window: int = 20, top: int = 2
) -> list[list[Attribution]]:
    """For each recommended item code in ``items``, the ``top`` history items with the largest positive
    contribution among the newest ``window`` history items."""
    recent = np.arange(max(0, len(history) - window), len(history))
    variants = [history] + [np.delete(history, position) for position in recent]
    scores = model.score_histories(variants)[:, items]  # (1 + window, len(items))
    drops = scores[0][None, :] - scores[1:]  # (window, len(items)); positive = it helped
    out: list[list[Attribution]] = []
    for column in range(len(items)):
        best = np.argsort(-drops[:, column], kind="stable")[:top]
        out.append(
            [Attribution(int(history[recent[b]]), float(drops[b, column])) for b in best if drops[b, column] > 0]
        )
    return out
