"""The PPO issue's quality goals, checked on a harness report: per-seed paired ratios with 95% intervals.

    python -m freshrec.experiments.ppo_goals runs/demo/report/results.json [--agent ppo]

Every agent in a harness run meets the same burned-in world on each held-out seed, so each goal is
computed per seed (agent against baseline on that world) and summarised as mean ± 95% CI (Student
t) over seeds. "Best CF/SVD" is, per metric, the best of item-kNN, user-kNN, SVD and SVD fold-in by
their mean over seeds. recall@K is at the slate size K (5 here; the world shows five items).
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from freshrec.experiments.evaluate import mean_ci

CF_SVD = ("item-knn", "user-knn", "svd", "svd-fold-in")


def goals(table: dict[str, dict[str, dict[str, Any]]], agent: str, k: int = 5) -> list[dict[str, Any]]:
    """One row per goal: what, the per-seed values' mean and CI, the target, and whether the mean meets it."""

    def vals(name: str, key: str) -> np.ndarray:
        return np.asarray(table[name][key]["values"], float)

    def best(key: str, higher: bool = True) -> str:
        means = {a: float(np.nanmean(vals(a, key))) for a in CF_SVD if a in table}
        return (max if higher else min)(means, key=means.__getitem__)

    rows = []

    def add(goal: str, per_seed: np.ndarray, target: float, higher: bool = True) -> None:
        m, h = mean_ci(list(per_seed))
        met = (m >= target) if higher else (m <= target)
        # The whole interval on the right side of the target: met with 95% confidence, not just on average.
        clears = (m - h >= target) if higher else (m + h <= target)
        rows.append({"goal": goal, "mean": m, "ci95": h, "target": target, "higher": higher,
                     "met": bool(met) and not math.isnan(m), "clears": bool(clears) and not math.isnan(h)})  # fmt: skip

    b = best("return")
    add(f"return / best CF-SVD ({b})", vals(agent, "return") / vals(b, "return"), 1.5)
    b = best(f"recall@{k}")
    add(f"recall@{k} / best CF-SVD ({b})", vals(agent, f"recall@{k}") / vals(b, f"recall@{k}"), 1.3)
    b = best("drift_recovery_steps", higher=False)
    add(f"drift recovery / best CF-SVD ({b})", vals(agent, "drift_recovery_steps") / vals(b, "drift_recovery_steps"),
        1 / 3, higher=False)  # fmt: skip
    b = best("new_item_first_click", higher=False)
    add(f"new items' first click (ticks), minus best CF-SVD ({b})",
        vals(agent, "new_item_first_click") - vals(b, "new_item_first_click"), 0.0, higher=False)  # fmt: skip
    if "sequence-transformer" in table:
        add("return / sequence-transformer", vals(agent, "return") / vals("sequence-transformer", "return"), 1.15)
    if "random" in table and "myopic-oracle" in table:
        r, o = vals("random", "return"), vals("myopic-oracle", "return")
        add("(return - random) / (oracle - random)", (vals(agent, "return") - r) / (o - r), 0.9)
    return rows


def main(argv: list[str] | None = None) -> dict[str, list[dict[str, Any]]]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", type=Path, help="a harness results.json")
    parser.add_argument("--agent", default="ppo", help="the agent to check")
    args = parser.parse_args(argv)
    results = json.loads(args.results.read_text())["results"]
    out = {}
    for env_id, table in results.items():
        if args.agent not in table:
            continue
        rows = goals(table, args.agent)
        out[env_id] = rows
        print(f"### {env_id}: {args.agent}\n")
        print("| goal | per-seed mean ± 95% CI | target | mean meets it | whole CI meets it |\n|---|---|---|---|---|")
        for r in rows:
            op = ">=" if r["higher"] else "<="
            yes = {True: "yes", False: "no"}
            print(
                f"| {r['goal']} | {r['mean']:.3g} ± {r['ci95']:.2g} | {op} {r['target']:.3g} | {yes[r['met']]} | {yes[r['clears']]} |"
            )
        print()
    return out


if __name__ == "__main__":
    main()
