"""Accuracy metrics against values worked out by hand on a three-step log (K = 3)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from freshrec.envs.metrics import (
    StepLog,
    ctr,
    hits_per_step,
    ndcg_at_k,
    precision_at_k,
    precision_per_step,
    recall_at_k,
    recall_at_k_capped,
)

L2_3 = math.log2(3)  # discount of slot 1 is 1/log2(3); slot 0 -> 1/log2(2) = 1, slot 2 -> 1/log2(4) = 1/2


@pytest.fixture
def log() -> StepLog:
    # row 0: relevance .8 .2 .6 -> relevant T F T; 4 relevant candidates; clicked slot 0
    # row 1: slot 1 empty; relevance .1 - .7 -> relevant F F T; 1 relevant candidate; no click
    # row 2: nothing relevant among the shown or the candidates; clicked slot 2
    return StepLog.build(
        [[10, 11, 12], [20, -1, 21], [30, 31, 32]],
        slate_relevance=[[0.8, 0.2, 0.6], [0.1, 0.0, 0.7], [0.3, 0.2, 0.1]],
        ideal_relevance=[[0.9, 0.8, 0.6], [0.7, 0.1, 0.0], [0.0, 0.0, 0.0]],
        num_relevant=[4, 1, 0],
        clicked_position=[0, -1, 2],
    )


def test_ctr(log: StepLog) -> None:
    # clicks on rows 0 and 2 of 3
    assert ctr(log) == pytest.approx(2 / 3)


def test_precision(log: StepLog) -> None:
    # hits per row 2, 1, 0 -> precision 2/3, 1/3, 0 -> mean 1/3
    np.testing.assert_array_equal(hits_per_step(log), [2, 1, 0])
    np.testing.assert_allclose(precision_per_step(log), [2 / 3, 1 / 3, 0.0])
    assert precision_at_k(log) == pytest.approx(1 / 3)
    # top 2 slots: hits 1, 0, 0 -> 1/2, 0, 0 -> mean 1/6
    assert precision_at_k(log, 2) == pytest.approx(1 / 6)


def test_ndcg(log: StepLog) -> None:
    # row 0: DCG = .8 + .2/log2 3 + .6/2, IDCG = .9 + .8/log2 3 + .6/2
    # row 1: DCG = .1 + 0 + .7/2,        IDCG = .7 + .1/log2 3 + 0
    # row 2: IDCG = 0 -> left out; ndcg = mean of the two ratios (0.7193 and 0.5897 -> 0.6545)
    r0 = (0.8 + 0.2 / L2_3 + 0.3) / (0.9 + 0.8 / L2_3 + 0.3)
    r1 = (0.1 + 0.35) / (0.7 + 0.1 / L2_3)
    assert ndcg_at_k(log) == pytest.approx((r0 + r1) / 2, rel=1e-6)
    # @1: row 0 .8/.9, row 1 .1/.7
    assert ndcg_at_k(log, 1) == pytest.approx((0.8 / 0.9 + 0.1 / 0.7) / 2, rel=1e-6)


def test_recall(log: StepLog) -> None:
    # rows with relevant candidates: 0 (2 of 4 -> .5) and 1 (1 of 1 -> 1) -> .75; row 2 is left out
    assert recall_at_k(log) == pytest.approx(0.75)
    # capped: row 0 2 / min(4, 3) = 2/3, row 1 1 / 1 -> 5/6
    assert recall_at_k_capped(log) == pytest.approx(5 / 6)
    # @2: row 0 has 1 hit in the top 2 -> 1/4 and capped 1/min(4, 2) = 1/2; row 1 none -> 0 and 0
    assert recall_at_k(log, 2) == pytest.approx(0.125)
    assert recall_at_k_capped(log, 2) == pytest.approx(0.25)


def test_empty_slots_never_count_and_no_clicks() -> None:
    # An all-empty slate flagged relevant (inconsistent input) still scores 0; nobody clicked.
    log = StepLog.build(
        [[-1, -1, -1], [5, -1, -1]],
        slate_relevant=[[True, True, True], [True, False, False]],
        slate_relevance=[[0.9, 0.9, 0.9], [1.0, 0.0, 0.0]],
        ideal_relevance=[[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]],
        num_relevant=[1, 1],
    )
    assert ctr(log) == 0.0
    # hits 0 and 1 -> precision (0 + 1/3) / 2
    assert precision_at_k(log) == pytest.approx(1 / 6)
    # DCG 0 (the empty slots' relevance is ignored) and 1.0 -> ndcg .5; recall 0 and 1 -> .5
    assert ndcg_at_k(log) == pytest.approx(0.5)
    assert recall_at_k(log) == pytest.approx(0.5)


def test_empty_log_and_bad_k() -> None:
    log = StepLog.build(np.zeros((0, 3), np.int64))
    for f in (ctr, precision_at_k, ndcg_at_k, recall_at_k, recall_at_k_capped):
        assert math.isnan(f(log))
    with pytest.raises(ValueError, match="k must be"):
        precision_at_k(StepLog.build([[1, 2]]), 3)
