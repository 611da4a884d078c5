"""Metrics against values computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from freshrec.envs.metrics import ranking as metrics


def test_target_ranks_counts_ties_against_the_target() -> None:
    scores = np.array([[-np.inf, 0.5, 0.9, 0.5, 0.1], [-np.inf, 1.0, 0.0, 0.0, 0.0]])
    # row 0: target 1 (0.5) is behind 0.9 and tied with item 3 -> rank 3; row 1: target 1 is best
    assert metrics.target_ranks(scores, np.array([1, 1])).tolist() == [3.0, 1.0]


def test_excluded_target_is_never_a_hit() -> None:
    scores = np.array([[-np.inf, -np.inf, 0.3]])
    assert metrics.target_ranks(scores, np.array([1])).tolist() == [math.inf]


def test_ranking_metrics_by_hand() -> None:
    ranks = np.array([1.0, 2.0, 5.0, 11.0])
    assert metrics.hit_rate(ranks, 10) == pytest.approx(3 / 4)
    assert metrics.hit_rate(ranks, 1) == pytest.approx(1 / 4)
    expected_ndcg = (1 / math.log2(2) + 1 / math.log2(3) + 1 / math.log2(6) + 0) / 4
    assert metrics.ndcg(ranks, 10) == pytest.approx(expected_ndcg)
    assert metrics.mrr(ranks, 10) == pytest.approx((1 + 1 / 2 + 1 / 5) / 4)
    assert metrics.mrr(ranks, 3) == pytest.approx((1 + 1 / 2) / 4)


def test_empty_inputs_give_zero() -> None:
    empty = np.array([])
    assert metrics.hit_rate(empty, 10) == metrics.ndcg(empty, 10) == metrics.mrr(empty, 10) == 0.0


def test_coverage_counts_distinct_items_over_catalog() -> None:
    lists = np.array([[1, 2, 3], [3, 4, 1]])
    assert metrics.catalog_coverage(lists, num_items=8) == pytest.approx(4 / 8)


def test_novelty_is_mean_self_information() -> None:
    counts = np.array([0, 9, 4, 0])  # 9 users; item 1 seen by 9, item 2 by 4, item 3 by none
    lists = np.array([[1, 2], [2, 3]])
    p = {1: 10 / 10, 2: 5 / 10, 3: 1 / 10}  # add-one smoothing over 9 users
    expected = np.mean([-math.log2(p[i]) for i in (1, 2, 2, 3)])
    assert metrics.novelty(lists, counts, num_users=9) == pytest.approx(expected)


def test_intra_list_diversity_by_hand() -> None:
    vectors = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
    # pairs (1,2): cos 0, (1,3): cos 1/sqrt2, (2,3): cos 1/sqrt2
    expected = 1 - (0 + 2 / math.sqrt(2)) / 3
    assert metrics.intra_list_diversity(np.array([[1, 2, 3]]), vectors) == pytest.approx(expected)
    identical = np.array([[1, 1, 1]])
    assert metrics.intra_list_diversity(identical, vectors) == pytest.approx(0.0, abs=1e-12)
