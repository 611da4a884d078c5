"""Leave-one-out full-ranking evaluation: each user's next item ranked against the whole catalog."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
from tqdm import tqdm

from freshrec.agents.sequence.base import Recommender
from freshrec.envs.metrics import ranking as metrics
from freshrec.simulators.data.sequences import LeaveOneOutSplit


@dataclass
class EvalResult:
    """Metrics of one model on one split ("valid" or "test"); see docs/results-json.md."""

    model: str
    split: str
    users: int
    exclude_seen: bool
    metrics: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """(U, min(k, columns)) item codes of the highest scores per row, best first."""
    k = min(k, scores.shape[1])
    top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1, kind="stable")
    return np.take_along_axis(top, order, axis=1)


def evaluate(
    model: Recommender,
    split: LeaveOneOutSplit,
    which: str = "test",
    ks: Sequence[int] = (10, 20),
    exclude_seen: bool = True,
    item_text_vectors: np.ndarray | None = None,
    users: np.ndarray | None = None,
    batch_size: int = 512,
    progress: bool = False,
) -> EvalResult:
    """Rank every user's ``which`` target among all items and compute HR/NDCG/MRR@k and list metrics.

    ``users`` restricts evaluation to a subset of ``split.valid_users`` (e.g. cold-item users).
    Already-seen items are excluded from the ranking unless ``exclude_seen`` is False.
    """
    if which not in ("valid", "test"):
        raise ValueError(f"which={which!r} must be 'valid' or 'test'")
    position = {u: i for i, u in enumerate(split.valid_users)}
    chosen = split.valid_users if users is None else np.asarray(users)
    targets_all = split.test_targets if which == "test" else split.valid_targets
    ranks = np.empty(len(chosen))
    list_batches: list[np.ndarray] = []
    num_items = 0
    steps = range(0, len(chosen), batch_size)
    for start in tqdm(steps, desc=f"ranking {model.name}", disable=not progress, leave=False):
        batch_users = chosen[start : start + batch_size]
        histories = [split.test_history(u) if which == "test" else split.valid_history(u) for u in batch_users]
        scores = model.score_histories(histories).astype(np.float64, copy=True)
        num_items = scores.shape[1] - 1
        targets = targets_all[[position[u] for u in batch_users]]
        if exclude_seen:
            for row, history in enumerate(histories):
                seen = history[history != targets[row]]  # a repeat of the target is a fair answer
                scores[row, seen] = -np.inf
        ranks[start : start + len(batch_users)] = metrics.target_ranks(scores, targets)
        list_batches.append(top_k(scores[:, 1:], max(ks)) + 1)  # column 0 is padding
    lists = np.concatenate(list_batches) if list_batches else np.zeros((0, 1), dtype=np.int64)
    train_counts = np.zeros(1 + num_items, dtype=np.float64)  # users who had each item in training
    for seq in split.train:
        np.add.at(train_counts, np.unique(seq), 1.0)
    result = EvalResult(model.name, which, len(chosen), exclude_seen)
    for k in ks:
        result.metrics[f"HR@{k}"] = metrics.hit_rate(ranks, k)
        result.metrics[f"NDCG@{k}"] = metrics.ndcg(ranks, k)
        result.metrics[f"MRR@{k}"] = metrics.mrr(ranks, k)
        result.metrics[f"coverage@{k}"] = metrics.catalog_coverage(lists[:, :k], num_items)
        result.metrics[f"novelty@{k}"] = metrics.novelty(lists[:, :k], train_counts, len(split.sequences))
        if item_text_vectors is not None:
            result.metrics[f"diversity@{k}"] = metrics.intra_list_diversity(lists[:, :k], item_text_vectors)
    return result
