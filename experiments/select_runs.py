"""Compare training settings on fresh validation worlds: each run's ``best_model.zip``, grouped by experiment.

    python -m freshrec.experiments.select_runs runs/sweep [more run folders or roots] [--seeds 9001,9002,9003]

A run's ``best_model.zip`` was chosen on its own validation world, so that world's return
overstates it (the best of several noisy evaluations). To compare settings (say, entropy bonuses
over three training seeds each) without that bias and without touching held-out seeds, every
best model plays the harness's protocol (burn-in of the logging policy, then ``--ticks`` ticks of
``--num-envs`` sessions, deterministic slates) on other worlds of training seeds that no run
trained or validated on. The table gives, per experiment, the mean return, CTR and recall@10 of the
ranking (``ranking_recall@10``) over its runs and worlds with a 95% interval over its runs (each
run's mean over the worlds); ``--baseline EXP`` adds each experiment's return and recall@10 minus
EXP's, paired by training seed. Results: stdout and ``--json``
(default ``select_runs.json`` in the first folder).
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from freshrec.agents.ppo.agent import load_policy
from freshrec.experiments.cli import HelpFormatter
from freshrec.experiments.evaluate import mean_ci
from freshrec.experiments.seeds import TRAIN_SEEDS, check_eval_seed
from freshrec.experiments.train_callback import policy_summary
from freshrec.experiments.train_config import TrainConfig

METRICS = ("return", "ctr", "ranking_recall@10")  # summary keys kept per world
PAIRED = ("return", "ranking_recall@10")  # differences against --baseline, paired by training seed


def find_runs(paths: list[Path]) -> list[Path]:
    """Run folders (holding ``config.json`` and ``best_model.zip``) at or one level under ``paths``."""
    runs = []
    for p in paths:
        if not p.is_dir():
            raise FileNotFoundError(f"{p}: no such folder")
        candidates = [p] if (p / "config.json").exists() else sorted(c for c in p.iterdir() if c.is_dir())
        runs += [c for c in candidates if (c / "config.json").exists() and (c / "best_model.zip").exists()]
    if not runs:
        raise FileNotFoundError(f"no run folders with config.json and best_model.zip under {[str(p) for p in paths]}")
    return runs


def used_seeds(config: dict[str, Any]) -> set[int]:
    """World seeds a run (its saved ``config.json``) trained, validated or warm-started on."""
    cfg = TrainConfig.from_json(config)
    worlds = -(-cfg.total_steps // cfg.train_world_steps) + 1  # a resumed run may start one more
    trained = {cfg.train_world_seed(k) for k in range(worlds)} if cfg.train_burn_in else set()
    return {cfg.seed, cfg.validation_seed(), cfg.warm_start_seed(), *trained}


def play(
    run: Path, config: dict[str, Any], seeds: list[int], ticks: int, num_envs: int, burn_in: int
) -> list[dict[str, float]]:
    """The harness's metrics of ``run``'s best model (deterministic slates) on each burned-in world of ``seeds``."""
    policy = load_policy(run / "best_model.zip", device="cpu")
    return [policy_summary(policy, config["env_id"], s, ticks, num_envs, burn_in, config["encoder"]) for s in seeds]


def summarise(per_run: dict[str, dict[str, Any]], baseline: str = "") -> dict[str, dict[str, Any]]:
    """Per experiment: its runs, mean return, CTR and recall@10 with a 95% interval over runs (each run's mean
    over the worlds; recall@10 only when every run has it: files written before it was recorded lack it);
    with ``baseline``, also the paired differences (experiment − baseline) of return and recall@10 over the
    training seeds both have, mean and 95% interval over those seeds (the same seed shares its worlds and
    init draws, so pairing removes the seed-to-seed spread)."""
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in per_run.values():
        groups[r["experiment"]].append(r)
    table: dict[str, dict[str, Any]] = {}
    by_seed = {name: {r["seed"]: r for r in rs} for name, rs in groups.items()}
    if baseline:  # pairing needs one run per (experiment, seed): a second would be dropped silently
        for name, rs in groups.items():
            if len(by_seed[name]) < len(rs):
                seeds = sorted(r["seed"] for r in rs)
                raise ValueError(f"experiment {name!r} has several runs of one training seed ({seeds}): cannot pair")
    for name, rs in sorted(groups.items()):
        row: dict[str, Any] = {"runs": len(rs)}
        for key in METRICS:
            if all(key in r for r in rs):
                row[key] = mean_ci([float(np.mean(r[key])) for r in rs])
        if baseline and name != baseline:
            shared = sorted(set(by_seed[name]) & set(by_seed[baseline]))
            row["paired_seeds"] = shared
            for key in PAIRED:
                if all(key in by_seed[e][s] for e in (name, baseline) for s in shared):
                    diffs = [float(np.mean(by_seed[name][s][key]) - np.mean(by_seed[baseline][s][key])) for s in shared]
                    row[f"{key}_minus_baseline"] = mean_ci(diffs)
                    if key == "return":
                        row["better_seeds"] = sum(d > 0 for d in diffs)
        table[name] = row
    return table


def format_table(table: dict[str, dict[str, Any]], baseline: str = "") -> str:
    """``summarise``'s table as Markdown."""
    head = "| experiment | runs | return (mean ± 95% CI over runs) | CTR | recall@10 of the ranking |"
    rule = "|---|---|---|---|---|"
    if baseline:
        head += f" return − {baseline}, paired by seed (mean ± 95% CI) | seeds better | recall@10 − {baseline} |"
        rule += "---|---|---|"
    lines = ["", head, rule]

    def cell(value: tuple[float, float] | None, digits: int, sign: str = "") -> str:
        return "–" if value is None else f"{value[0]:{sign}.{digits}f} ± {value[1]:.{digits}f}"

    for name, row in table.items():
        line = f"| {name} | {row['runs']} | {cell(row.get('return'), 2)} | {cell(row.get('ctr'), 3)} |"
        line += f" {cell(row.get('ranking_recall@10'), 3)} |"
        if baseline:
            if "paired_seeds" in row:
                n = len(row["paired_seeds"])
                line += f" {cell(row.get('return_minus_baseline'), 2, '+')} | {row.get('better_seeds', 0)} of {n} |"
                line += f" {cell(row.get('ranking_recall@10_minus_baseline'), 3, '+')} |"
            else:
                line += " | | |"
        lines.append(line)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    parser.add_argument("paths", type=Path, nargs="+", help="run folders, or folders of runs")
    parser.add_argument("--seeds", default="9001,9002,9003", help="comma-separated world seeds in TRAIN_SEEDS")
    parser.add_argument("--ticks", type=int, default=1000, help="ticks per world")
    parser.add_argument("--num-envs", type=int, default=256, help="sessions per world")
    parser.add_argument("--burn-in", type=int, default=300, help="ticks of the harness's logging policy first")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (1: see the README's speed notes)")
    parser.add_argument("--baseline", default="", help="an experiment to pair the others with, seed by seed")
    parser.add_argument(
        "--json",
        type=Path,
        default=None,
        help="where to write the figures (default: select_runs.json in the first path)",
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(max(args.threads, 1))
    try:
        seeds = [int(s) for s in args.seeds.split(",") if s]
    except ValueError:
        parser.error(f"--seeds {args.seeds!r}: expected comma-separated integers, e.g. 9001,9002,9003")
    if not seeds:
        parser.error("--seeds: give at least one world seed")
    for s in seeds:
        check_eval_seed(s)
        if s not in TRAIN_SEEDS:
            parser.error(f"--seeds: {s} is not in TRAIN_SEEDS [0, 10000)")
    if min(args.ticks, args.num_envs, args.burn_in) < 1:
        parser.error(f"--ticks {args.ticks}, --num-envs {args.num_envs}, --burn-in {args.burn_in}: each must be >= 1")
    runs = find_runs(args.paths)
    configs = {run: json.loads((run / "config.json").read_text()) for run in runs}
    if args.baseline and args.baseline not in {c["experiment"] for c in configs.values()}:
        parser.error(f"--baseline {args.baseline!r}: no run of that experiment under {[str(p) for p in args.paths]}")
    for run, config in configs.items():
        clash = used_seeds(config) & set(seeds)
        if clash:
            parser.error(f"{run} trained or validated on world seed(s) {sorted(clash)}: pick other --seeds")
    per_run: dict[str, dict[str, Any]] = {}
    for run, config in configs.items():
        results = play(run, config, seeds, args.ticks, args.num_envs, args.burn_in)
        per_run[str(run)] = {
            "experiment": config["experiment"], "seed": config["seed"],
            **{key: [r[key] for r in results] for key in METRICS},
        }  # fmt: skip
        kept = per_run[str(run)]
        recall = np.mean(kept["ranking_recall@10"])
        print(f"{run.name}: return {np.mean(kept['return']):.2f}, recall@10 {recall:.3f}", flush=True)
    table = summarise(per_run, args.baseline)
    print(format_table(table, args.baseline))
    result = {"seeds": seeds, "ticks": args.ticks, "num_envs": args.num_envs, "burn_in": args.burn_in,
              "baseline": args.baseline, "runs": per_run, "experiments": table}  # fmt: skip
    out = args.json or (args.paths[0] / "select_runs.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
