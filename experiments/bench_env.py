"""Environment speed: single env steps/s, vector env user-steps/s, against baselines run in the same benchmark.

    python -m freshrec.experiments.bench_env [--rounds 5] [--recsim-python .recsim-venv/bin/python]

Every figure is the median of ``--rounds`` timed rounds after a warm-up, with random slates drawn
inside the loop (``rng.choice(M, K, replace=False)``, as RecSim's benchmark does). Baselines:

- a bare numpy kernel (every user scores all 1,000 items, picks one by softmax, drifts; 1,024
  users, no observations), a reference cost of batched numpy simulation at this size;
- RecSim 0.2.4 interest_evolution (when ``--recsim-python`` points at its own venv, built by
  ``experiments/peer/recsim/setup_recsim.sh``), at 10 candidates (its README example) and 100.

Results go to stdout (a Markdown table) and to ``--json`` (default experiments/results/bench_env.json).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium
import numpy as np

import freshrec.envs  # noqa: F401  (registers the ids)
from freshrec.experiments.cli import HelpFormatter
from freshrec.simulators.config import WorldConfig

ENV_ID = "freshrec/DriftingUsers-v0"


def median_rate(run: Callable[[], tuple[float, int]], rounds: int) -> tuple[float, list[float]]:
    """Median of per-round rates, each ``count / seconds`` from ``run()``."""
    rates = []
    for _ in range(rounds):
        seconds, count = run()
        rates.append(count / seconds)
    return statistics.median(rates), rates


def single_env(steps: int, wrapped: bool, encoder: str) -> Callable[[], tuple[float, int]]:
    """Steps/s of one session env (``gymnasium.make``: TimeLimit, order and passive checks included)."""
    env = gymnasium.make(ENV_ID, encoder=encoder)
    target = env if wrapped else env.unwrapped
    target.reset(seed=0)
    m, k = 32, 5
    rng = np.random.default_rng(0)

    def run() -> tuple[float, int]:
        choice = rng.choice
        t0 = time.perf_counter()
        for _ in range(steps):
            _, _, terminated, truncated, _ = target.step(choice(m, size=k, replace=False))
            if terminated or truncated:
                target.reset()
        return time.perf_counter() - t0, steps

    run()  # warm-up
    return run


def vector_env(num_envs: int, encoder: str, user_steps: int) -> Callable[[], tuple[float, int]]:
    """User-steps/s of the native vector env with full observations and info."""
    config = WorldConfig().replace(users__users=max(10_000, 4 * num_envs))  # more users than sessions
    env = gymnasium.make_vec(ENV_ID, num_envs=num_envs, encoder=encoder, config=config)
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    ticks = max(20, user_steps // num_envs)

    def run() -> tuple[float, int]:
        t0 = time.perf_counter()
        for _ in range(ticks):
            slates = np.argsort(rng.random((num_envs, 32)), axis=1)[:, :5]  # distinct positions per row
            env.step(slates)
        return time.perf_counter() - t0, ticks * num_envs

    run()
    return run


def bare_kernel(
    users: int = 1024, items: int = 1000, dim: int = 16, ticks: int = 100
) -> Callable[[], tuple[float, int]]:
    """Reference cost: every user scores all items, picks one by softmax, drifts (OU). No observations."""
    rng = np.random.default_rng(0)
    z = rng.standard_normal((users, dim)).astype(np.float32)
    anchor = z.copy()
    x = rng.standard_normal((items, dim)).astype(np.float32)

    def run() -> tuple[float, int]:
        nonlocal z
        t0 = time.perf_counter()
        for _ in range(ticks):
            scores = z @ x.T  # (U, I)
            p = np.exp(scores - scores.max(axis=1, keepdims=True))
            cdf = np.cumsum(p, axis=1)
            clicked = (cdf <= rng.random((users, 1)) * cdf[:, -1:]).sum(axis=1)  # inverse-CDF softmax draw
            z = anchor + (z - anchor) * 0.99 + 0.05 * rng.standard_normal((users, dim)).astype(np.float32)
            del clicked
        return time.perf_counter() - t0, ticks * users

    run()
    return run


def recsim(python: str, candidates: int, rounds: int) -> dict[str, Any] | None:
    """RecSim's own benchmark in its own venv (never imported here); None when it fails."""
    script = Path(__file__).resolve().parents[0] / "peer" / "recsim" / "bench_recsim.py"
    if not script.exists():  # strict editable installs link this module from build/: use the checkout
        script = Path("experiments/peer/recsim/bench_recsim.py")
    cmd = [python, str(script), "--rounds", str(rounds), "--num-candidates", str(candidates)]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", OMP_NUM_THREADS="1")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        print(f"RecSim peer failed ({proc.returncode}): {proc.stderr.strip().splitlines()[-1:]}")
        return None
    out: dict[str, Any] = json.loads(proc.stdout)
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run every measurement, print the table, write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds per figure (median reported)")
    parser.add_argument("--single-steps", type=int, default=10_000, help="steps per round of the single env")
    parser.add_argument("--user-steps", type=int, default=200_000, help="user-steps per round of the vector env")
    parser.add_argument("--sizes", default="1,64,1024,16384", help="vector env N values")
    parser.add_argument("--encoder", default="minilm", help="text encoder (features are precomputed either way)")
    parser.add_argument("--recsim-python", default=None, help="python of RecSim's venv (optional)")
    parser.add_argument(
        "--json", type=Path, default=Path("experiments/results/bench_env.json"), help="where the figures go"
    )
    args = parser.parse_args(argv)

    results: dict[str, Any] = {"machine": {"python": platform.python_version(), "cpus": os.cpu_count()}}
    rows: list[tuple[str, float, str]] = []
    single, rates = median_rate(single_env(args.single_steps, True, args.encoder), args.rounds)
    results["single_env_steps_per_s"] = {"median": single, "rounds": rates}
    rows.append(("single env (gymnasium.make, random slates)", single, "steps/s"))
    raw, rates = median_rate(single_env(args.single_steps, False, args.encoder), args.rounds)
    results["single_env_unwrapped_steps_per_s"] = {"median": raw, "rounds": rates}
    rows.append(("single env, unwrapped", raw, "steps/s"))
    results["vector_env_user_steps_per_s"] = {}
    for n in (int(s) for s in args.sizes.split(",")):
        rate, rates = median_rate(vector_env(n, args.encoder, args.user_steps), args.rounds)
        results["vector_env_user_steps_per_s"][str(n)] = {"median": rate, "rounds": rates}
        rows.append((f"vector env N={n:,} (full observations)", rate, "user-steps/s"))
    kernel, rates = median_rate(bare_kernel(), args.rounds)
    results["bare_kernel_user_steps_per_s"] = {"median": kernel, "rounds": rates}
    rows.append(("bare numpy kernel: 1,024 users x 1,000 items, softmax choice + drift", kernel, "user-steps/s"))
    if args.recsim_python:
        for m in (10, 100):
            peer = recsim(args.recsim_python, m, args.rounds)
            if peer is not None:
                results[f"recsim_{m}_candidates"] = peer
                rows.append((f"RecSim 0.2.4 interest_evolution, {m} candidates", peer["median_steps_per_s"], "steps/s"))
                results[f"single_env_vs_recsim_{m}"] = single / peer["median_steps_per_s"]
    print("| what | median | unit |\n|---|---|---|")
    for name, value, unit in rows:
        print(f"| {name} | {value:,.0f} | {unit} |")
    for key in [k for k in results if k.startswith("single_env_vs")]:
        print(f"{key}: {results[key]:.2f}x")
    if "1024" in results["vector_env_user_steps_per_s"]:
        ratio = results["vector_env_user_steps_per_s"]["1024"]["median"] / kernel
        results["vector_1024_vs_bare_kernel"] = ratio
        print(f"vector env N=1,024 / bare kernel: {ratio:.2f}x")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=1))
    return results


if __name__ == "__main__":
    main()
