"""Replay on ml-100k: every strategy and baseline on the same stream, the issue's goals checked.

Trains the starting model on the first 80% of events (by time), replays the last 20% (20,000 events)
through static / fresh / online / online+trend, most popular, Markov and periodic retraining from
scratch (every 5,000 events), then prints the ratios the goals name and writes
``benchmarks/results/replay_ml100k.json`` (plus the replay's own JSON, table and plot next to it).

Usage::

    .venv/bin/python benchmarks/bench_replay.py [--retrain-every 5000] [--out benchmarks/results]
"""

from __future__ import annotations

import argparse
import json
import resource
from pathlib import Path
from typing import Any

from freshrec.data.loaders import load_dataset
from freshrec.replay.pipeline import ReplayConfig, run_replay
from freshrec.replay.report import table, write
from freshrec.training.pipeline import cached_encoder


def goals(result: dict[str, Any]) -> dict[str, Any]:
    s = result["strategies"]
    hr = {name: v["overall"]["HR@10"] for name, v in s.items()}
    engine_strategies = ["static", "fresh", "online", "online+trend"]
    best = max(engine_strategies, key=lambda n: hr[n])
    online = [n for n in ("online", "online+trend") if n in s]
    compute_best = s[best]["details"].get("train_seconds", 0.0)
    compute_retrain = s["retrain"]["details"]["train_seconds"]
    return {
        "fresh_vs_static_HR@10": hr["fresh"] / hr["static"],
        "online_vs_fresh_HR@10": hr["online"] / hr["fresh"],
        "best_strategy": best,
        "best_vs_markov_HR@10": hr[best] / hr["markov"],
        "best_vs_retrain_HR@10": hr[best] / hr["retrain"],
        "best_training_seconds": compute_best,
        "retrain_training_seconds": compute_retrain,
        "compute_ratio_best_over_retrain": compute_best / compute_retrain if compute_retrain else None,
        "events_per_second_with_online_trainer": {n: s[n]["events_per_second"] for n in online},
        "publish_interval_seconds_max": {n: s[n]["details"]["publish_interval_seconds_max"] for n in online},
        "swap_hold_ms_max": {n: s[n]["details"]["swap_hold_ms_max"] for n in online},
        "trainer_errors": {n: s[n]["details"]["errors"] for n in online},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--retrain-every", type=int, default=5000)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args()
    dataset, _ = load_dataset("ml-100k")
    result = run_replay(dataset, cached_encoder("minilm"), ReplayConfig(retrain_every=args.retrain_every))
    write(result, args.out / "replay_ml100k")
    checked = goals(result)
    summary = {"goals": checked, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
               "seconds": result["seconds"], "replay": "replay_ml100k/replay.json"}  # fmt: skip
    (args.out / "replay_ml100k.json").write_text(json.dumps(summary, indent=1))
    print("\n" + table(result) + "\n")
    print(json.dumps(checked, indent=1))


if __name__ == "__main__":
    main()
