"""Steps-per-second of Google's RecSim 0.2.4 interest_evolution environment (the peer).

Runs inside RecSim's own virtual environment (see ``setup_recsim.sh``); freshrec never
imports it. The environment is built as in RecSim's README example
(num_candidates=10, slate_size=2, resample_documents=True, seed=0) and driven by
uniformly random slates of distinct candidate indices drawn from a seeded
``numpy.random.Generator``, resetting whenever an episode ends.

Each round times, with ``time.perf_counter``, exactly what a user's loop does: the slate
draw, ``env.step`` and ``env.reset`` (the round starts with a reset). A warm-up of a few
hundred steps runs first and is not counted. One JSON object goes to stdout (and to
``--json PATH`` when given); TensorFlow's import noise goes to stderr.

Usage: python bench_recsim.py [--steps 20000] [--rounds 5] [--warmup 500] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
import warnings
from pathlib import Path

CONFIG = {"num_candidates": 10, "slate_size": 2, "resample_documents": True, "seed": 0}
THREAD_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "TF_NUM_INTRAOP_THREADS",
    "TF_NUM_INTEROP_THREADS",
    "TF_CPP_MIN_LOG_LEVEL",
)


def run_round(env, rng, steps: int, num_candidates: int, slate_size: int) -> tuple[float, int]:
    """Time ``steps`` env steps (reset first and after every finished episode); return (seconds, episodes)."""
    choice = rng.choice
    episodes = 0
    t0 = time.perf_counter()
    env.reset()
    for _ in range(steps):
        slate = choice(num_candidates, size=slate_size, replace=False)
        _, _, done, _ = env.step(slate)
        if done:
            env.reset()
            episodes += 1
    return time.perf_counter() - t0, episodes


def main(argv: list[str] | None = None) -> dict[str, object]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("steps", nargs="?", type=int, default=20_000, help="timed steps per round (default 20000)")
    parser.add_argument("--steps", dest="steps_opt", type=int, default=None, help="same as the positional argument")
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds (default 5)")
    parser.add_argument("--warmup", type=int, default=500, help="untimed warm-up steps (default 500)")
    parser.add_argument(
        "--num-candidates", type=int, default=CONFIG["num_candidates"], help="default 10 (the README's)"
    )
    parser.add_argument("--slate-size", type=int, default=CONFIG["slate_size"], help="default 2 (the README's)")
    parser.add_argument("--slate-seed", type=int, default=0, help="seed of the slate Generator (default 0)")
    parser.add_argument("--json", type=Path, default=None, help="also write the result object to this file")
    args = parser.parse_args(argv)
    steps = args.steps_opt if args.steps_opt is not None else args.steps
    if steps <= 0 or args.rounds <= 0 or args.warmup < 0:
        parser.error("steps and rounds must be positive, warmup non-negative")
    if not 0 < args.slate_size <= args.num_candidates:
        parser.error("need 0 < slate size <= number of candidates")
    config = {**CONFIG, "num_candidates": args.num_candidates, "slate_size": args.slate_size}

    # RecSim pulls in TensorFlow, gym, dopamine and jax at import; their warnings are noise here.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    warnings.filterwarnings("ignore")
    from importlib.metadata import version

    import numpy as np
    import recsim  # noqa: F401
    from recsim.environments import interest_evolution

    env = interest_evolution.create_environment(dict(config))
    rng = np.random.default_rng(args.slate_seed)
    n, k = config["num_candidates"], config["slate_size"]
    if args.warmup:
        run_round(env, rng, args.warmup, n, k)

    per_round, episodes = [], []
    for _ in range(args.rounds):
        seconds, eps = run_round(env, rng, steps, n, k)
        per_round.append(steps / seconds)
        episodes.append(eps)

    result: dict[str, object] = {
        "peer": "recsim-0.2.4 interest_evolution",
        "steps_per_s": [round(x, 1) for x in per_round],
        "median_steps_per_s": round(statistics.median(per_round), 1),
        "config": {
            **config,
            "steps_per_round": steps,
            "rounds": args.rounds,
            "warmup_steps": args.warmup,
            "policy": "uniform random slate, distinct indices, numpy Generator.choice(replace=False)",
            "slate_seed": args.slate_seed,
            "timed": "slate draw + env.step + env.reset (reset at round start and after each episode)",
            "episodes_per_round": episodes,
        },
        "python": platform.python_version(),
        "numpy": np.__version__,
        "versions": {p: version(p) for p in ("recsim", "tensorflow", "gym", "dopamine-rl", "gin-config")},
        "threads_env": {v: os.environ.get(v) for v in THREAD_VARS},
        "cpu_count": os.cpu_count(),
        "machine": platform.machine(),
    }
    text = json.dumps(result)
    print(text, flush=True)
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n")
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
