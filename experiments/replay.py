"""A time-ordered replay of a logged data set (MovieLens-100k by default) for the recommenders of
``experiments/replay_scorers.py``.

Protocol. All events are sorted by time (ties keep file order) and cut once, globally: the first
``cut_fraction`` of events is the train part, the rest the test part. Each scorer is fitted on the
train part; then, for every test event in time order, it scores all items for that event's user;
the replay ranks the *available* items (those that appeared in an earlier event of the log: the
platform only knows items already in it) that this user has not interacted with yet (train or
revealed test events), ties broken by the lower item code, and keeps the top ``k``. Then the event
is revealed to the scorer (``observe``). An event on a never-seen item is a miss for every scorer.

Per test event: HR@k (the target is in the top k), NDCG@k (1 / log2(rank + 2) for a hit at 0-based
rank, single target), recall@k (|top k ∩ this user's remaining test items, this one included| /
min(k, their number)) and the mean age of the recommended items in days (now minus each item's
first-seen time). Figures are means over test events; the 95% interval of HR@k is a percentile
bootstrap over users (a user's events are correlated, so resampling events would be too narrow).

    python -m freshrec.experiments.replay [--dataset ml-100k] [--scorers most-popular,markov]
        [--out experiments/results/replay_ml100k.json] [--encoder minilm|hashing:64|none]
        [--ppo-models runs/<run0>/best_model.zip,runs/<run1>/best_model.zip]   # PPO trained on MovieLens100K-v0

Paths are relative to the working directory (run it from the repository root).

Order within a second matters: ml-100k has many events with the same timestamp (a user rating a
batch of films), and the replay keeps their file order. Sorting them by item code instead lifts the
Markov chain's HR@10 from 0.137 to 0.172, because the next item then leaks through the codes.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from freshrec.experiments.cli import parse_config
from freshrec.experiments.replay_log import ReplayLog, Scorer, ScorerOptions, check_cut_fraction
from freshrec.experiments.replay_scorers import NEEDS_MODEL, SCORERS, Shared, check_names, make_scorers
from freshrec.simulators.data.loaders import load_dataset

DAY = 86_400.0
# HR@10 measured earlier on the same 80/20 ml-100k replay (from the GitHub issue), printed beside ours
REFERENCE_HR10 = {
    "most-popular": 0.0754,
    "markov": 0.1369,
    "transformer-frozen": 0.0714,
    "transformer-per-event": 0.1803,
}


@dataclass
class ReplayResult:
    """Per-test-event outcomes of one scorer, in time order (m test events)."""

    scorer: str
    k: int
    users: np.ndarray  # (m,) user of each test event
    hits: np.ndarray  # (m,) bool: target in the top k
    ndcg: np.ndarray  # (m,)
    recall: np.ndarray  # (m,)
    age_days: np.ndarray  # (m,) mean age of the recommended items; NaN when nothing was available
    top: np.ndarray  # (m, k) recommended item codes, best first; -1 pads a list shorter than k
    fit_seconds: float = 0.0
    replay_seconds: float = 0.0

    def summary(self, bootstrap: int = 2000, seed: int = 0) -> dict[str, Any]:
        """Means over test events, HR@k's 95% bootstrap interval over users, and the timings."""
        k = self.k
        low, high = bootstrap_ci(self.hits.astype(np.float64), self.users, bootstrap, seed)
        return {
            f"HR@{k}": float(self.hits.mean()),
            f"HR@{k}_ci95": [low, high],
            f"NDCG@{k}": float(self.ndcg.mean()),
            f"recall@{k}": float(self.recall.mean()),
            "mean_age_days": float(np.nanmean(self.age_days)),
            "fit_seconds": round(self.fit_seconds, 2),
            "replay_seconds": round(self.replay_seconds, 2),
        }


def bootstrap_ci(
    values: np.ndarray, groups: np.ndarray, samples: int, seed: int, level: float = 0.95
) -> tuple[float, float]:
    """Percentile interval of the mean of ``values`` (m,), resampling whole ``groups`` (m,) with replacement."""
    _, inverse = np.unique(groups, return_inverse=True)
    sums = np.bincount(inverse, weights=values)  # (G,)
    counts = np.bincount(inverse).astype(np.float64)  # (G,) every group has >= 1 event
    rng = np.random.default_rng(seed)
    weights = rng.multinomial(len(sums), np.full(len(sums), 1.0 / len(sums)), size=samples)  # (B, G) draws per group
    means = (weights @ sums) / (weights @ counts)  # (B,)
    low, high = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return float(low), float(high)


def replay(log: ReplayLog, scorer: Scorer, k: int = 10, train: ReplayLog | None = None,
           progress: bool = False) -> ReplayResult:  # fmt: skip
    """Fit ``scorer`` on the train part of ``log``, then rank and reveal every test event in time order.

    Pass the same ``train`` (``log.train()``) to several calls so scorers sharing a trained model fit it once.
    """
    train = train if train is not None else log.train()
    began = time.perf_counter()
    scorer.fit(train)
    fit_seconds = time.perf_counter() - began
    num_items, cut = log.num_items, log.cut
    seen = np.zeros((log.num_users, num_items), dtype=bool)  # (U, I) what each user has interacted with
    seen[train.users, train.items] = True
    available = log.first_seen_index < cut  # (I,) items in the log before the current event
    # each user's test items in time order, and how many of them were already revealed (for recall)
    test_items: list[list[int]] = [[] for _ in range(log.num_users)]
    for user, item in zip(log.users[cut:].tolist(), log.items[cut:].tolist(), strict=True):
        test_items[user].append(item)
    revealed = np.zeros(log.num_users, dtype=np.int64)
    m = len(log) - cut
    hits, ndcg, recall = np.zeros(m, dtype=bool), np.zeros(m), np.zeros(m)
    age, top = np.full(m, np.nan), np.full((m, k), -1, dtype=np.int64)
    began = time.perf_counter()
    for row in tqdm(range(m), desc=scorer.name, unit="event", disable=not progress, mininterval=1.0):
        j = cut + row
        user, item, now = int(log.users[j]), int(log.items[j]), float(log.timestamps[j])
        scores = np.asarray(scorer.scores(user, now), dtype=np.float64)
        if scores.shape != (num_items,) or not np.isfinite(scores).all():
            raise ValueError(f"{scorer.name}: scores must be {num_items} finite numbers, got shape {scores.shape}")
        allowed = available & ~seen[user]  # (I,)
        ranked = np.argsort(-np.where(allowed, scores, -np.inf), kind="stable")[:k]  # stable: lower code wins ties
        shown = ranked[allowed[ranked]]  # fewer than k when fewer items are allowed
        top[row, : len(shown)] = shown
        where = np.flatnonzero(shown == item)
        if where.size:
            hits[row], ndcg[row] = True, 1.0 / np.log2(where[0] + 2.0)
        remaining = np.unique(test_items[user][revealed[user] :])  # this event's item included
        recall[row] = np.isin(shown, remaining).sum() / min(k, len(remaining))
        if len(shown):
            age[row] = float(np.mean(now - log.first_seen_time[shown])) / DAY
        scorer.observe(user, item, now)
        seen[user, item], available[item] = True, True
        revealed[user] += 1
    result = ReplayResult(scorer.name, k, log.users[cut:].copy(), hits, ndcg, recall, age, top)
    result.fit_seconds, result.replay_seconds = fit_seconds, time.perf_counter() - began
    return result


def log_summary(log: ReplayLog) -> dict[str, Any]:
    """What the split looks like; the never-seen share caps every scorer's HR at 1 minus it."""
    cut, n = log.cut, len(log)
    test_users, test_items = log.users[cut:], log.items[cut:]
    never_seen = log.first_seen_index[test_items] == np.arange(cut, n)  # the event is the item's first
    train_users = np.zeros(log.num_users, dtype=bool)
    train_users[log.users[:cut]] = True
    pairs = log.users * log.num_items + log.items  # (n,) one code per (user, item)
    _, first = np.unique(pairs, return_index=True)
    repeat = np.ones(n, dtype=bool)
    repeat[first] = False  # a repeat target is excluded as already seen: a miss for everybody too
    return {
        "events": n, "train_events": cut, "test_events": n - cut,
        "users": log.num_users, "items": log.num_items,
        "cut_time": float(log.timestamps[cut]),
        "test_users": int(np.unique(test_users).size),
        "test_users_without_train_events": int(np.unique(test_users[~train_users[test_users]]).size),
        "share_test_events_of_users_without_train_events": float(np.mean(~train_users[test_users])),
        "share_test_events_on_never_seen_items": float(never_seen.mean()),
        "share_test_events_repeating_a_seen_item": float(repeat[cut:].mean()),
        "items_available_at_cut": int((log.first_seen_index < cut).sum()),
    }  # fmt: skip


@dataclass(frozen=True)
class ReplayConfig:
    """What the replay runs. Every field is a command-line flag."""

    dataset: str = "ml-100k"
    """A data set name or path (see freshrec.simulators.data.loaders.load_dataset)."""
    scorers: tuple[str, ...] = tuple(n for n in SCORERS if n not in NEEDS_MODEL)
    """Scorers to replay (comma-separated names from experiments/replay_scorers.py SCORERS); ``ppo`` is added
    when ``ppo_models`` (``--ppo-models``) is given."""
    cut_fraction: float = 0.8
    """Share of events (in time order) in the train part; in (0, 1)."""
    k: int = 10
    """Length of the recommended list."""
    out: Path = Path("experiments/results/replay_ml100k.json")
    """Result file (JSON), relative to the working directory."""
    encoder: str = "minilm"
    """Transformer item text encoder: "minilm", "hashing:DIM", a model folder, or "none" (ID only)."""
    seed: int = 0
    """Seed of the transformer's training, the SVD solver and the bootstrap."""
    knn_neighbours: int = 50
    """item-knn: similarities kept per candidate item."""
    svd_rank: int = 32
    """svd-batch and svd-fold-in: rank of the truncated SVD."""
    svd_refit_every: int = 5_000
    """svd-batch: refit from all events so far after every this many revealed events."""
    transformer_epochs: int = 60
    """Transformer: at most this many training epochs (early stopping on NDCG@10 of its validation split
    carved from the train part, patience 10)."""
    transformer_seconds: float = 240.0
    """Transformer: stop training after the first epoch that ends past this many seconds."""
    ppo_models: tuple[str, ...] = ()
    """PPO models trained on freshrec/MovieLens100K-v0 (runs' best_model.zip, comma-separated, one per training
    seed): adds the ``ppo`` scorer, replayed once per model, and with several models their mean and 95% interval."""
    ppo_data: str = "ml-100k"
    """The data set the PPO model's world was calibrated on."""
    threads: int = 1
    """torch CPU threads. 1 by default: with 2, the PPO scorer fell from 290 to 8-13 events/s here while another
    process kept the second core busy."""
    bootstrap: int = 2000
    """Bootstrap resamples (over users) for HR@k's 95% interval."""
    progress: bool = True
    """Progress bars and the printed table."""

    def __post_init__(self) -> None:
        if self.ppo_models and "ppo" not in self.scorers:
            object.__setattr__(self, "scorers", (*self.scorers, "ppo"))
        check_names(self.scorers)
        if not self.scorers:
            raise ValueError(f"scorers = {self.scorers}: name at least one of {sorted(SCORERS)}")
        check_cut_fraction(self.cut_fraction)
        for name in ("k", "bootstrap", "threads"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} = {getattr(self, name)}: must be >= 1")
        self.options()  # validates the scorer fields

    def options(self) -> ScorerOptions:
        """The scorer hyperparameters among these fields."""
        mine = {f.name for f in fields(self)}
        options = ScorerOptions(**{f.name: getattr(self, f.name) for f in fields(ScorerOptions) if f.name in mine})
        return replace(options, ppo_model=self.ppo_models[0]) if self.ppo_models else options


def mean_over_models(rows: list[dict[str, Any]], k: int) -> dict[str, Any]:
    """Each metric's mean over models (training seeds), and HR@k's 95% Student-t interval over them."""
    from scipy import stats

    out: dict[str, Any] = {}
    for key in (f"HR@{k}", f"NDCG@{k}", f"recall@{k}", "mean_age_days"):
        out[key] = float(np.mean([r[key] for r in rows]))
    hr = np.array([r[f"HR@{k}"] for r in rows])
    half = float(stats.t.ppf(0.975, hr.size - 1) * hr.std(ddof=1) / np.sqrt(hr.size))
    out[f"HR@{k}_ci95"] = [out[f"HR@{k}"] - half, out[f"HR@{k}"] + half]
    out["models"] = len(rows)
    out["ci"] = "HR 95% interval: Student t over the models (training seeds)"
    return out


def markdown(results: dict[str, dict[str, Any]], k: int) -> str:
    """Our figures with the reference HR@k beside them (references exist for k = 10 only)."""
    lines = [
        f"| scorer | HR@{k} (95% CI) | reference HR@10 | NDCG@{k} | recall@{k} | mean age (days) |",
        "|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        low, high = r[f"HR@{k}_ci95"]
        ref = REFERENCE_HR10.get(name)
        lines.append(
            f"| {name} | {r[f'HR@{k}']:.4f} ({low:.4f}–{high:.4f}) | {'' if ref is None else f'{ref:.4f}'} "
            f"| {r[f'NDCG@{k}']:.4f} | {r[f'recall@{k}']:.4f} | {r['mean_age_days']:.1f} |"
        )
    return "\n".join(lines)


def jsonable(value: object) -> object:
    """A config value as JSON: tuples become lists, paths strings."""
    return list(value) if isinstance(value, tuple) else str(value) if isinstance(value, Path) else value


def run(cfg: ReplayConfig, argv: list[str] | None = None) -> dict[str, Any]:
    """Replay every scorer of ``cfg``, write ``cfg.out`` and return what was written."""
    began = time.perf_counter()
    torch.set_num_threads(cfg.threads)
    dataset, _ = load_dataset(cfg.dataset)
    log = ReplayLog.from_dataset(dataset, cfg.cut_fraction)
    train = log.train()
    shared = Shared(cfg.options(), progress=cfg.progress)
    results: dict[str, dict[str, Any]] = {}
    scorers = make_scorers([n for n in cfg.scorers if n != "ppo"], cfg.options(), shared)
    if "ppo" in cfg.scorers:  # one replay per trained model (training seed)
        for i, model in enumerate(cfg.ppo_models or ("",)):
            (ppo,) = make_scorers(["ppo"], replace(cfg.options(), ppo_model=model), shared)
            ppo.name = "ppo" if len(cfg.ppo_models) <= 1 else f"ppo[{i}]"
            scorers.append(ppo)
    for scorer in scorers:
        result = replay(log, scorer, cfg.k, train, progress=cfg.progress)
        results[scorer.name] = result.summary(cfg.bootstrap, cfg.seed)
        results[scorer.name]["reference_HR@10"] = REFERENCE_HR10.get(scorer.name)
    if len(cfg.ppo_models) > 1:
        results["ppo (mean over models)"] = mean_over_models(
            [results[f"ppo[{i}]"] for i in range(len(cfg.ppo_models))], cfg.k
        )
    document: dict[str, Any] = {
        "command": " ".join(["python -m freshrec.experiments.replay", *(sys.argv[1:] if argv is None else argv)]),
        "protocol": __doc__.split("\n\n")[1] if __doc__ else "",
        "ci": "HR 95% interval: percentile bootstrap over users",
        "config": {f.name: jsonable(getattr(cfg, f.name)) for f in fields(cfg)},
        "dataset": dataset.name,
        "log": log_summary(log),
        "results": results,
        "wall_seconds": round(time.perf_counter() - began, 1),
        "machine": {"cpus": os.cpu_count(), "torch_threads": torch.get_num_threads()},
    }
    if (training := shared.sequence_model.summary()) is not None:
        document["transformer_training"] = training
    cfg.out.parent.mkdir(parents=True, exist_ok=True)
    cfg.out.write_text(json.dumps(document, indent=1) + "\n")
    if cfg.progress:
        print(markdown(results, cfg.k))
        share = document["log"]["share_test_events_on_never_seen_items"]
        print(f"\n{share:.2%} of test events are on a never-seen item (a miss for every scorer); "
              f"{document['wall_seconds']:.0f} s in all; written to {cfg.out}")  # fmt: skip
    return document


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Command line entry point."""
    cfg = parse_config(ReplayConfig, argv, __doc__)
    return run(cfg, argv)


if __name__ == "__main__":
    main()
