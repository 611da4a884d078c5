"""`summarize` returns every metric under its documented key, agreeing with the individual functions."""

from __future__ import annotations

import math

import numpy as np
import pytest

import freshrec.envs.metrics as metrics
from freshrec.envs.metrics import StepLog, summarize, summary_keys


def _log() -> StepLog:
    # Two users, K = 3, one completed session each; user 0's interests shift at its 4th step.
    return StepLog.build(
        [[1, 2, 3], [1, 4, -1], [2, 3, 4], [5, 1, 2], [3, 4, 5], [1, 2, 3]],
        time=[0, 0, 1, 1, 2, 3],
        user_id=[0, 1, 0, 1, 0, 0],
        session_id=[10, 20, 10, 20, 10, 10],
        session_step=[0, 0, 1, 1, 2, 3],
        slate_topics=[[0, 1, 1], [0, 0, -1], [1, 1, 0], [2, 0, 1], [1, 0, 2], [0, 1, 1]],
        slate_age=[[3, 60, 9], [3, 1, 0], [61, 10, 2], [0, 5, 63], [11, 3, 1], [6, 63, 12]],
        slate_relevance=[
            [0.9, 0.1, 0.6],
            [0.7, 0.2, 0.0],
            [0.1, 0.8, 0.4],
            [0.5, 0.5, 0.5],
            [0.3, 0.2, 0.1],
            [1.0, 0.0, 0.0],
        ],
        ideal_relevance=[[0.9, 0.8, 0.6]] * 6,
        num_relevant=[3, 2, 3, 3, 2, 1],
        clicked_position=[0, -1, 1, 2, -1, 0],
        engagement=[1.0, 0.0, 2.0, 0.5, 0.0, 1.0],
        reward=[1.0, 0.0, 1.0, 1.0, 0.0, 1.0],
        shifted=[False, False, False, False, False, True],
        terminated=[False, False, False, True, False, True],
        repeated=[[False] * 3, [False, False, True], *[[False] * 3] * 4],
        item_ids=[1, 2, 3, 4, 5],
        item_arrival=[-100.0, -50.0, -10.0, -1.0, 0.0],
        item_live_at_start=[True, True, True, True, False],
    )


def test_keys_and_agreement() -> None:
    log = _log()
    out = summarize(log)
    assert list(out) == summary_keys(3)
    assert list(out)[:7] == [
        "ctr", "precision@3", "ndcg@3", "recall@3", "recall@3_capped", "ranking_recall@10", "fresh_share@3"
    ]  # fmt: skip
    assert math.isnan(out["ranking_recall@10"])  # no ranking recorded
    assert all(isinstance(v, float) for v in out.values())
    # clicks on 4 of 6 rows; total engagement 4.5; 1 of 18 slots repeated
    assert out["ctr"] == pytest.approx(4 / 6)
    assert out["cumulative_engagement"] == pytest.approx(4.5)
    assert out["repeated_share"] == pytest.approx(1 / 18)
    # user 0's shift has 3 steps before it: one event; precision .667 .333 0 | .333 vs pre .333 -> recovered at 1
    assert (out["drift_recovery_steps"], out["drift_recovery_censored"], out["drift_events"]) == (1.0, 0.0, 1.0)
    assert out["drift_recovery_median"] == 1.0
    assert out["precision@3"] == metrics.precision_at_k(log)
    assert out["ndcg@3"] == metrics.ndcg_at_k(log)
    assert out["recall@3_capped"] == metrics.recall_at_k_capped(log)
    assert out["fresh_share@3"] == metrics.fresh_share_at_k(log)
    assert out["new_item_first_impression"] == metrics.new_item_first_impression(log)
    assert out["temporal_novelty"] == metrics.temporal_novelty(log)
    assert out["return"] == metrics.session_return(log)
    assert out["return_rate"] == metrics.return_rate(log)
    assert out["coverage"] == metrics.coverage(log)
    assert out["exposure_gini"] == metrics.exposure_gini(log)
    assert out["intra_list_diversity"] == metrics.intra_list_diversity(log)


def test_cut_off_and_new_age() -> None:
    log = _log()
    out = summarize(log, k=2, new_age=10.0)
    assert "precision@2" in out and "recall@2_capped" in out and "precision@3" not in out
    assert out["precision@2"] == metrics.precision_at_k(log, 2)
    # top-2 ages 3 60 | 3 1 | 61 10 | 0 5 | 11 3 | 6 63: under 10 -> 3, 3, 1, 0, 5, 3, 6 = 7 of 12
    assert out["fresh_share@2"] == pytest.approx(7 / 12)


def test_empty_log() -> None:
    out = summarize(StepLog.build(np.zeros((0, 2), np.int64)))
    assert list(out) == summary_keys(2)
    assert out["drift_events"] == 0.0 and out["cumulative_engagement"] == 0.0
    assert math.isnan(out["ctr"]) and math.isnan(out["return"]) and math.isnan(out["drift_recovery_steps"])


def test_docstring_table_lists_every_key() -> None:
    doc = metrics.__doc__ or ""
    for key in summary_keys(3):
        assert f"`{key.replace('3', 'K')}`" in doc, key
