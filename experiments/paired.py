"""Two training recipes, run by run on the same held-out worlds: paired ratios with 95% intervals.

    python -m freshrec.experiments.paired A.json [A2.json ...] --agents ppo-warm-seed0,ppo-warm-seed1 \\
        --against B.json [B2.json ...] --baseline-agents ppo-seed0,ppo-seed1 [--metrics return,ctr,ranking_recall@10]

The i-th agent of ``--agents`` (in the harness reports ``A.json ...``) is paired with the i-th of
``--baseline-agents`` (in ``--against``, default the A reports themselves): usually the same
training seed under two settings. Several reports on one side are read as one (a harness run
split in parts, say), after the same check as between the sides. For each pair and metric the
ratio A / B is taken world by world (both met the same burned-in world on each held-out seed) and
averaged over the worlds; the table gives the mean ± 95% CI (Student t) of those per-pair ratios
over the pairs, how many pairs are above 1, and each pair's means. That is the "paired by training
seed" figure of docs/ppo-results.md.

Two reports can only be paired if they ran the same worlds: the same env id and held-out seeds,
and every agent that both reports hold and that is not being compared (the baselines a harness run
includes) must agree value for value on every metric asked for; otherwise it stops and says which.
An agent that plays a trained model is one agent only if both reports name the same model file for
it (the harness records ``--models`` in its report): two models under one name are left out of the
check, and listed, rather than read as different worlds.
Why not in ``ppo_goals``: the goals compare one recipe with fixed baselines; this compares two
recipes with each other, often from two harness runs.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from freshrec.experiments.cli import HelpFormatter
from freshrec.experiments.evaluate import mean_ci, nan_mean

Models = dict[str, str]  # agent name -> the model file the harness gave it (``--models name=path``)


def models_of(meta: dict[str, Any]) -> Models:
    """The models a report's harness run played (its config's), or those of the parts it merges."""
    out: Models = {}
    for entry in meta.get("config", {}).get("models", []):
        name, _, path = entry.partition("=")
        out[name] = path
    for part in meta.get("parts", []):  # a merged report keeps each part's meta (parts may nest)
        for name, path in models_of(part).items():
            out.setdefault(name, path)
    return out


def differing_models(paths: list[Path]) -> set[str]:
    """Agent names that play a different model file in two of the reports ``paths``: two agents, not one."""
    files: dict[str, set[str]] = {}
    for path in paths:
        for name, file in models_of(json.loads(path.read_text())["meta"]).items():
            files.setdefault(name, set()).add(file)
    return {name for name, seen in files.items() if len(seen) > 1}


def load(path: Path, env_id: str | None) -> tuple[str, list[int], dict[str, dict[str, Any]]]:
    """(env id, held-out seeds, agent -> metric -> {"values": per-seed list, ...}) of a harness report."""
    data = json.loads(path.read_text())
    results = data["results"]
    if env_id is None:
        if len(results) != 1:
            raise SystemExit(f"{path}: holds env ids {sorted(results)}; choose one with --env-id")
        env_id = next(iter(results))
    if env_id not in results:
        raise SystemExit(f"{path}: no results for --env-id {env_id!r} (it has {sorted(results)})")
    return env_id, list(data["meta"]["seeds"]), results[env_id]


def paired(
    a: dict[str, dict[str, Any]], agents: list[str], b: dict[str, dict[str, Any]], baseline: list[str], metric: str
) -> dict[str, Any]:
    """Per-pair ratios (mean over worlds of a / b), their mean and 95% CI over pairs, and the pairs above 1."""

    ratios, means = [], []
    for x, y in zip(agents, baseline, strict=True):
        va, vb = np.asarray(a[x][metric]["values"], float), np.asarray(b[y][metric]["values"], float)
        ratios.append(nan_mean(va / vb))
        means.append((nan_mean(va), nan_mean(vb)))
    m, h = mean_ci(ratios)
    return {
        "metric": metric, "mean": m, "ci95": h, "above_1": sum(r > 1 for r in ratios), "pairs": len(ratios),
        "ratios": ratios, "means": means,
    }  # fmt: skip


def check_same_worlds(
    a: dict[str, dict[str, Any]], b: dict[str, dict[str, Any]], excluded: set[str], metrics: list[str]
) -> list[str]:
    """The agents both reports hold (other than those ``excluded``); raises if any differs on a metric."""
    shared = sorted((set(a) & set(b)) - excluded)
    for name in shared:
        for metric in metrics:
            va, vb = a[name].get(metric, {}).get("values"), b[name].get(metric, {}).get("values")
            if va is None or vb is None:  # a metric a report lacks must be lacking in both
                same = va is vb
            else:
                same = len(va) == len(vb) and all(
                    x == y or (math.isnan(x) and math.isnan(y)) for x, y in zip(va, vb, strict=True)
                )
            if not same:
                raise SystemExit(
                    f"{name} differs between the two reports on {metric} ({va} vs {vb}): not the same worlds"
                )
    return shared


def read_side(
    paths: list[Path], env_id: str | None, excluded: set[str], metrics: list[str]
) -> tuple[str, list[int], dict[str, dict[str, Any]], list[str]]:
    """Reports of one side read as one: (env id, seeds, merged table, agents checked between them)."""
    env, seeds, table = load(paths[0], env_id)
    checked: list[str] = []
    for path in paths[1:]:
        _, seeds_p, more = load(path, env)  # load refuses a report without this env id
        if seeds_p != seeds:
            raise SystemExit(f"{path} ran seeds {seeds_p}, {paths[0]} ran {seeds}: not the same worlds")
        checked += check_same_worlds(table, more, excluded, metrics)
        table = {**table, **more}
    return env, seeds, table, checked


def format_table(rows: list[dict[str, Any]], agents: list[str], baseline: list[str]) -> str:
    lines = ["| metric | A / B, mean ± 95% CI over pairs | pairs above 1 | per pair: A (B) |", "|---|---|---|---|"]
    for r in rows:
        per = "; ".join(f"{x:.3g} ({y:.3g})" for x, y in r["means"])
        lines.append(f"| {r['metric']} | {r['mean']:.3g} ± {r['ci95']:.2g} | {r['above_1']} of {r['pairs']} | {per} |")
    pairs = ", ".join(f"{x} / {y}" for x, y in zip(agents, baseline, strict=True))
    return "\n".join(lines) + f"\n\npairs: {pairs}"


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    parser.add_argument("results", type=Path, nargs="+", help="harness results.json files holding --agents")
    parser.add_argument("--agents", required=True, help="comma-separated agents of the recipe compared (A)")
    parser.add_argument(
        "--against", type=Path, nargs="+", default=None, help="results.json files holding --baseline-agents"
    )
    parser.add_argument("--baseline-agents", required=True, help="comma-separated agents to pair with (B), in order")
    parser.add_argument("--env-id", default=None, help="env id in the reports (needed when they hold several)")
    parser.add_argument("--metrics", default="return,ctr,ranking_recall@10", help="comma-separated metrics")
    parser.add_argument("--json", type=Path, default=None, help="also write the table's figures here")
    args = parser.parse_args(argv)
    agents, baseline = args.agents.split(","), args.baseline_agents.split(",")
    metrics = args.metrics.split(",")
    if len(agents) != len(baseline):
        parser.error(f"--agents has {len(agents)} names and --baseline-agents {len(baseline)}: pair them one to one")
    compared = set(agents) | set(baseline)
    skipped = differing_models(args.results + (args.against or [])) - compared
    excluded = compared | skipped
    env_a, seeds_a, a, shared = read_side(args.results, args.env_id, excluded, metrics)
    b = a
    if args.against:
        env_b, seeds_b, b, checked_b = read_side(args.against, args.env_id or env_a, excluded, metrics)
        if (env_a, seeds_a) != (env_b, seeds_b):
            parser.error(f"the reports ran different worlds: {env_a} seeds {seeds_a} against {env_b} seeds {seeds_b}")
        shared = sorted(set(shared + checked_b + check_same_worlds(a, b, excluded, metrics)))
    for names, table, label in ((agents, a, "--agents"), (baseline, b, "--baseline-agents")):
        for name in names:
            if name not in table:
                parser.error(f"{label}: {name!r} is not in its reports (they have {', '.join(sorted(table))})")
            missing = [m for m in metrics if m not in table[name]]
            if missing:
                parser.error(f"--metrics: {name!r} has no {', '.join(missing)}")
    rows = [paired(a, agents, b, baseline, m) for m in metrics]
    print(format_table(rows, agents, baseline))
    if shared:
        print(f"same worlds: {env_a}, seeds {seeds_a}; {', '.join(shared)} agree value for value")
    if skipped:
        print(f"not checked, a different model under one name in the two reports: {', '.join(sorted(skipped))}")
    out = {"env_id": env_a, "seeds": seeds_a, "agents": agents, "baseline_agents": baseline, "checked": shared,
           "not_checked_other_models": sorted(skipped), "rows": rows}  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))
    return out


if __name__ == "__main__":
    main()
