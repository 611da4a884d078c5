"""Freshness, new-item exposure, temporal novelty and drift recovery against values worked out by hand."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from freshrec.envs.metrics import (
    StepLog,
    clicked_item_age,
    drift_recovery,
    fresh_share_at_k,
    item_age,
    new_item_clicked_share,
    new_item_first_click,
    new_item_first_impression,
    new_item_shown_share,
    summarize,
    temporal_novelty,
)
from freshrec.envs.metrics.freshness import DriftRecovery, drift_recovery_stats


def test_ages() -> None:
    # non-empty ages 1, 7, 3; new_age 5 -> fresh 1 and 3 -> 2/3; mean age 11/3; the one click is on age 7
    log = StepLog.build([[1, 2], [3, -1]], slate_age=[[1.0, 7.0], [3.0, 0.0]], clicked_position=[1, -1], new_age=5.0)
    assert fresh_share_at_k(log) == pytest.approx(2 / 3)
    assert fresh_share_at_k(log, 1) == 1.0  # top slot only: ages 1 and 3
    assert fresh_share_at_k(log, new_age=2.0) == pytest.approx(1 / 3)  # only age 1 is under 2
    assert item_age(log) == pytest.approx(11 / 3)
    assert clicked_item_age(log) == 7.0


def test_no_clicks_and_all_empty() -> None:
    log = StepLog.build([[-1, -1]])
    for f in (fresh_share_at_k, item_age, clicked_item_age, temporal_novelty):
        assert math.isnan(f(log))


@pytest.fixture
def new_items_log() -> StepLog:
    # Items 1, 2 live at the start; 3 arrives at tick 2, 4 at 3, 6 at 4, 5 at 5 (after the last shown tick, 4, so
    # it is not counted). Rows are deliberately not in time order (row 0 is at t=4).
    #   row  t  user  slate (age)            click
    #   0    4  1     4 (1), 3 (2)           item 4 at age 1
    #   1    2  0     1 (12), 2 (5)          item 1 (live at start: ignored)
    #   2    3  1     3 (1), 1 (13)          item 1
    #   3    3  0     4 (0), 3 (1)           -
    #   4    4  0     3 (2), empty           item 3 at age 2
    return StepLog.build(
        [[4, 3], [1, 2], [3, 1], [4, 3], [3, -1]],
        time=[4, 2, 3, 3, 4],
        user_id=[1, 0, 1, 0, 0],
        slate_age=[[1, 2], [12, 5], [1, 13], [0, 1], [2, 0]],
        clicked_position=[0, 0, 1, -1, 0],
        item_ids=[1, 2, 3, 4, 5, 6],
        item_arrival=[-10.0, -3.0, 2.0, 3.0, 5.0, 4.0],
        item_live_at_start=[True, True, False, False, False, False],
    )


def test_new_item_exposure(new_items_log: StepLog) -> None:
    log = new_items_log
    # arrived items: 3, 4, 6. First impressions: 3 at t=3 (age 1; its t=4 row comes first in the log but is later),
    # 4 at t=3 (age 0); 6 never shown -> mean (1 + 0) / 2 and 2 of 3 shown
    assert new_item_first_impression(log) == pytest.approx(0.5)
    assert new_item_shown_share(log) == pytest.approx(2 / 3)
    # first clicks: 4 at age 1, 3 at age 2 -> 1.5; 2 of the 3 clicked
    assert new_item_first_click(log) == pytest.approx(1.5)
    assert new_item_clicked_share(log) == pytest.approx(2 / 3)


def test_new_items_none_arrived() -> None:
    log = StepLog.build([[1, 2]], item_ids=[1, 2], item_arrival=[0.0, 0.0])
    for f in (new_item_first_impression, new_item_first_click, new_item_shown_share, new_item_clicked_share):
        assert math.isnan(f(log))


def test_temporal_novelty(new_items_log: StepLog) -> None:
    # user 0: 1, 2 | 4, 3 | 3 (seen)          -> 5 impressions, 4 new
    # user 1: 3, 1 | 4, 3 (3 seen)           -> 4 impressions, 3 new   => 7 / 9
    assert temporal_novelty(new_items_log) == pytest.approx(7 / 9)


def _drift_log() -> StepLog:
    # K = 2, so precision is 0, .5 or 1 per step; "S" marks shifted steps. Users' steps are interleaved by time.
    # user 0: 1 1 .5 1 S0 0 .5 1 1 1 1
    #   pre = mean(1 1 .5 1) = .875, target .7875. Rolling (last 5 since the shift): 0, 0, .167, .375, .5,
    #   then [0 .5 1 1 1] = .7, then [.5 1 1 1 1] = .9 -> recovered at step 7.
    # user 1: 1 1 S0 1 1 S.5 .5
    #   first shift has only 2 steps before -> skipped; second: pre = mean(1 1 0 1 1) = .8, target .72;
    #   rolling .5, .5, then the steps run out -> censored.
    # user 2: 1 1 1 S0 0 S1 1
    #   first: pre 1, target .9; 0, 0, then u's next shift comes -> censored.
    #   second: pre = mean(1 1 1 0 0) = .6, target .54; rolling 1 -> recovered at step 1.
    return _seq_log(
        {
            0: ([1, 1, 0.5, 1, 0, 0, 0.5, 1, 1, 1, 1], {4}),
            1: ([1, 1, 0, 1, 1, 0.5, 0.5], {2, 5}),
            2: ([1, 1, 1, 0, 0, 1, 1], {3, 5}),
        }
    )


def _seq_log(seqs: dict[int, tuple[list[float], set[int]]]) -> StepLog:
    """K = 2 log from {user: (precision per step, shifted step indices)}, users' steps interleaved by time."""
    rows: list[tuple[int, int, float, bool]] = []  # (time, user, precision, shifted)
    for t in range(max(len(prec) for prec, _ in seqs.values())):
        for u, (prec, shifts) in seqs.items():
            if t < len(prec):
                rows.append((t, u, prec[t], t in shifts))
    n = len(rows)
    p = np.array([r[2] for r in rows])
    relevant = np.stack([p >= 0.5, p >= 1.0], axis=1)  # (S, 2): precision .5 -> one relevant slot
    return StepLog.build(
        np.tile([7, 8], (n, 1)),
        time=[r[0] for r in rows],
        user_id=[r[1] for r in rows],
        slate_relevant=relevant,
        shifted=[r[3] for r in rows],
    )


def test_drift_recovery() -> None:
    log = _drift_log()
    # events: user 0 -> 7, user 1 -> censored (50), user 2 -> censored (50) and 1: mean 108/4 = 27, 2 of 4 censored
    assert drift_recovery(log) == pytest.approx((27.0, 0.5, 4))
    # the median of the same steps: 1 7 50 50 -> (7 + 50) / 2
    assert drift_recovery_stats(log).median == pytest.approx(28.5)


def test_drift_recovery_parameters() -> None:
    log = _drift_log()
    # cap 6: user 0 has not recovered by step 6 -> censored at 6: (6 + 6 + 6 + 1) / 4, 3 of 4 censored
    assert drift_recovery(log, cap=6) == pytest.approx((4.75, 0.75, 4))
    assert drift_recovery_stats(log, cap=6).median == pytest.approx(6.0)  # 1 6 6 6
    # user 0 with pre_window 2: pre = mean(.5 1) = .75, target .675 -> the .7 at step 6 recovers
    # (user 1: pre = mean(1 1), target .9 -> censored; user 2: first pre 1 -> censored, second mean(0 0) = 0 ->
    # not measured, counted in no_pre)
    assert drift_recovery(log, pre_window=2) == pytest.approx(((6 + 50 + 50) / 3, 2 / 3, 3))
    assert drift_recovery_stats(log, pre_window=2).no_pre == 1
    assert drift_recovery_stats(log, pre_window=2).median == pytest.approx(50.0)  # 6 50 50: over half censored
    # user 0 with roll 2: 0, 0, .25, .75, then [1 1] = 1 >= .7875 -> step 5
    assert drift_recovery(log, roll=2)[0] == pytest.approx((5 + 50 + 50 + 1) / 4)


def test_drift_recovery_no_events() -> None:
    steps, censored, events = drift_recovery(StepLog.build([[1, 2], [3, 4]]))
    assert math.isnan(steps) and math.isnan(censored) and events == 0
    stats = drift_recovery_stats(StepLog.build([[1, 2], [3, 4]]))
    assert stats.no_pre == 0 and math.isnan(stats.median)


def test_drift_recovery_zero_pre_level_is_not_measured() -> None:
    # user 0: 0 0 0 S0 0 1 -> pre 0: any rolling mean "reaches" 0.9 * 0 at step 1, so the event is not measured
    #   (the old definition scored it as an instant recovery: (1 + 3) / 2 = 2 over 2 events)
    # user 1: 1 .5 .5 S0 1 1 -> pre 2/3, target .6; rolling 0, .5, .667 -> recovered at step 3
    log = _seq_log({0: ([0, 0, 0, 0, 0, 1], {3}), 1: ([1, 0.5, 0.5, 0, 1, 1], {3})})
    assert drift_recovery(log) == pytest.approx((3.0, 0.0, 1))
    assert drift_recovery_stats(log) == pytest.approx(DriftRecovery(3.0, 0.0, 1, 1, 3.0))
    out = summarize(log)
    assert (out["drift_recovery_steps"], out["drift_recovery_censored"]) == pytest.approx((3.0, 0.0))
    assert (out["drift_events"], out["drift_events_no_pre"]) == (1.0, 1.0)
    # only zero-level events: nothing measured (NaN), all counted as no_pre
    only = _seq_log({0: ([0, 0, 0, 0, 1], {3}), 1: ([0, 0, 0, 1], {3})})
    stats = drift_recovery_stats(only)
    assert math.isnan(stats.steps) and math.isnan(stats.censored) and math.isnan(stats.median)
    assert (stats.events, stats.no_pre) == (0, 2)
    # an unmeasured shift still ends the walk of the user's previous event. 1 1 1 S0 0 0 S1 1 with pre_window 3:
    # first pre 1, rolling 0 0 0 until the second shift -> censored (50); second pre mean(0 0 0) = 0 -> no_pre
    chained = _seq_log({0: ([1, 1, 1, 0, 0, 0, 1, 1], {3, 6})})
    assert drift_recovery_stats(chained, pre_window=3) == pytest.approx(DriftRecovery(50.0, 1.0, 1, 1, 50.0))
    # the cut-off matters: relevant items only in the second slot give pre .5 at k = 2 but 0 at k = 1
    second = StepLog.build(
        np.tile([7, 8], (5, 1)),
        time=[0, 1, 2, 3, 4],
        slate_relevant=[[False, True]] * 3 + [[False, False], [True, True]],
        shifted=[False, False, False, True, False],
    )
    assert drift_recovery_stats(second) == pytest.approx(DriftRecovery(2.0, 0.0, 1, 0, 2.0))  # rolling 0, .5 >= .45
    assert drift_recovery_stats(second, k=1).no_pre == 1


def test_item_table_order_does_not_matter(new_items_log: StepLog) -> None:
    # the same table listed in another order (build sorts it by id)
    shuffled = dataclasses.replace(
        StepLog.build(
            new_items_log.slate_item_ids,
            item_ids=[6, 3, 5, 1, 4, 2],
            item_arrival=[4.0, 2.0, 5.0, -10.0, 3.0, -3.0],
            item_live_at_start=[False, False, False, True, False, True],
        ),
        time=new_items_log.time,
        user_id=new_items_log.user_id,
        slate_age=new_items_log.slate_age,
        clicked_position=new_items_log.clicked_position,
        clicked_item_id=new_items_log.clicked_item_id,
    )
    np.testing.assert_array_equal(shuffled.item_ids, [1, 2, 3, 4, 5, 6])
    assert new_item_first_impression(shuffled) == pytest.approx(0.5)
    assert new_item_clicked_share(shuffled) == pytest.approx(2 / 3)


def test_temporal_novelty_with_huge_ids(new_items_log: StepLog) -> None:
    # ids near the int64 limit cannot share one combined key; the rank fallback gives the same 7/9
    big = 2**62
    huge = dataclasses.replace(
        new_items_log,
        user_id=new_items_log.user_id + big,
        slate_item_ids=np.where(new_items_log.slate_item_ids >= 0, new_items_log.slate_item_ids + big, -1),
    )
    assert temporal_novelty(huge) == pytest.approx(7 / 9)
