"""`summarize`: every metric of a StepLog in one flat dict (the key table is in the package docstring)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from freshrec.envs.metrics.accuracy import (
    RANKING_DEPTH,
    ctr,
    ndcg_at_k,
    precision_at_k,
    ranking_recall,
    recall_at_k,
    recall_at_k_capped,
    resolve_k,
)
from freshrec.envs.metrics.catalog import coverage, exposure_gini, intra_list_diversity, repeated_share
from freshrec.envs.metrics.freshness import (
    clicked_item_age,
    drift_recovery_stats,
    fresh_share_at_k,
    item_age,
    new_item_clicked_share,
    new_item_first_click,
    new_item_first_impression,
    new_item_shown_share,
    temporal_novelty,
)
from freshrec.envs.metrics.longterm import (
    cumulative_engagement,
    engagement_per_session,
    return_rate,
    session_length,
    session_return,
)

if TYPE_CHECKING:
    from freshrec.envs.metrics.log import StepLog


RANKING_RECALL = f"ranking_recall@{RANKING_DEPTH}"
"""The key of ``ranking_recall``: recall of the agent's top 10 candidates (its ranking), not of its slate."""


def summary_keys(k: int) -> list[str]:
    """The keys `summarize` returns for cut-off ``k``, in order."""
    return [
        "ctr",
        f"precision@{k}",
        f"ndcg@{k}",
        f"recall@{k}",
        f"recall@{k}_capped",
        RANKING_RECALL,
        f"fresh_share@{k}",
        "item_age",
        "clicked_item_age",
        "new_item_first_impression",
        "new_item_first_click",
        "new_item_shown_share",
        "new_item_clicked_share",
        "temporal_novelty",
        "drift_recovery_steps",
        "drift_recovery_censored",
        "drift_recovery_median",
        "drift_events",
        "drift_events_no_pre",
        "return",
        "session_length",
        "return_rate",
        "engagement_per_session",
        "cumulative_engagement",
        "coverage",
        "exposure_gini",
        "intra_list_diversity",
        "repeated_share",
    ]


def summarize(
    log: StepLog,
    k: int | None = None,
    *,
    new_age: float | None = None,
    pre_window: int = 10,
    roll: int = 5,
    cap: int = 50,
) -> dict[str, float]:
    """Every metric as {key: value}; the @k metrics (and drift precision) use the top k slots, default the whole slate."""
    k = resolve_k(log, k) if log.slate_size else 0
    if k == 0:  # nothing was recorded: no slate size, no values
        return dict.fromkeys(summary_keys(log.slate_size), float("nan")) | {
            "drift_events": 0.0,
            "drift_events_no_pre": 0.0,
            "cumulative_engagement": 0.0,
        }
    if log.ranking_depth not in (0, RANKING_DEPTH):
        raise ValueError(
            f"rankings were recorded {log.ranking_depth} deep; {RANKING_RECALL} reads rankings {RANKING_DEPTH} deep "
            f"(call ranking_recall(log) for recall@{log.ranking_depth})"
        )
    drift = drift_recovery_stats(log, pre_window, roll, cap, k=k)
    values = [
        ctr(log),
        precision_at_k(log, k),
        ndcg_at_k(log, k),
        recall_at_k(log, k),
        recall_at_k_capped(log, k),
        ranking_recall(log),
        fresh_share_at_k(log, k, new_age),
        item_age(log),
        clicked_item_age(log),
        new_item_first_impression(log),
        new_item_first_click(log),
        new_item_shown_share(log),
        new_item_clicked_share(log),
        temporal_novelty(log),
        drift.steps,
        drift.censored,
        drift.median,
        float(drift.events),
        float(drift.no_pre),
        session_return(log),
        session_length(log),
        return_rate(log),
        engagement_per_session(log),
        cumulative_engagement(log),
        coverage(log),
        exposure_gini(log),
        intra_list_diversity(log),
        repeated_share(log),
    ]
    return dict(zip(summary_keys(k), values, strict=True))
