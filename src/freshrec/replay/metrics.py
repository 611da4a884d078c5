"""Replay metrics: HR/NDCG/MRR@k overall, over time windows, on items new since the cut-off, and for
users with short histories; catalog coverage; throughput."""

from __future__ import annotations

import itertools

import numpy as np

from freshrec.evaluation.metrics import hit_rate, mrr, ndcg
from freshrec.replay.runner import StrategyRun, StreamFacts


def ranking(ranks: np.ndarray, k: int) -> dict[str, float]:
    return {
        f"HR@{k}": hit_rate(ranks, k),
        f"NDCG@{k}": ndcg(ranks, k),
        f"MRR@{k}": mrr(ranks, k),
        "n": float(len(ranks)),
    }


def window_bounds(facts: StreamFacts, windows: int) -> np.ndarray:
    """Positions splitting the stream into ``windows`` slices of equal event count."""
    return np.linspace(0, len(facts.timestamps), windows + 1).astype(int)


def summarise(
    run: StrategyRun, facts: StreamFacts, k: int = 10, windows: int = 10, short_history: int = 5
) -> dict[str, object]:
    """Every figure the replay reports for one strategy."""
    ranks = run.ranks
    bounds = window_bounds(facts, windows)
    return {
        "overall": ranking(ranks, k),
        "over_time": [
            ranking(ranks[a:b], k) | {"start": float(facts.timestamps[a])}
            for a, b in itertools.pairwise(bounds)
            if b > a
        ],
        "new_items": ranking(ranks[facts.new_item], k),
        f"short_history_le_{short_history}": ranking(ranks[facts.prior <= short_history], k),
        "coverage": len(run.recommended) / max(facts.catalog_size, 1),
        "events_per_second": run.events_per_second,
        "seconds": run.seconds,
        "details": run.details,
    }
