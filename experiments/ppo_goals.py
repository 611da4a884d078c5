"""The PPO issue's quality goals, checked on a harness report: per-seed paired ratios with 95% intervals.

    python -m freshrec.experiments.ppo_goals runs/demo/report/results.json [--agent ppo]
    python -m freshrec.experiments.ppo_goals results.json --agent ppo-seed0,ppo-seed1,ppo-seed2  # + over seeds

Every agent in a harness run meets the same burned-in world on each held-out seed, so each goal is
computed per seed (agent against baseline on that world) and summarised as mean ± 95% CI (Student
t) over seeds. Drift recovery is checked twice: on the mean recovery steps, as every report gives it,
and on their median, the statistic the issue names (reports from before the median was recorded
have only the mean). "Best CF/SVD" is, per metric, the best of item-kNN, user-kNN, SVD and SVD fold-in by
their mean over seeds, every setting of them that the report holds included (``user-knn:fallback=ctr``,
``svd-fold-in:factors=32``: a goal against CF and SVD is against their best settings, not their defaults). The recall goal (recall@10) reads the agents' rankings: ``ranking_recall@10``,
recall of their top 10 candidates, of which the slate shows the first five; recall@K of the slate
itself (K = 5) is reported beside it. Reports written before rankings were recorded have only the
slate's. Each of these two goals (on the median, on the rankings' recall) is checked for all of one
table's agents or for none: when any agent asked for, or any CF/SVD baseline in the report, lacks
its key, it is left out for every agent, so that their rows pair up goal for goal. When the report
holds the ``public-ctr`` baseline (a ranking by smoothed public CTR, no learning), two rows that are
not the issue's goals follow: return and recall@10 against it, target 1.

With several agents (one per training seed) two last tables take each goal for the training recipe:

- over training seeds: every agent's mean over held-out seeds is one value, summarised as mean ±
  95% CI (Student t) over the agents, with how many of them meet the target on their own mean.
  That interval says whether the recipe, not one lucky run, meets a goal on these worlds; it holds
  the worlds fixed.
- over held-out worlds: on each world, the agents' mean value is one value, summarised as mean ±
  95% CI over the worlds. That interval counts the spread between worlds instead (with three
  worlds, t has 2 degrees of freedom and the interval is wide).
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from freshrec.envs.metrics.summary import RANKING_RECALL
from freshrec.experiments.cli import HelpFormatter
from freshrec.experiments.evaluate import mean_ci, nan_mean

CF_SVD = ("item-knn", "user-knn", "svd", "svd-fold-in")


def cf_svd(table: dict[str, Any]) -> list[str]:
    """The CF/SVD agents of ``table``: ``CF_SVD``'s names and their settings (``name:key=value...``), in
    ``CF_SVD``'s order (a tie for "best" goes to the first), then by name.

    >>> cf_svd({"svd": {}, "user-knn:fallback=ctr": {}, "ppo": {}, "svd-fold-in-x": {}, "item-knn": {}})
    ['item-knn', 'user-knn:fallback=ctr', 'svd']
    """
    found = [a for a in table if a.split(":")[0] in CF_SVD]
    return sorted(found, key=lambda a: (CF_SVD.index(a.split(":")[0]), a))


PUBLIC_CTR = "public-ctr"
"""The ranker by smoothed public CTR (``agents/simple.py``): no learning, and it beats CF/SVD here. When a report
holds it, the goals add the agent's return and recall@10 against it (target 1: at least as good)."""


def verdict(values: list[float], target: float, higher: bool) -> dict[str, Any]:
    """Mean and 95% CI of ``values``, whether the mean meets ``target`` and whether the whole interval does
    (met with 95% confidence, not just on average)."""
    m, h = mean_ci(values)
    met = (m >= target) if higher else (m <= target)
    clears = (m - h >= target) if higher else (m + h <= target)
    return {"mean": m, "ci95": h, "met": bool(met) and not math.isnan(m), "clears": bool(clears) and not math.isnan(h)}


OPTIONAL = (RANKING_RECALL, "drift_recovery_median")  # keys that reports written before they were recorded lack


def optional_goals(table: dict[str, dict[str, dict[str, Any]]], agents: list[str]) -> set[str]:
    """Which of the ``OPTIONAL`` keys every one of ``agents`` and every CF/SVD baseline in ``table`` holds (not all
    NaN), so that one table's agents are checked on the same goals and their rows pair up over training seeds."""

    def has(name: str, key: str) -> bool:
        return key in table[name] and not np.isnan(np.asarray(table[name][key]["values"], float)).all()

    return {key for key in OPTIONAL if all(has(a, key) for a in [*agents, *cf_svd(table)])}


def goals(
    table: dict[str, dict[str, dict[str, Any]]], agent: str, k: int = 5, optional: set[str] | None = None
) -> list[dict[str, Any]]:
    """One row per goal: what, the per-seed values' mean and CI, the target, and whether the mean meets it.

    ``optional``: which of the ``OPTIONAL`` goals to check; by default those ``agent`` and the baselines all have
    (``optional_goals``). ValueError if ``table`` holds none of the CF/SVD baselines the goals are set against.
    """
    if not cf_svd(table):
        raise ValueError(
            f"no CF/SVD baseline to set the goals against: needs one of {list(CF_SVD)}, has {sorted(table)}"
        )
    if optional is None:
        optional = optional_goals(table, [agent])

    def vals(name: str, key: str) -> np.ndarray:
        return np.asarray(table[name][key]["values"], float)

    def best(key: str, higher: bool = True) -> str:
        means = {a: nan_mean(vals(a, key)) for a in cf_svd(table)}
        return (max if higher else min)(means, key=means.__getitem__)

    rows = []

    def add(goal: str, per_seed: np.ndarray, target: float, higher: bool = True) -> None:
        rows.append(
            {"goal": goal, "target": target, "higher": higher, "values": [float(x) for x in per_seed],
             **verdict(list(per_seed), target, higher)}
        )  # fmt: skip

    b = best("return")
    add(f"return / best CF-SVD ({b})", vals(agent, "return") / vals(b, "return"), 1.5)
    if RANKING_RECALL in optional:
        b = best(RANKING_RECALL)
        add(f"{RANKING_RECALL} / best CF-SVD ({b})", vals(agent, RANKING_RECALL) / vals(b, RANKING_RECALL), 1.3)
    b = best(f"recall@{k}")
    add(f"recall@{k} / best CF-SVD ({b})", vals(agent, f"recall@{k}") / vals(b, f"recall@{k}"), 1.3)
    b = best("drift_recovery_steps", higher=False)
    add(f"drift recovery / best CF-SVD ({b})", vals(agent, "drift_recovery_steps") / vals(b, "drift_recovery_steps"),
        1 / 3, higher=False)  # fmt: skip
    if "drift_recovery_median" in optional:
        # The goal names the median; the mean above is what the reports have given since the baselines.
        b = best("drift_recovery_median", higher=False)
        add(f"median drift recovery / best CF-SVD ({b})",
            vals(agent, "drift_recovery_median") / vals(b, "drift_recovery_median"), 1 / 3, higher=False)  # fmt: skip
    b = best("new_item_first_click", higher=False)
    add(f"new items' first click (ticks), minus best CF-SVD ({b})",
        vals(agent, "new_item_first_click") - vals(b, "new_item_first_click"), 0.0, higher=False)  # fmt: skip
    if "sequence-transformer" in table:
        add("return / sequence-transformer", vals(agent, "return") / vals("sequence-transformer", "return"), 1.15)
    if "random" in table and "myopic-oracle" in table:
        r, o = vals("random", "return"), vals("myopic-oracle", "return")
        add("(return - random) / (oracle - random)", (vals(agent, "return") - r) / (o - r), 0.9)
    if PUBLIC_CTR in table:  # not one of the goals: the bar any learned agent should clear first
        add(f"return / {PUBLIC_CTR} (no learning; not an issue goal)",
            vals(agent, "return") / vals(PUBLIC_CTR, "return"), 1.0)  # fmt: skip
        if RANKING_RECALL in optional and RANKING_RECALL in table[PUBLIC_CTR]:
            add(f"{RANKING_RECALL} / {PUBLIC_CTR} (not an issue goal)",
                vals(agent, RANKING_RECALL) / vals(PUBLIC_CTR, RANKING_RECALL), 1.0)  # fmt: skip
    return rows


def _by_goal(per_agent: list[list[dict[str, Any]]]) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """Each goal of the first agent with every agent's row for it, paired by the goal's text; ValueError when the
    agents were not checked on the same goals (``goals`` called without one shared ``optional``)."""
    names = [[r["goal"] for r in rows] for rows in per_agent]
    if any(set(n) != set(names[0]) for n in names):
        raise ValueError(f"the agents were checked on different goals: {names}")
    return [
        (first, [next(r for r in rows if r["goal"] == first["goal"]) for rows in per_agent]) for first in per_agent[0]
    ]


def across_seeds(per_agent: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Each goal over training seeds, from ``goals``' rows of each agent (one agent per training seed): the
    agents' per-held-out-seed means are one value each, summarised as mean ± 95% CI over agents."""
    rows = []
    for first, same in _by_goal(per_agent):
        values = [r["mean"] for r in same]
        meeting = sum(bool(r["met"]) for r in same)
        rows.append(
            {**first, **verdict(values, first["target"], first["higher"]), "values": values, "agents_meeting": meeting}
        )
    return rows


def across_worlds(per_agent: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Each goal over held-out worlds, from ``goals``' rows of each agent (one agent per training seed): on each
    world the agents' mean is one value, summarised as mean ± 95% CI over the worlds."""
    rows = []
    for first, same in _by_goal(per_agent):
        per_world = np.mean([r["values"] for r in same], axis=0)  # (worlds,)
        values = [float(x) for x in per_world]
        rows.append({**first, **verdict(values, first["target"], first["higher"]), "values": values})
    return rows


def _print(title: str, rows: list[dict[str, Any]]) -> None:
    print(f"### {title}\n")
    print("| goal | mean ± 95% CI | target | mean meets it | whole CI meets it |\n|---|---|---|---|---|")
    yes = {True: "yes", False: "no"}
    for r in rows:
        op = ">=" if r["higher"] else "<="
        extra = f" ({r['agents_meeting']} of {len(r['values'])} seeds)" if "agents_meeting" in r else ""
        print(
            f"| {r['goal']} | {r['mean']:.3g} ± {r['ci95']:.2g} | {op} {r['target']:.3g} | {yes[r['met']]}{extra} | {yes[r['clears']]} |"
        )
    print()


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    parser.add_argument("results", type=Path, help="a harness results.json")
    parser.add_argument("--agent", default="ppo", help="the agent to check; comma-separated: one per training seed")
    parser.add_argument(
        "--defaults-only",
        action="store_true",
        help="best CF/SVD among their default settings only, leaving out the report's other settings of them "
        "(user-knn:fallback=ctr, ...): the goals as reported before settings counted",
    )
    args = parser.parse_args(argv)
    results = json.loads(args.results.read_text())["results"]
    agents = [a for a in args.agent.split(",") if a]
    if not agents:
        parser.error(f"--agent {args.agent!r} names no agent")
    out: dict[str, Any] = {}
    for env_id, table in results.items():
        if args.defaults_only:
            settings = set(cf_svd(table)) - set(CF_SVD)
            table = {a: v for a, v in table.items() if a not in settings}
        missing = [a for a in agents if a not in table]
        if missing:
            if len(missing) < len(agents):
                raise SystemExit(f"{args.results}: {env_id} lacks agents {missing} (it has {sorted(table)})")
            continue
        try:
            optional = optional_goals(table, agents)  # one set of goals for the table's agents, so rows pair up
            out[env_id] = {a: goals(table, a, optional=optional) for a in agents}
        except ValueError as e:
            raise SystemExit(f"{args.results}: {env_id}: {e}") from None
        for a in agents:
            _print(f"{env_id}: {a} (per held-out seed)", out[env_id][a])
        if len(agents) > 1:
            out[env_id]["across_seeds"] = across_seeds([out[env_id][a] for a in agents])
            _print(f"{env_id}: {', '.join(agents)} (over training seeds)", out[env_id]["across_seeds"])
            out[env_id]["across_worlds"] = across_worlds([out[env_id][a] for a in agents])
            _print(
                f"{env_id}: {', '.join(agents)} (over held-out worlds: the agents' mean on each)",
                out[env_id]["across_worlds"],
            )
    if not out:  # a typo, or the default "ppo" on a report whose PPO ran as ppo-<label>
        has = sorted({a for table in results.values() for a in table})
        raise SystemExit(f"{args.results}: no regime has agents {agents} (it has {has}); pick them with --agent")
    return out


if __name__ == "__main__":
    main()
