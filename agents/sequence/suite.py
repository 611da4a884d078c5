"""The standard comparison: baselines and transformers on one split, written as one JSON document."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np

from freshrec.agents.sequence.base import Recommender
from freshrec.agents.sequence.leave_one_out import EvalResult, evaluate
from freshrec.simulators.data.sequences import LeaveOneOutSplit

COLD_ITEM_MAX_TRAIN = 5
TABLE_METRICS = ("HR@10", "NDCG@10", "MRR@10", "coverage@10", "novelty@10", "diversity@10")


def freshrec_version() -> str:
    """The installed distribution's version (``unknown`` when running from a bare checkout)."""
    try:
        return version("freshrec")
    except PackageNotFoundError:
        return "unknown"


def cold_target_users(split: LeaveOneOutSplit, max_train: int = COLD_ITEM_MAX_TRAIN) -> np.ndarray:
    """Users whose test item had at most ``max_train`` training interactions (the text side's turf)."""
    counts = np.bincount(np.concatenate(split.train), minlength=int(split.test_targets.max()) + 1)
    return split.valid_users[counts[split.test_targets] <= max_train]


@dataclass
class Suite:
    """All results of one evaluation run; ``to_json`` gives the documented shape."""

    dataset: dict[str, object]
    results: list[EvalResult] = field(default_factory=list)
    training: dict[str, dict[str, object]] = field(default_factory=dict)

    def run(
        self,
        models: list[Recommender],
        split: LeaveOneOutSplit,
        text_vectors: np.ndarray | None,
        unfiltered_too: bool = True,
        progress: bool = False,
    ) -> Suite:
        """Test every model: all users (seen items excluded, and optionally not), and cold-item users."""
        cold = cold_target_users(split)
        self.dataset["cold_item_users"] = len(cold)
        for model in models:
            self.results.append(evaluate(model, split, "test", item_text_vectors=text_vectors, progress=progress))
            if unfiltered_too:
                self.results.append(evaluate(model, split, "test", exclude_seen=False, item_text_vectors=text_vectors))
            cold_result = evaluate(model, split, "test", item_text_vectors=text_vectors, users=cold)
            cold_result.split = f"test:cold-item(<={COLD_ITEM_MAX_TRAIN})"
            self.results.append(cold_result)
        return self

    def find(self, model: str, split: str = "test", exclude_seen: bool = True) -> EvalResult:
        for result in self.results:
            if (result.model, result.split, result.exclude_seen) == (model, split, exclude_seen):
                return result
        raise KeyError(f"no result for model={model!r} split={split!r} exclude_seen={exclude_seen}")

    def table(self) -> str:
        """A fixed-width table of the main metrics, one row per (model, split, filter)."""
        header = f"{'model':<24}{'split':<20}{'seen':<9}" + "".join(f"{m:>14}" for m in TABLE_METRICS)
        rows = [header, "-" * len(header)]
        for r in self.results:
            cells = "".join(f"{r.metrics[m]:>14.4f}" if m in r.metrics else f"{'-':>14}" for m in TABLE_METRICS)
            rows.append(f"{r.model:<24}{r.split:<20}{'excluded' if r.exclude_seen else 'kept':<9}{cells}")
        return "\n".join(rows)

    def to_json(self) -> dict[str, object]:
        return {
            "format": "freshrec.evaluation/1",
            "freshrec_version": freshrec_version(),
            "protocol": {
                "split": "leave-one-out by time (last item test, previous item validation)",
                "ranking": "full catalog, no sampled negatives",
                "ties": "counted against the target",
            },
            "dataset": self.dataset,
            "results": [r.to_dict() for r in self.results],
            "training": self.training,
        }

    def write_json(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_json(), indent=2))
