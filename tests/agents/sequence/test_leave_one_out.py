"""The evaluator against a hand-written oracle recommender."""

from __future__ import annotations

import numpy as np
import pytest

from freshrec.agents.sequence.base import Recommender
from freshrec.agents.sequence.leave_one_out import evaluate, top_k
from freshrec.agents.sequence.popularity import MostPopular
from freshrec.agents.sequence.suite import Suite, cold_target_users
from freshrec.simulators.data.sequences import LeaveOneOutSplit


class FixedScores(Recommender):
    """Scores item i as ``weights[i]`` for every history."""

    name = "fixed"

    def __init__(self, weights: np.ndarray) -> None:
        self.weights = weights

    def score_histories(self, histories: list[np.ndarray]) -> np.ndarray:
        scores = np.tile(self.weights.astype(np.float64), (len(histories), 1))
        scores[:, 0] = -np.inf
        return scores


def make_split(sequences: list[np.ndarray]) -> LeaveOneOutSplit:
    from freshrec.simulators.data.records import Interactions
    from freshrec.simulators.data.sequences import leave_one_out

    users = np.concatenate([np.full(len(s), u) for u, s in enumerate(sequences)])
    items = np.concatenate(sequences) - 1
    table = Interactions(
        users=users,
        items=items,
        timestamps=np.arange(len(users), dtype=np.float64),
        kinds=np.zeros(len(users), dtype=np.uint8),
        values=np.full(len(users), np.nan, dtype=np.float32),
        user_ids=[f"u{u}" for u in range(len(sequences))],
        item_ids=[f"i{i}" for i in range(int(items.max()) + 1)],
    )
    return leave_one_out(table)


def test_excluding_seen_items_lifts_the_target() -> None:
    # one user: history [5, 4, 3], valid target 2, test target 1; items 5 > 4 > 3 > 2 > 1 by score
    split = make_split([np.array([5, 4, 3, 2, 1])])
    model = FixedScores(np.array([0, 1, 2, 3, 4, 5], dtype=float))
    kept = evaluate(model, split, "test", ks=(1, 5), exclude_seen=False)
    excluded = evaluate(model, split, "test", ks=(1, 5))
    # not excluded: target 1 is last of 5 -> rank 5; excluded: 5, 4, 3, 2 were all seen -> rank 1
    assert kept.metrics["HR@1"] == 0.0 and kept.metrics["MRR@5"] == pytest.approx(1 / 5)
    assert excluded.metrics["HR@1"] == 1.0 and excluded.metrics["NDCG@5"] == pytest.approx(1.0)


def test_validation_uses_history_before_the_validation_item() -> None:
    split = make_split([np.array([5, 4, 3, 2, 1])])
    model = FixedScores(np.array([0, 1, 2, 3, 4, 5], dtype=float))
    valid = evaluate(model, split, "valid", ks=(1,))
    # history for validation is [5, 4, 3]; target 2 is the best unseen item
    assert valid.metrics["HR@1"] == 1.0


def test_users_with_too_few_interactions_are_not_evaluated() -> None:
    split = make_split([np.array([1, 2, 3]), np.array([2, 3])])
    assert split.valid_users.tolist() == [0]
    assert evaluate(FixedScores(np.arange(4.0)), split).users == 1


def test_top_k_is_sorted_best_first() -> None:
    scores = np.array([[0.1, 0.9, 0.5, 0.7]])
    assert top_k(scores, 3).tolist() == [[1, 3, 2]]


def test_cold_target_users_selects_rarely_trained_test_items() -> None:
    # user 0's test item 9 is never trained; the others' test item 1 is trained 7 times (a repeat)
    sequences = [np.array([1, 2, 9])] + [np.array([1, 2, 3, 1]) for _ in range(7)]
    split = make_split(sequences)
    assert cold_target_users(split, max_train=5).tolist() == [0]


def test_suite_table_and_json_shape() -> None:
    split = make_split([np.array([1, 2, 3, 4]), np.array([2, 3, 4, 1]), np.array([4, 3, 2, 1])])
    suite = Suite({"name": "tiny"}).run([MostPopular.fit(split.train, 4)], split, None)
    document = suite.to_json()
    assert document["format"] == "freshrec.evaluation/1"
    results = document["results"]
    assert isinstance(results, list)
    splits = [(r["split"], r["exclude_seen"]) for r in results]
    assert splits == [("test", True), ("test", False), ("test:cold-item(<=5)", True)]
    assert "most-popular" in suite.table()
    assert suite.find("most-popular").metrics["HR@10"] == 1.0
