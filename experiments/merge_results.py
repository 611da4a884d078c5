"""Harness reports of the same worlds merged into one, for the tools that read one (``ppo_goals``, plots).

    python -m freshrec.experiments.merge_results A.json B.json [C.json ...] --out merged/results.json

A comparison is often run in parts: new models or a new baseline on the worlds an earlier run
used. The parts merge only if they ran the same held-out seeds of the same env ids, and every
agent that two parts both hold agrees value for value on every metric (``paired.check_same_worlds``):
that is the proof they met the same burned-in worlds. An agent name that plays a different model
file in two parts is refused (two agents under one name). ``--env-ids`` keeps only those env ids
(a part may have run more). The merged report keeps each part's meta under ``meta.parts`` and the
parts' paths under ``meta.merged_from``; an agent keeps its place in the first part that has it,
and a metric only some parts recorded (reports written before it existed lack it) is kept.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from freshrec.experiments.cli import HelpFormatter
from freshrec.experiments.paired import check_same_worlds, differing_models


def merge(paths: list[Path], env_ids: list[str] | None = None) -> dict[str, Any]:
    """The merged report of harness reports ``paths``, on ``env_ids`` (default: the first report's), each of which
    every report must hold (SystemExit, naming the report, if they are not the same worlds)."""
    if len(paths) < 2:
        raise SystemExit(f"merge_results: needs at least two reports, got {len(paths)}")
    clash = differing_models(paths)
    if clash:
        raise SystemExit(f"agents {sorted(clash)} play different model files in these reports: rename one side")
    reports = [json.loads(p.read_text()) for p in paths]
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


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    parser.add_argument("reports", type=Path, nargs="+", help="harness results.json files of the same worlds")
    parser.add_argument("--out", type=Path, required=True, help="where to write the merged results.json")
    parser.add_argument("--env-ids", default="", help="comma-separated env ids to keep (default: the first report's)")
    args = parser.parse_args(argv)
    merged = merge(args.reports, [e for e in args.env_ids.split(",") if e] or None)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(merged, indent=1, default=float))
    agents = {env: len(table) for env, table in merged["results"].items()}
    print(f"merged {len(args.reports)} reports ({agents} agents per env id) into {args.out}")
    return merged


if __name__ == "__main__":
    main()
