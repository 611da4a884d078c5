"""Accuracy of the shown slates against the simulator's ground truth: CTR, precision, NDCG and recall at K,
and recall at 10 of the agent's whole ranking (``ranking_recall``).

The @k functions look at the top ``k`` slots (slot 0 is the top; default ``k`` = the slate size K). A metric whose
denominator is empty (no steps, no step with a relevant candidate, ...) is NaN.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from freshrec.envs.metrics.log import StepLog


def resolve_k(log: StepLog, k: int | None) -> int:
    """The cut-off to use: ``k`` if given (1 <= k <= K), else the slate size K."""
    size = log.slate_size
    if k is None:
        return size
    if not 1 <= k <= size:
        raise ValueError(f"k must be in [1, {size}], got {k}")
    return int(k)


def mean_or_nan(values: npt.NDArray[np.floating] | npt.NDArray[np.bool_]) -> float:
    """Mean of ``values``, NaN when there are none (instead of numpy's warning)."""
    return float(np.mean(values)) if values.size else float("nan")


def hits_per_step(log: StepLog, k: int | None = None) -> npt.NDArray[np.int64]:
    """(S,) number of relevant, non-empty items in each slate's top k slots."""
    k = resolve_k(log, k)
    hit = log.slate_relevant[:, :k] & (log.slate_item_ids[:, :k] >= 0)  # (S, k); an empty slot is never relevant
    return hit.sum(axis=1).astype(np.int64)


def precision_per_step(log: StepLog, k: int | None = None) -> npt.NDArray[np.float64]:
    """(S,) relevant items in the top k slots / k (empty slots count as not relevant)."""
    k = resolve_k(log, k)
    return hits_per_step(log, k) / float(k)


def ctr(log: StepLog) -> float:
    """ctr = (steps with a click) / steps."""
    return mean_or_nan(log.clicked_position >= 0)


def precision_at_k(log: StepLog, k: int | None = None) -> float:
    """precision@k = mean over steps of (relevant non-empty items in the top k slots) / k."""
    return mean_or_nan(precision_per_step(log, k))


def ndcg_at_k(log: StepLog, k: int | None = None) -> float:
    """ndcg@k = mean over steps with IDCG > 0 of DCG/IDCG; DCG = sum_{pos<k} relevance_pos / log2(pos+2), graded."""
    k = resolve_k(log, k)
    discount = 1.0 / np.log2(np.arange(k) + 2.0)  # (k,) position 0 -> 1, 1 -> 0.631, ...
    shown = np.where(log.slate_item_ids[:, :k] >= 0, log.slate_relevance[:, :k], 0.0)  # (S, k)
    dcg = shown @ discount  # (S,)
    idcg = log.ideal_relevance[:, :k].astype(np.float64) @ discount  # (S,) the k best candidates, descending
    ok = idcg > 0
    return mean_or_nan(dcg[ok] / idcg[ok])


def recall_at_k(log: StepLog, k: int | None = None) -> float:
    """recall@k = mean over steps with num_relevant > 0 of (relevant items in the top k slots) / num_relevant."""
    ok = log.num_relevant > 0
    return mean_or_nan(hits_per_step(log, k)[ok] / log.num_relevant[ok])


RANKING_DEPTH = 10
"""How deep the comparison harness reads each agent's ranking (``agents.base.slates_and_ranking``)."""


def ranking_recall(log: StepLog) -> float:
    """recall@R of the agents' rankings (R = ``log.ranking_depth``, the harness's 10): mean over steps with a
    recorded ranking and num_relevant > 0 of (relevant candidates in the ranking's top R) / num_relevant.

    The slate shows only K (5) of the ranking; this reads how well the agent orders the candidates it
    did not show. NaN when no ranking was recorded (a recommender without ``rank``).
    """
    ok = (log.num_relevant > 0) & (log.ranked_hits >= 0)
    return mean_or_nan(log.ranked_hits[ok] / log.num_relevant[ok])


def recall_at_k_capped(log: StepLog, k: int | None = None) -> float:
    """recall@k_capped = mean over steps with num_relevant > 0 of (relevant in top k) / min(num_relevant, k)."""
    k = resolve_k(log, k)
    ok = log.num_relevant > 0
    # A slate of k slots holds at most k relevant items, so this reaches 1 when the slate is as good as it can be.
    return mean_or_nan(hits_per_step(log, k)[ok] / np.minimum(log.num_relevant[ok], k))
