"""Session-level and catalog-level metrics against values worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from freshrec.envs.metrics import (
    StepLog,
    catalog_items,
    coverage,
    cumulative_engagement,
    engagement_per_session,
    exposure_gini,
    gini,
    intra_list_diversity,
    repeated_share,
    return_rate,
    session_length,
    session_return,
    sessions,
)


@pytest.fixture
def session_log() -> StepLog:
    #  t  user session step reward engagement end
    #  0  0    100     0    1      1.5
    #  0  1    200     3    0      .25           (began before the recording)
    #  0  2    300     0    2      4          terminated
    #  1  0    100     1    0      0
    #  1  1    200     4    0      .25        truncated
    #  2  0    100     2    2      2          terminated
    #  2  1    201     0    .5     1
    #  3  0    101     0    1      .5            (still running at the end)
    #  3  1    201     1    .5     0          truncated
    return StepLog.build(
        np.tile([1, 2], (9, 1)),
        time=[0, 0, 0, 1, 1, 2, 2, 3, 3],
        user_id=[0, 1, 2, 0, 1, 0, 1, 0, 1],
        session_id=[100, 200, 300, 100, 200, 100, 201, 101, 201],
        session_step=[0, 3, 0, 1, 4, 2, 0, 0, 1],
        reward=[1, 0, 2, 0, 0, 2, 0.5, 1, 0.5],
        engagement=[1.5, 0.25, 4, 0, 0.25, 2, 1, 0.5, 0],
        terminated=[False, False, True, False, False, True, False, False, False],
        truncated=[False, False, False, False, True, False, False, False, True],
    )


def test_sessions(session_log: StepLog) -> None:
    g = sessions(session_log)
    np.testing.assert_array_equal(g.session_id, [100, 101, 200, 201, 300])
    np.testing.assert_array_equal(g.steps, [3, 1, 2, 2, 1])
    np.testing.assert_array_equal(g.first_row, [0, 7, 1, 6, 2])
    np.testing.assert_array_equal(g.last_row, [5, 7, 4, 8, 2])
    np.testing.assert_array_equal(g.completed, [True, False, False, True, True])


def test_session_means(session_log: StepLog) -> None:
    # completed: 100 (reward 3, 3 steps, engagement 3.5), 201 (1, 2, 1), 300 (2, 1, 4)
    assert session_return(session_log) == pytest.approx(2.0)
    assert session_length(session_log) == pytest.approx(2.0)
    assert engagement_per_session(session_log) == pytest.approx(8.5 / 3)
    # every row counts: 1.5 + .25 + 4 + 0 + .25 + 2 + 1 + .5 + 0
    assert cumulative_engagement(session_log) == pytest.approx(9.5)


def test_return_rate(session_log: StepLog) -> None:
    # users with a completed session: 0 (100, then 101 starts later -> returned), 1 (201 is its last session;
    # 200 came before it -> no), 2 (300, nothing after -> no) => 1/3
    assert return_rate(session_log) == pytest.approx(1 / 3)


def test_no_completed_session() -> None:
    log = StepLog.build([[1, 2], [1, 2]], session_step=[5, 6], engagement=[1.0, 2.0])
    for f in (session_return, session_length, engagement_per_session, return_rate):
        assert math.isnan(f(log))
    assert cumulative_engagement(log) == 3.0


@pytest.fixture
def catalog_log() -> StepLog:
    # Items 1-4 live at the start, 5 arrives at tick 1, 6 at tick 10 (after the last shown tick, 2).
    #   row t  slate (topics)              repeated
    #   0   0  1 (0), 2 (0), empty          slot 2
    #   1   1  1 (0), 3 (1), 5 (2)          -
    #   2   1  1 (0), empty, empty          slots 1, 2
    #   3   2  empty, empty, empty          -
    #   4   2  2 (0), 3 (1), 1 (0)          -
    return StepLog.build(
        [[1, 2, -1], [1, 3, 5], [1, -1, -1], [-1, -1, -1], [2, 3, 1]],
        time=[0, 1, 1, 2, 2],
        slate_topics=[[0, 0, -1], [0, 1, 2], [0, -1, -1], [-1, -1, -1], [0, 1, 0]],
        repeated=[[False, False, True], [False] * 3, [False, True, True], [False] * 3, [False] * 3],
        item_ids=[1, 2, 3, 4, 5, 6],
        item_arrival=[-5.0, -1.0, 0.0, 0.0, 1.0, 10.0],
        item_live_at_start=[True, True, True, True, False, False],
    )


def test_coverage(catalog_log: StepLog) -> None:
    # catalog {1..5} (6 arrives too late); recommended {1, 2, 3, 5} -> 4/5
    np.testing.assert_array_equal(catalog_items(catalog_log), [1, 2, 3, 4, 5])
    assert coverage(catalog_log) == pytest.approx(0.8)


def test_coverage_counts_shown_items_missing_from_the_table() -> None:
    # table {1, 2}; item 9 is shown but unknown -> catalog {1, 2, 9}, shown {1, 9} -> 2/3
    log = StepLog.build([[1, 9]], item_ids=[1, 2])
    assert coverage(log) == pytest.approx(2 / 3)


def test_exposure_gini(catalog_log: StepLog) -> None:
    # impressions: item 1 x4, 2 x2, 3 x2, 4 x0, 5 x1 -> sorted 0 1 2 2 4, sum 9, n 5;
    # weights 2i - n - 1 = -4 -2 0 2 4 -> (0 - 2 + 0 + 4 + 16) / (5 * 9) = 18/45 = .4
    assert exposure_gini(catalog_log) == pytest.approx(0.4)


def test_gini() -> None:
    assert gini([3, 3, 3]) == 0.0
    assert gini([0, 0, 0, 5]) == pytest.approx(0.75)  # weights -3 -1 1 3: 3 * 5 / (4 * 5)
    assert math.isnan(gini([0, 0]))
    assert math.isnan(gini([]))


def test_intra_list_diversity(catalog_log: StepLog) -> None:
    # row 0: one pair, same topic -> 0; row 1: 3 of 3 pairs differ -> 1; rows 2, 3: fewer than 2 items -> left out;
    # row 4: topics 0 1 0 -> pairs (0,1) (1,0) differ, (0,0) same -> 2/3  => (0 + 1 + 2/3) / 3 = 5/9
    assert intra_list_diversity(catalog_log) == pytest.approx(5 / 9)


def test_repeated_share(catalog_log: StepLog) -> None:
    # 3 repeated slots of 5 x 3
    assert repeated_share(catalog_log) == pytest.approx(0.2)


def test_catalog_empty() -> None:
    log = StepLog.build([[-1, -1]])
    assert math.isnan(coverage(log))
    assert math.isnan(exposure_gini(log))
    assert math.isnan(intra_list_diversity(log))
    assert repeated_share(log) == 0.0
