"""Does planning around boredom pay? The myopic oracle against itself ranking with other boredom weights.

    python -m freshrec.experiments.oracle_boredom --weights 0,0.15,0.45,0.6,0.9 \\
        --seeds 9001,9002,9003,9004,9005,9006,9007,9008 --json oracle_boredom.json

The issue behind the PPO agent asks for an oracle-normalized return of at least 1.0 "where boredom
makes the next click a poor guide to the long run": more than the myopic oracle, which ranks by
each candidate's click probability now. Whether any policy can earn more here is a property of the
world, and this measures one family of such policies: ``oracle-boredom-<w>`` (``agents/oracle.py``)
knows everything the myopic oracle knows and ranks as if boredom cost ``w`` utility per unit
instead of the world's ``users.boredom_weight``. Above that weight it leaves a topic before the
next click says so (keeping the user's favourite topic fresh for later), below it stays longer
(consumption pulls interests towards what is clicked). If a weight earns clearly more than the
world's own, the next click is a poor guide there, and a learner told the truth could beat the
myopic oracle; if none does, the myopic oracle is near the ceiling of this family.
``--also oracle-rollout`` runs beside them the oracle that plans with the simulator itself
(``agents/oracle.py``: each step it tries the myopic slate and three reweighted ones on copies of
the world, 20 ticks ahead, and keeps the best per session).

Every agent plays the harness's protocol (``compare.run_one``: burn-in of the logging policy, then
``--ticks`` ticks of ``--num-envs`` sessions) on burned-in worlds of training seeds, never the
held-out ones, so a weight chosen here can then be measured once on the held-out worlds with
``compare --agents random,myopic-oracle,oracle-boredom-<w>``, whose report ``--from-report``
summarises the same way (without running anything). The table: each weight's return, CTR and
drift-recovery steps divided by the myopic oracle's on the same world, mean and 95% Student-t
interval over worlds, and how many worlds it beat the myopic oracle's return on.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from freshrec.agents.registry import DIAGNOSTICS, REWEIGHTED_ORACLE
from freshrec.experiments.burn_in import burn_in
from freshrec.experiments.cli import HelpFormatter
from freshrec.experiments.compare import CompareConfig, run_one
from freshrec.experiments.evaluate import mean_ci
from freshrec.experiments.seeds import TRAIN_SEEDS, check_eval_seed

METRICS = ("return", "ctr", "drift_recovery_steps", "session_length")
"""Summary keys kept per world; each is divided by the myopic oracle's on that world."""


def ratios(per_world: dict[str, dict[int, dict[str, float]]]) -> dict[str, dict[str, Any]]:
    """agent -> metric -> {mean, ci95, values, above}: each world's value over the myopic oracle's there.

    ``per_world``: agent -> world seed -> metric -> value, with "myopic-oracle" among the agents.
    """
    base = per_world["myopic-oracle"]
    out: dict[str, dict[str, Any]] = {}
    for agent, worlds in per_world.items():
        if agent == "myopic-oracle":
            continue
        out[agent] = {}
        for key in METRICS:
            r = [worlds[s][key] / base[s][key] for s in sorted(base)]
            m, h = mean_ci(r)
            out[agent][key] = {"mean": m, "ci95": h, "values": r, "above": int(sum(x > 1.0 for x in r))}
    return out


def per_world_of_report(path: Path, env_id: str) -> tuple[list[int], dict[str, dict[int, dict[str, float]]]]:
    """The world seeds and ``ratios``' input from a harness report: the myopic oracle and every
    ``oracle-boredom-<w>`` and other diagnostic oracle in it."""
    report = json.loads(path.read_text())
    seeds, table = report["meta"]["seeds"], report["results"].get(env_id)
    if table is None or "myopic-oracle" not in table:
        raise ValueError(f"{path}: no myopic-oracle on {env_id} (it has {sorted(report['results'])})")
    agents = [a for a in table if a == "myopic-oracle" or a.startswith(REWEIGHTED_ORACLE) or a in DIAGNOSTICS]
    per_world = {a: {s: {k: table[a][k]["values"][i] for k in METRICS} for i, s in enumerate(seeds)} for a in agents}
    return seeds, per_world


def table(result: dict[str, dict[str, Any]], worlds: int) -> str:
    """The Markdown table of ``ratios``."""
    lines = [
        "| agent | return / myopic oracle's | worlds above | CTR / oracle's | drift recovery / oracle's |",
        "|---|---|---|---|---|",
    ]
    for agent, m in result.items():
        cell = {k: f"{m[k]['mean']:.3f} ± {m[k]['ci95']:.3f}" for k in METRICS}
        lines.append(
            f"| {agent} | {cell['return']} | {m['return']['above']} of {worlds} | {cell['ctr']} | "
            f"{cell['drift_recovery_steps']} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    parser.add_argument(
        "--weights", default="0,0.15,0.45,0.6,0.9", help="comma-separated boredom weights in [0, 100] (may be empty)"
    )
    parser.add_argument("--seeds", default="9001,9002,9003", help="comma-separated world seeds in TRAIN_SEEDS")
    parser.add_argument(
        "--also", default="", help="comma-separated diagnostic agents to run beside them (oracle-rollout)"
    )
    parser.add_argument("--env-id", default="freshrec/DriftingUsers-v0", help="registered env id")
    parser.add_argument("--ticks", type=int, default=1000, help="ticks per world")
    parser.add_argument("--num-envs", type=int, default=256, help="sessions per world")
    parser.add_argument("--burn-in", type=int, default=300, help="ticks of the harness's logging policy first")
    parser.add_argument("--runs-dir", type=Path, default=Path("runs"), help="runs land in RUNS_DIR/oracle_boredom")
    parser.add_argument("--encoder", default="minilm", help='item text encoder: "minilm" or "hashing:DIM"')
    parser.add_argument("--json", type=Path, default=None, help="write the per-world figures and the ratios here")
    parser.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bars")
    parser.add_argument(
        "--from-report", type=Path, default=None,
        help="summarise this harness results.json (the held-out run) instead of running; other flags but --env-id "
        "and --json are ignored",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.from_report is not None:
        try:
            worlds, reported = per_world_of_report(args.from_report, args.env_id)
        except (OSError, ValueError, KeyError) as e:
            parser.error(f"--from-report: {e}")
        return finish(args.json, {"report": str(args.from_report), "env_id": args.env_id, "seeds": worlds}, reported)
    try:
        weights = [float(w) for w in args.weights.split(",") if w]
        seeds = [int(s) for s in args.seeds.split(",") if s]
    except ValueError:
        parser.error(f"--weights {args.weights!r} / --seeds {args.seeds!r}: expected comma-separated numbers")
    if len(seeds) < 2:
        parser.error("--seeds: give at least two worlds (an interval needs two)")
    if any(not 0.0 <= w <= 100.0 for w in weights):
        parser.error(f"--weights {args.weights!r}: each must be in [0, 100]")
    for s in seeds:
        try:
            check_eval_seed(s)
        except ValueError as e:
            parser.error(f"--seeds: {e}")
        if s not in TRAIN_SEEDS:
            parser.error(f"--seeds: {s} is not in TRAIN_SEEDS [0, 10000)")
    agents = ("myopic-oracle", *(f"oracle-boredom-{w:g}" for w in weights), *(a for a in args.also.split(",") if a))
    # CompareConfig checks the other numbers (ticks, sessions, burn-in) by name.
    cfg = CompareConfig(
        experiment="oracle_boredom", agents=agents, env_ids=(args.env_id,), ticks=args.ticks,
        num_envs=args.num_envs, burn_in=args.burn_in, encoder=args.encoder, runs_dir=args.runs_dir,
        progress=args.progress, threads=1,
    )  # fmt: skip
    began = time.perf_counter()
    per_world: dict[str, dict[int, dict[str, float]]] = {a: {} for a in agents}
    for seed in seeds:
        start = burn_in(
            args.env_id, seed, cfg.num_envs, cfg.burn_in, cfg.logging_epsilon, {"encoder": cfg.encoder},
            cache=cfg.root / "burn_in", progress=cfg.progress,
        )  # fmt: skip
        for agent in agents:
            record = run_one(cfg, agent, args.env_id, seed, start)
            per_world[agent][seed] = {k: float(record.summary[k]) for k in METRICS}
            print(f"  world {seed} {agent:>22}: return {record.summary['return']:.3f}", flush=True)
    meta = {
        "env_id": args.env_id, "seeds": seeds, "weights": weights, "ticks": cfg.ticks, "num_envs": cfg.num_envs,
        "burn_in": cfg.burn_in, "seconds": round(time.perf_counter() - began, 1),
    }  # fmt: skip
    return finish(args.json, meta, per_world)


def finish(
    path: Path | None, meta: dict[str, Any], per_world: dict[str, dict[int, dict[str, float]]]
) -> dict[str, Any]:
    """Print the table, write ``meta`` with the per-world figures and the ratios to ``path`` (if given)."""
    result = ratios(per_world)
    print(table(result, len(meta["seeds"])))
    out = {**meta, "per_world": {a: {str(s): v for s, v in w.items()} for a, w in per_world.items()}, "ratios": result}
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(out, indent=1))
    return out


if __name__ == "__main__":
    main()
