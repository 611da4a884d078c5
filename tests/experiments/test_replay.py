"""The time-ordered replay: a hand-worked log, the split and availability rules, every scorer, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from freshrec.experiments.replay import ReplayConfig, bootstrap_ci, log_summary, main, replay
from freshrec.experiments.replay_log import ReplayLog, ScorerOptions
from freshrec.experiments.replay_scorers import (
    NEEDS_MODEL,
    SCORERS,
    ItemKNN,
    MarkovChain,
    MostPopular,
    SVDBatch,
    SVDFoldIn,
    make_scorers,
)
from freshrec.experiments.replay_sequence import TransformerFrozen, TransformerPerEvent
from freshrec.simulators.data.loaders import load_dataset

DAY = 86_400.0
FAST = ScorerOptions(encoder="hashing:64", transformer_epochs=1, svd_rank=4, svd_refit_every=50)


def hand_log() -> ReplayLog:
    """3 users, 5 items (item 4 never occurs), one event a day; cut_fraction 0.6 keeps 6 train events.

    event  0  1  2  3  4  5 | 6  7  8  9
    user   0  1  1  2  2  2 | 0  1  0  1
    item   0  0  1  2  0  1 | 1  3  3  2      item 3 first occurs in event 7: a miss for everybody there
    """
    users = np.array([0, 1, 1, 2, 2, 2, 0, 1, 0, 1])
    items = np.array([0, 0, 1, 2, 0, 1, 1, 3, 3, 2])
    return ReplayLog.from_events(users, items, np.arange(10) * DAY, 0.6, num_users=3, num_items=5)


def tiny_log() -> ReplayLog:
    dataset, _ = load_dataset("synthetic:tiny")  # 4,000 events, 60 users, 120 items
    return ReplayLog.from_dataset(dataset, 0.8)


class Fixed:
    """A scorer with one fixed preference order, to see what the replay removes from it."""

    name = "fixed"

    def __init__(self, scores: list[float]) -> None:
        self.values = np.array(scores)

    def fit(self, train: ReplayLog) -> None:
        pass

    def scores(self, user: int, now: float) -> np.ndarray:
        return self.values

    def observe(self, user: int, item: int, now: float) -> None:
        pass


def test_most_popular_on_the_hand_log() -> None:
    # Train counts: item0 3, item1 2, item2 1. Available before event 6: items 0, 1, 2 (first seen at days 0, 2, 3).
    # e6 (user 0, day 6, saw {0}): [1 (2), 2 (1)], target 1 at rank 0: NDCG 1; user 0's remaining test
    #    items {1, 3}: 1 of min(2, 2) -> recall 0.5; ages 6-2, 6-3 -> 3.5 days. Then item1 has 3 events.
    # e7 (user 1, saw {0, 1}): only item 2 is allowed, [2]; target 3 was never seen: miss; remaining {3, 2}:
    #    recall 1/2; age 7-3 = 4. Item 3 becomes available with 1 event.
    # e8 (user 0, saw {0, 1}): items 2 and 3 both have 1 event: the lower code first, [2, 3]; target 3 at
    #    rank 1: NDCG 1/log2(3); remaining {3}: recall 1/1; ages 8-3, 8-7 -> 3.
    # e9 (user 1, saw {0, 1, 3}): [2], target 2: NDCG 1, recall 1, age 9-3 = 6.
    result = replay(hand_log(), MostPopular(), k=2)
    np.testing.assert_array_equal(result.top, [[1, 2], [2, -1], [2, 3], [2, -1]])
    np.testing.assert_array_equal(result.hits, [True, False, True, True])
    np.testing.assert_allclose(result.ndcg, [1.0, 0.0, 1.0 / np.log2(3.0), 1.0])
    np.testing.assert_allclose(result.recall, [0.5, 0.5, 1.0, 1.0])
    np.testing.assert_allclose(result.age_days, [3.5, 4.0, 3.0, 6.0])
    summary = result.summary(bootstrap=100)
    assert summary["HR@2"] == 0.75 and summary["recall@2"] == 0.75 and summary["mean_age_days"] == 4.125
    assert summary["NDCG@2"] == pytest.approx((3.0 + 1.0 / np.log2(3.0)) / 4.0 - 0.25)


def test_markov_chain_on_the_hand_log() -> None:
    # Train transitions: user 1 0->1, user 2 2->0 and 0->1, so T[0, 1] = 2, T[2, 0] = 1.
    # e6 (user 0, last item 0): T[0] favours 1 -> [1, 2], hit at rank 0 (as most-popular); T[0, 1] = 3.
    # e7 (user 1, last 1): [2], miss; T[1, 3] = 1 is learnt from the revealed event.
    # e8 (user 0, last 1): T[1, 3] = 1 beats T[1, 2] = 0 -> [3, 2]: a hit at rank 0 where most-popular had rank 1.
    # e9 (user 1, last 3): [2], hit. Recall and ages are those of most-popular (same lists up to order).
    result = replay(hand_log(), MarkovChain(), k=2)
    np.testing.assert_array_equal(result.top, [[1, 2], [2, -1], [3, 2], [2, -1]])
    np.testing.assert_allclose(result.ndcg, [1.0, 0.0, 1.0, 1.0])
    np.testing.assert_allclose(result.recall, [0.5, 0.5, 1.0, 1.0])
    np.testing.assert_allclose(result.age_days, [3.5, 4.0, 3.0, 6.0])


def test_never_seen_and_already_seen_items_are_never_recommended() -> None:
    # preference 3 > 4 > 0 > 1 > 2: item 3 is unavailable at event 7 (its own first event), item 4 never occurs,
    # and item 0 (seen by users 0 and 1 in training) is always excluded
    result = replay(hand_log(), Fixed([0.3, 0.2, 0.1, 0.5, 0.4]), k=2)
    np.testing.assert_array_equal(result.top, [[1, 2], [2, -1], [3, 2], [2, -1]])
    np.testing.assert_array_equal(result.hits, [True, False, True, True])
    assert log_summary(hand_log())["share_test_events_on_never_seen_items"] == 0.25


def test_the_split_is_global_and_by_time() -> None:
    shuffled = np.random.default_rng(0).permutation(10)  # events handed over out of order
    log = ReplayLog.from_events(np.zeros(10, int), shuffled, shuffled.astype(float), 0.8, num_users=1)
    assert log.cut == 8 and len(log.train()) == 8
    np.testing.assert_array_equal(log.items, np.arange(10))  # sorted by time
    tiny = tiny_log()
    assert tiny.cut == int(0.8 * len(tiny))
    assert tiny.timestamps[: tiny.cut].max() <= tiny.timestamps[tiny.cut :].min()
    first = tiny.first_seen_index
    assert all(first[i] <= j for j, i in enumerate(tiny.items))


def test_item_knn_keeps_each_candidates_nearest_items() -> None:
    # Train users per item: 0 {0, 1, 2}, 1 {1, 2}, 2 {2}. Cosines: (0, 1) 2/sqrt(6), (0, 2) 1/sqrt(3),
    # (1, 2) 1/sqrt(2). With one neighbour, candidate 0 keeps item 1, candidate 1 keeps item 0, candidate 2
    # keeps item 1. User 0 (history {0}) votes only for candidate 1; after item 1 it also votes for 0 and 2.
    scorer = ItemKNN(neighbours=1)
    scorer.fit(hand_log().train())
    np.testing.assert_allclose(scorer.user_scores[0], [0, 2 / np.sqrt(6), 0, 0, 0], atol=1e-12)
    scorer.observe(0, 1, 6 * DAY)
    np.testing.assert_allclose(scorer.user_scores[0], [2 / np.sqrt(6), 2 / np.sqrt(6), 1 / np.sqrt(2), 0, 0])
    # ties in the primary score go to the more popular item: items 3, 4 (no events) rank below the rest
    ranked = np.argsort(-scorer.scores(0, 6 * DAY), kind="stable")
    np.testing.assert_array_equal(ranked, [0, 1, 2, 3, 4])


@pytest.mark.parametrize("name", [n for n in SCORERS if n not in NEEDS_MODEL])  # ppo: test_replay_ppo.py
def test_every_scorer_gives_finite_scores_of_the_right_shape(name: str) -> None:
    tiny = tiny_log()
    cold = tiny.num_users  # one more user, without any event: scorers must cope with a user they never saw
    log = ReplayLog.from_events(tiny.users, tiny.items, tiny.timestamps, 0.8, item_texts=tiny.item_texts,
                                num_users=cold + 1, num_items=tiny.num_items)  # fmt: skip
    (scorer,) = make_scorers([name], FAST)
    scorer.fit(log.train())
    for j in range(log.cut, log.cut + 60):  # a few revealed events, enough for one svd-batch refit
        user, item, now = int(log.users[j]), int(log.items[j]), float(log.timestamps[j])
        scores = scorer.scores(user, now)
        assert scores.shape == (log.num_items,) and np.isfinite(scores).all()
        scorer.observe(user, item, now)
    assert np.isfinite(scorer.scores(cold, float(log.timestamps[-1]))).all()


def test_svd_fold_in_equals_the_batch_fit_at_the_cut_and_then_moves() -> None:
    log = tiny_log()
    batch, fold_in = make_scorers(["svd-batch", "svd-fold-in"], FAST)
    train = log.train()
    batch.fit(train)
    fold_in.fit(train)
    assert isinstance(batch, SVDBatch) and isinstance(fold_in, SVDFoldIn)
    user = int(train.users[-1])
    # U·S = X·V for the fitted matrix, so folding a train user's history in gives the fit's own vector
    np.testing.assert_allclose(batch.user_factors[user], fold_in.user_factors[user], atol=1e-9)
    np.testing.assert_array_equal(np.argsort(-batch.scores(user, 0.0)), np.argsort(-fold_in.scores(user, 0.0)))
    before = batch.user_factors[user].copy()
    new_item = int(np.flatnonzero(~np.isin(np.arange(log.num_items), train.items[train.users == user]))[0])
    for scorer in (batch, fold_in):
        scorer.observe(user, new_item, 0.0)
    np.testing.assert_array_equal(batch.user_factors[user], before)  # no refit yet: a stale vector
    np.testing.assert_allclose(fold_in.user_factors[user], before + fold_in.item_factors[new_item], atol=1e-9)


def test_transformer_variants_agree_at_the_cut_then_only_per_event_moves() -> None:
    log = tiny_log()
    frozen, per_event = make_scorers(["transformer-frozen", "transformer-per-event"], FAST)
    train = log.train()
    frozen.fit(train)
    per_event.fit(train)
    assert isinstance(frozen, TransformerFrozen) and isinstance(per_event, TransformerPerEvent)
    assert frozen.model is per_event.model  # trained once for both
    user = int(train.users[-1])  # the unpadded per-event state equals the padded, batched one
    np.testing.assert_allclose(per_event.scores(user, 0.0), frozen.scores(user, 0.0), rtol=1e-4, atol=1e-4)
    before = frozen.scores(user, 0.0)
    for scorer in (frozen, per_event):
        scorer.observe(user, 0, 0.0)
    np.testing.assert_array_equal(frozen.scores(user, 0.0), before)
    assert not np.allclose(per_event.scores(user, 0.0), before, atol=1e-4)


def test_the_command_line_replays_every_scorer_and_writes_the_result_file(tmp_path: Path) -> None:
    out = tmp_path / "replay.json"
    argv = ["--dataset", "synthetic:tiny", "--encoder", "hashing:64", "--transformer-epochs", "1",
            "--svd-rank", "4", "--bootstrap", "50", "--out", str(out), "--no-progress"]  # fmt: skip
    document = main(argv)
    assert json.loads(out.read_text()) == json.loads(json.dumps(document))
    assert set(document["results"]) == set(SCORERS) - set(NEEDS_MODEL)
    ceiling = 1.0 - document["log"]["share_test_events_on_never_seen_items"]
    for row in document["results"].values():
        low, high = row["HR@10_ci95"]
        assert 0.0 <= low <= row["HR@10"] <= high <= ceiling
    assert document["log"]["test_events"] == 800


def test_bootstrap_interval_collapses_when_every_user_agrees() -> None:
    users = np.array([0, 0, 1, 2, 2, 2])
    assert bootstrap_ci(np.ones(6), users, 200, seed=0) == (1.0, 1.0)
    low, high = bootstrap_ci(np.array([1.0, 1, 0, 0, 0, 0]), users, 500, seed=0)
    assert 0.0 <= low < 2 / 6 < high <= 1.0


def test_bad_input_names_the_value_and_the_allowed_range(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ValueError, match=r"unknown scorer\(s\) \['nope'\].*most-popular"):
        ReplayConfig(scorers=("markov", "nope"))
    for bad in (0.0, 1.0, 1.5):
        with pytest.raises(ValueError, match=rf"cut_fraction = {bad}: must be in the open interval \(0, 1\)"):
            ReplayConfig(cut_fraction=bad)
    with pytest.raises(ValueError, match=r"cut_fraction = 1.0"):
        ReplayLog.from_events(np.zeros(3, int), np.arange(3), np.arange(3.0), 1.0)
    with pytest.raises(ValueError, match=r"svd_rank = 0: must be >= 1"):
        ReplayConfig(svd_rank=0)
    with pytest.raises(ValueError, match=r"fixed: scores must be 5 finite numbers, got shape \(4,\)"):
        replay(hand_log(), Fixed([1.0, 2.0, 3.0, 4.0]))
    with pytest.raises(SystemExit) as stop:  # on the command line: argparse's usage error, not a traceback
        main(["--scorers", "nope", "--no-progress"])
    assert stop.value.code == 2 and "error: unknown scorer(s) ['nope']" in capsys.readouterr().err
