"""How long PPO trains before it passes the best CF/SVD baseline: every checkpoint of a run in the harness.

    python -m freshrec.experiments.train_agent --experiment ttb --total-steps 300000 --checkpoint-every 25000 --eval-every 0
    python -m freshrec.experiments.time_to_beat --run runs/<that run> [--seeds 3]

Each checkpoint (``checkpoints/step_*``, with the run's wall-clock seconds in ``meta.json``) runs
in the comparison harness as agent ``ppo-<step>`` beside the CF and SVD baselines, on the same
burned-in held-out worlds. A checkpoint passes when its mean return per session and its mean CTR
over seeds are both above those of the best CF/SVD agent (best by return; ``--also`` adds settings of
them, such as ``user-knn:fallback=ctr``, to the candidates for best). The answer is the
wall-clock time of the first checkpoint that passes and stays passing at every later checkpoint.
Results: stdout and ``--json`` (default experiments/results/time_to_beat.json).
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

from freshrec.experiments import compare
from freshrec.experiments.checkpoints import checkpoint_meta
from freshrec.experiments.cli import HelpFormatter
from freshrec.experiments.ppo_goals import CF_SVD, cf_svd


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    parser.add_argument("--run", type=Path, required=True, help="a train_agent run folder")
    parser.add_argument("--seeds", type=int, default=3, help="held-out seeds")
    parser.add_argument("--ticks", type=int, default=1000, help="ticks per harness run")
    parser.add_argument("--num-envs", type=int, default=256, help="sessions per harness run")
    parser.add_argument("--runs-dir", type=Path, default=Path("runs"), help="root of the training run")
    parser.add_argument(
        "--also", default="", help="comma-separated settings of the CF/SVD baselines to add (user-knn:fallback=ctr)"
    )
    parser.add_argument(
        "--json", type=Path, default=Path("experiments/results/time_to_beat.json"), help="where the figures go"
    )
    args = parser.parse_args(argv)
    config = json.loads((args.run / "config.json").read_text())
    checkpoints = sorted((args.run / "checkpoints").glob("step_*"))
    if not checkpoints:
        parser.error(f"--run {args.run}: no checkpoints/step_* folders")
    metas = {f"ppo-{int(checkpoint_meta(c)['step'])}": (c, checkpoint_meta(c)) for c in checkpoints}
    also = tuple(a for a in args.also.split(",") if a)
    if len(cf_svd(dict.fromkeys(also))) != len(also):
        parser.error(f"--also {args.also}: each must be a setting of one of {list(CF_SVD)}, as user-knn:fallback=ctr")
    baselines = tuple(dict.fromkeys((*CF_SVD, *also)))  # a default named again runs once
    cfg = compare.CompareConfig(
        experiment="time_to_beat", agents=(*baselines, *metas), models=tuple(f"{n}={c / 'model.zip'}" for n, (c, _) in metas.items()),
        env_ids=(config["env_id"],), seeds=args.seeds, ticks=args.ticks, num_envs=args.num_envs,
        encoder=config["encoder"], runs_dir=args.runs_dir,
    )  # fmt: skip
    table = compare.results_table(compare.run(cfg))[config["env_id"]]

    def mean(agent: str, key: str) -> float:
        return float(table[agent][key]["mean"])

    best = max(baselines, key=lambda a: mean(a, "return"))
    rows = []
    for name, (_, meta) in metas.items():
        passes = mean(name, "return") > mean(best, "return") and mean(name, "ctr") > mean(best, "ctr")
        rows.append({"agent": name, "step": int(meta["step"]), "elapsed_seconds": meta["elapsed_seconds"],
                     "return": mean(name, "return"), "ctr": mean(name, "ctr"), "passes": passes})  # fmt: skip
    first = next((r for i, r in enumerate(rows) if all(x["passes"] for x in rows[i:])), None)
    print(f"best CF/SVD: {best} (return {mean(best, 'return'):.2f}, CTR {mean(best, 'ctr'):.3f})")
    print("| step | seconds | return | CTR | passes |\n|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['step']:,} | {r['elapsed_seconds']:.0f} | {r['return']:.2f} | {r['ctr']:.3f} | {r['passes']} |")
    answer = first["elapsed_seconds"] if first else math.nan
    print(f"time until PPO passes {best}: " + (f"{answer:.0f} s (step {first['step']:,})" if first else "not reached"))
    result = {"run": str(args.run), "seeds": args.seeds, "baselines": list(baselines), "best_cf_svd": best,
              "best_return": mean(best, "return"), "best_ctr": mean(best, "ctr"), "checkpoints": rows,
              "seconds_to_pass": answer}  # fmt: skip
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
