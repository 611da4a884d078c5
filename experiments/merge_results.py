"""Harness reports merged into one, for the tools that read one (``ppo_goals``, plots).

    python -m freshrec.experiments.merge_results A.json B.json [C.json ...] --out merged/results.json
    python -m freshrec.experiments.merge_results part_a.json part_b.json --join-worlds --out ten_worlds.json

A comparison is often run in parts: new models or a new baseline on the worlds an earlier run
used. The parts merge only if they ran the same held-out seeds of the same env ids, and every
agent that two parts both hold agrees value for value on every metric (``paired.check_same_worlds``):
that is the proof they met the same burned-in worlds. An agent name that plays a different model
file in two parts is refused (two agents under one name). ``--env-ids`` keeps only those env ids
(a part may have run more). The merged report keeps each part's meta under ``meta.parts`` and the
parts' paths under ``meta.merged_from``; an agent keeps its place in the first part that has it,
and a metric only some parts recorded (reports written before it existed lack it) is kept.

``--join-worlds`` does the other thing: parts that ran *other* held-out seeds (say 10006–10010 and
10011–10015, ``compare --skip-seeds``) become one report over all their worlds, so that
``ppo_goals`` pairs every agent with every baseline world by world over all of them. Their seeds must
not overlap (a world counted twice would narrow every interval), every part must hold the same agents
playing the same model files, and a metric is kept only where every part recorded it; its per-world
values are joined in the parts' order and its mean and 95% interval recomputed over them.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from freshrec.experiments.cli import HelpFormatter
from freshrec.experiments.evaluate import mean_ci
from freshrec.experiments.paired import check_same_worlds, differing_models


def load(paths: list[Path]) -> list[dict[str, Any]]:
    """The reports ``paths``, at least two, in which no agent name plays two model files (SystemExit otherwise)."""
    if len(paths) < 2:
        raise SystemExit(f"merge_results: needs at least two reports, got {len(paths)}")
    clash = differing_models(paths)
    if clash:
        raise SystemExit(f"agents {sorted(clash)} play different model files in these reports: rename one side")
    reports = [json.loads(p.read_text()) for p in paths]
    return reports


def merge(paths: list[Path], env_ids: list[str] | None = None) -> dict[str, Any]:
    """The merged report of harness reports ``paths``, on ``env_ids`` (default: the first report's), each of which
    every report must hold (SystemExit, naming the report, if they are not the same worlds)."""
    reports = load(paths)
    seeds, envs = list(reports[0]["meta"]["seeds"]), env_ids or sorted(reports[0]["results"])
    merged: dict[str, dict[str, Any]] = {env: {} for env in envs}
    for path, report in zip(paths, reports, strict=True):
        missing = [env for env in envs if env not in report["results"]]
        if list(report["meta"]["seeds"]) != seeds or missing:
            raise SystemExit(
                f"{path} ran seeds {report['meta']['seeds']} of {sorted(report['results'])}, the merge needs "
                f"{seeds} of {envs}: not the same worlds"
            )
        for env in envs:
            table = report["results"][env]
            for name in set(table) & set(merged[env]):  # the figures both hold must agree value for value
                shared = sorted(set(table[name]) & set(merged[env][name]))
                check_same_worlds({name: merged[env][name]}, {name: table[name]}, set(), shared)
            for name, figures in table.items():  # metrics only a later report recorded are added
                merged[env][name] = {**figures, **merged[env].get(name, {})}
    meta = {"merged_from": [str(p) for p in paths], "seeds": seeds, "parts": [r["meta"] for r in reports]}
    return {"meta": meta, "results": merged}


def join_worlds(paths: list[Path], env_ids: list[str] | None = None) -> dict[str, Any]:
    """One report over the worlds of harness reports ``paths`` that ran disjoint seeds with the same agents
    (SystemExit, naming the report and what differs, otherwise); see the module docstring."""
    reports = load(paths)
    envs = env_ids or sorted(reports[0]["results"])
    seeds: list[int] = []
    for path, report in zip(paths, reports, strict=True):
        again = sorted(set(seeds) & set(report["meta"]["seeds"]))
        if again:
            raise SystemExit(f"{path} ran seeds {again} that an earlier report ran too: a world would count twice")
        missing = [env for env in envs if env not in report["results"]]
        if missing:
            raise SystemExit(f"{path} has no results for {missing}")
        seeds += list(report["meta"]["seeds"])
    joined: dict[str, dict[str, Any]] = {}
    for env in envs:
        tables = [r["results"][env] for r in reports]
        for path, table in zip(paths[1:], tables[1:], strict=True):
            if set(table) != set(tables[0]):
                raise SystemExit(
                    f"{path} holds agents {sorted(table)} on {env}, {paths[0]} holds {sorted(tables[0])}: "
                    "joined worlds need the same agents in every report"
                )
        joined[env] = {}
        for name in tables[0]:  # the first report's order
            metrics = [k for k in tables[0][name] if all(k in t[name] for t in tables[1:])]
            joined[env][name] = {}
            for key in metrics:
                values = [float(v) for t in tables for v in t[name][key]["values"]]  # (sum of the parts' seeds,)
                m, h = mean_ci(values)
                joined[env][name][key] = {"mean": m, "ci95": h, "values": values}
    meta = {"joined_from": [str(p) for p in paths], "seeds": seeds, "parts": [r["meta"] for r in reports]}
    return {"meta": meta, "results": joined}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    parser.add_argument("reports", type=Path, nargs="+", help="harness results.json files (of the same worlds)")
    parser.add_argument("--out", type=Path, required=True, help="where to write the merged results.json")
    parser.add_argument("--env-ids", default="", help="comma-separated env ids to keep (default: the first report's)")
    parser.add_argument(
        "--join-worlds",
        action="store_true",
        help="join reports of other (disjoint) seeds into one over all their worlds",
    )
    args = parser.parse_args(argv)
    env_ids = [e for e in args.env_ids.split(",") if e] or None
    merged = (join_worlds if args.join_worlds else merge)(args.reports, env_ids)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(merged, indent=1, default=float))
    agents = {env: len(table) for env, table in merged["results"].items()}
    done = (
        f"joined {len(args.reports)} reports over seeds {merged['meta']['seeds']}"
        if args.join_worlds
        else (f"merged {len(args.reports)} reports")
    )
    print(f"{done} ({agents} agents per env id) into {args.out}")
    return merged


if __name__ == "__main__":
    main()
