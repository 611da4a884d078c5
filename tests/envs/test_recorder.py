"""The Recorder: single-env and vector-env infos give the same StepLog; buffers grow; the item table is tracked."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pytest

from freshrec.envs.metrics import Recorder, StepLog, ranking_recall, summarize

K = 2
EMPTY = np.zeros(0, np.int64)


def session_info(t: int, user: int, step: int, ids: list[int], click: int, shifted: bool = False) -> dict[str, Any]:
    """One session's part of a step info (single-env shapes), with values derived from the arguments."""
    slate = np.array(ids, np.int64)
    empty = slate < 0
    relevance = np.where(empty, 0.0, (slate % 3) / 2).astype(np.float32)  # 0, .5, 1 by id
    return {
        "time": np.int64(t),
        "user_id": np.int64(user),
        "session_id": np.int64(100 + user),
        "session_step": np.int64(step),
        "slate_item_ids": slate,
        "slate_topics": np.where(empty, -1, slate % 2),
        "slate_age": np.where(empty, 0.0, t + 0.5).astype(np.float32),
        "slate_click_prob": np.where(empty, 0.0, 0.25).astype(np.float32),
        "slate_relevance": relevance,
        "slate_relevant": relevance >= 0.5,
        "ideal_relevance": np.array([1.0, 0.5], np.float32),
        "num_relevant": np.int64(user + 1),
        "clicked_position": np.int64(click),
        "clicked_item_id": np.int64(slate[click] if click >= 0 else -1),
        "engagement": np.float32(1.5 if click >= 0 else 0.0),
        "repeated_positions": empty.copy(),
        "shifted": np.bool_(shifted),
    }


def world(t: int, arrived: list[int], retired: list[int]) -> dict[str, Any]:
    return {
        "world_time": np.int64(t + 1),
        "world_arrived_item_ids": np.array(arrived, np.int64),
        "world_retired_item_ids": np.array(retired, np.int64),
    }


# Three vector steps of two sessions: (session infos, world keys, rewards, terminated, truncated).
STEPS = [
    ([session_info(0, 0, 0, [10, 11], 0), session_info(0, 1, 0, [11, -1], -1)], world(0, [12], []), [1.0, 0.0],
     [False, False], [False, False]),
    ([session_info(1, 0, 1, [12, 10], 1), session_info(1, 1, 1, [12, 11], 0, True)], world(1, [], [10]), [0.5, 2.0],
     [True, False], [False, False]),
    ([session_info(2, 0, 0, [11, 12], -1), session_info(2, 1, 2, [13, 12], 1)], world(2, [13, 12], []), [0.0, 1.0],
     [False, False], [False, True]),
]  # fmt: skip
RESET = {
    "world_live_item_ids": np.array([10, 11], np.int64),
    "world_live_item_arrival": np.array([-5.0, 0.0]),
    "user_id": np.array([0, 1]),
    "session_id": np.array([100, 101]),
}


def record_vector(rec: Recorder) -> None:
    rec.record_reset(RESET)
    for infos, w, reward, term, trunc in STEPS:
        stacked = {key: np.stack([i[key] for i in infos]) for key in infos[0]}
        rec.record_step(stacked | w, np.array(reward), np.array(term), np.array(trunc))


def record_single(rec: Recorder) -> None:
    rec.record_reset({key: RESET[key] for key in ("world_live_item_ids", "world_live_item_arrival")})
    for infos, w, reward, term, trunc in STEPS:
        for n, info in enumerate(infos):
            # the world keys come once per world step; the other session's info reports no item events
            keys = w if n == 0 else world(int(w["world_time"]) - 1, [], [])
            rec.record_step(info | keys, reward[n], term[n], trunc[n])


def assert_logs_equal(a: StepLog, b: StepLog) -> None:
    for f in dataclasses.fields(StepLog):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, np.ndarray):
            assert x.dtype == y.dtype, f.name
            np.testing.assert_array_equal(x, y, err_msg=f.name)  # NaNs in the same places count as equal
        else:
            assert x == y, f.name


def test_vector_and_single_give_the_same_log() -> None:
    vec, single = Recorder(), Recorder()
    record_vector(vec)
    record_single(single)
    assert len(vec) == len(single) == 6
    assert_logs_equal(vec.to_log(), single.to_log())


def test_rows() -> None:
    rec = Recorder(new_age=7.0)
    record_vector(rec)
    log = rec.to_log()
    assert log.num_steps == 6 and log.slate_size == K and log.new_age == 7.0
    # rows go step by step, sessions in index order within a step
    np.testing.assert_array_equal(log.time, [0, 0, 1, 1, 2, 2])
    np.testing.assert_array_equal(log.user_id, [0, 1, 0, 1, 0, 1])
    np.testing.assert_array_equal(log.session_step, [0, 0, 1, 1, 0, 2])
    np.testing.assert_array_equal(log.slate_item_ids, [[10, 11], [11, -1], [12, 10], [12, 11], [11, 12], [13, 12]])
    np.testing.assert_array_equal(log.clicked_item_id, [10, -1, 10, 12, -1, 12])
    np.testing.assert_array_equal(log.repeated[1], [False, True])
    np.testing.assert_array_equal(log.shifted, [False, False, False, True, False, False])
    np.testing.assert_array_equal(log.reward, [1.0, 0.0, 0.5, 2.0, 0.0, 1.0])
    np.testing.assert_array_equal(log.terminated, [False, False, True, False, False, False])
    np.testing.assert_array_equal(log.truncated, [False] * 5 + [True])
    np.testing.assert_array_equal(log.slate_age[2], [1.5, 1.5])
    assert log.slate_age.dtype == np.float32 and log.reward.dtype == np.float64 and log.shifted.dtype == np.bool_


def test_item_table() -> None:
    rec = Recorder()
    record_vector(rec)
    log = rec.to_log()
    # 10, 11 live at reset (-5, 0); 12 arrives in step 0 (world_time 1) and again in step 2 (ignored: first
    # sighting wins); 13 arrives in step 2 (world_time 3); 10 retires in step 1 (world_time 2)
    np.testing.assert_array_equal(log.item_ids, [10, 11, 12, 13])
    np.testing.assert_array_equal(log.item_arrival, [-5.0, 0.0, 1.0, 3.0])
    np.testing.assert_array_equal(log.item_live_at_start, [True, True, False, False])
    np.testing.assert_array_equal(log.item_retired, [2.0, np.nan, np.nan, np.nan])
    # a later reset (a single env's next session) adds only items not seen before, as arrivals
    rec.record_reset({"world_live_item_ids": np.array([11, 14]), "world_live_item_arrival": np.array([0.0, 2.5])})
    log = rec.to_log()
    np.testing.assert_array_equal(log.item_ids, [10, 11, 12, 13, 14])
    np.testing.assert_array_equal(log.item_arrival, [-5.0, 0.0, 1.0, 3.0, 2.5])
    np.testing.assert_array_equal(log.item_live_at_start, [True, True, False, False, False])


def test_growth_past_capacity() -> None:
    small, big = Recorder(capacity=1), Recorder(capacity=1000)
    for rec in (small, big):
        for _ in range(3):  # 18 rows: single steps and vector steps both cross buffer boundaries
            record_single(rec)
            record_vector(rec)
    assert len(small) == len(big) == 36
    assert_logs_equal(small.to_log(), big.to_log())
    np.testing.assert_array_equal(small.to_log().time, np.tile([0, 0, 1, 1, 2, 2], 6))


def test_snapshot_is_independent_and_read_only() -> None:
    rec = Recorder(capacity=2)
    record_vector(rec)
    log = rec.to_log()
    record_vector(rec)  # more rows, more buffers
    assert log.num_steps == 6 and len(rec) == 12
    np.testing.assert_array_equal(log.user_id, [0, 1, 0, 1, 0, 1])
    with pytest.raises(ValueError, match="read-only"):
        log.reward[0] = 5.0


def test_summary_and_empty_recorder() -> None:
    rec = Recorder(new_age=1.0)
    empty = rec.summary()
    assert rec.to_log().num_steps == 0 and math.isnan(empty["ctr"]) and empty["drift_events"] == 0.0
    record_vector(rec)
    out = rec.summary()
    assert out == pytest.approx(summarize(rec.to_log()), nan_ok=True)
    # ages 0.5 (t=0) count as fresh under new_age 1, 1.5 and 2.5 do not: 3 non-empty items at t=0 of 11
    assert out["fresh_share@2"] == pytest.approx(3 / 11)
    assert "precision@1" in rec.summary(k=1)


def test_bad_shape() -> None:
    info = session_info(0, 0, 0, [1, 2], -1) | {"slate_item_ids": np.zeros((1, 1, 2), np.int64)}
    with pytest.raises(ValueError, match=r"\(K,\) or \(N, K\)"):
        Recorder().record_step(info, 0.0, False, False)


def test_ranking_hits_and_ranking_recall() -> None:
    """A ranking is scored on info['candidate_relevance']: relevant (>= 0.5) candidates among its positions,
    each counted once; ranking_recall divides by num_relevant over the steps with a ranking."""
    rec = Recorder()
    infos, w, reward, term, trunc = STEPS[0]
    stacked = {key: np.stack([i[key] for i in infos]) for key in infos[0]} | w
    relevance = np.array([[0.9, 0.1, 0.5, 0.7], [0.0, 0.6, 0.2, 0.0]], np.float32)  # (N, M): 3 and 1 relevant
    info = stacked | {"candidate_relevance": relevance, "num_relevant": (relevance >= 0.5).sum(1)}
    rec.record_step(info, np.array(reward), np.array(term), np.array(trunc), ranking=np.array([[0, 1, 2], [2, 2, 1]]))
    rec.record_step(info, np.array(reward), np.array(term), np.array(trunc))  # no ranking: not counted
    log = rec.to_log()
    assert log.ranking_depth == 3
    assert log.ranked_hits.tolist() == [2, 1, -1, -1]  # row 1 repeats position 2 and still finds 1 of 1
    assert ranking_recall(log) == pytest.approx((2 / 3 + 1) / 2)  # recall@3 here
    with pytest.raises(ValueError, match="recorded 3 deep"):  # the summary's key promises 10
        summarize(log)
    with pytest.raises(ValueError, match="ranking depth 2"):
        rec.record_step(info, np.array(reward), np.array(term), np.array(trunc), ranking=np.array([[0, 1], [1, 2]]))
    with pytest.raises(ValueError, match="outside"):
        rec.record_step(info, np.array(reward), np.array(term), np.array(trunc), ranking=np.array([[0, 1, 4]] * 2))
    with pytest.raises(KeyError, match="candidate_relevance"):
        rec.record_step(stacked, np.array(reward), np.array(term), np.array(trunc), ranking=np.array([[0, 1, 2]] * 2))


def test_no_ranking_gives_nan_ranking_recall() -> None:
    rec = Recorder()
    record_vector(rec)
    log = rec.to_log()
    assert log.ranking_depth == 0 and (log.ranked_hits == -1).all()
    assert math.isnan(summarize(log)["ranking_recall@10"])
    built = StepLog.build([[1, 2]], num_relevant=[2], ranked_hits=[1], ranking_depth=10)
    assert summarize(built)["ranking_recall@10"] == 0.5
