"""Ranking metrics on full-catalog ranks, plus list-level measures (coverage, novelty, diversity).

``ranks`` are 1-based positions of each target in its user's ranking (``inf`` when absent).
"""

from __future__ import annotations

import numpy as np


def target_ranks(scores: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """1-based rank of each target in its row; ties count against the target (never optimistic).

    >>> target_ranks(np.array([[0.0, 3.0, 1.0, 3.0]]), np.array([3])).tolist()
    [2.0]
    """
    rows = np.arange(len(targets))
    target_scores = scores[rows, targets][:, None]
    better_or_tied = (scores >= target_scores).sum(axis=1) - 1  # minus the target itself
    ranks = (better_or_tied + 1).astype(np.float64)
    ranks[~np.isfinite(target_scores[:, 0])] = np.inf  # an excluded target can never be hit
    return ranks


def hit_rate(ranks: np.ndarray, k: int) -> float:
    """Share of users whose target is in their top ``k``.

    >>> hit_rate(np.array([1, 3, 11, np.inf]), 10)
    0.5
    """
    return float(np.mean(ranks <= k)) if len(ranks) else 0.0


def ndcg(ranks: np.ndarray, k: int) -> float:
    """Mean of 1/log2(rank + 1) over users, counting 0 past ``k`` (one relevant item per user).

    >>> round(ndcg(np.array([1, 3]), 10), 4)
    0.75
    """
    gains = np.where(ranks <= k, 1.0 / np.log2(np.minimum(ranks, k) + 1.0), 0.0)
    return float(np.mean(gains)) if len(ranks) else 0.0


def mrr(ranks: np.ndarray, k: int) -> float:
    """Mean reciprocal rank, counting 0 past ``k``.

    >>> round(mrr(np.array([1, 4, 20]), 10), 6)
    0.416667
    """
    return float(np.mean(np.where(ranks <= k, 1.0 / ranks, 0.0))) if len(ranks) else 0.0


def catalog_coverage(top_lists: np.ndarray, num_items: int) -> float:
    """Share of the catalog that appears in at least one user's top-k list.

    >>> catalog_coverage(np.array([[1, 2], [2, 3]]), num_items=6)
    0.5
    """
    return float(len(np.unique(top_lists[top_lists > 0])) / num_items) if num_items else 0.0


def novelty(top_lists: np.ndarray, item_counts: np.ndarray, num_users: int) -> float:
    """Mean self-information -log2 p(i) of recommended items, p(i) = share of users who had item i.

    Counts are add-one smoothed so an item nobody had is finite (log2(num_users + 1) bits).

    >>> round(novelty(np.array([[1]]), np.array([0, 3]), num_users=3), 4)
    0.0
    """
    p = np.minimum((item_counts[top_lists] + 1.0) / (num_users + 1.0), 1.0)
    return float(np.mean(-np.log2(p))) if top_lists.size else 0.0


def intra_list_diversity(top_lists: np.ndarray, item_vectors: np.ndarray) -> float:
    """Mean pairwise cosine distance (1 - cos) between the items of each list, averaged over lists.

    >>> vecs = np.array([[0, 0], [1, 0], [0, 1], [1, 0]], dtype=float)
    >>> round(intra_list_diversity(np.array([[1, 2, 3]]), vecs), 6)  # pairs: 1-2 far, 1-3 same, 2-3 far
    0.666667
    """
    if top_lists.shape[1] < 2:
        return 0.0
    unit = item_vectors / np.maximum(np.linalg.norm(item_vectors, axis=1, keepdims=True), 1e-12)
    lists = unit[top_lists]  # (U, k, D)
    cos = np.einsum("ukd,ujd->ukj", lists, lists)
    k = top_lists.shape[1]
    pair_mean = (cos.sum(axis=(1, 2)) - np.trace(cos, axis1=1, axis2=2)) / (k * (k - 1))
    return float(np.mean(1.0 - pair_mean))
