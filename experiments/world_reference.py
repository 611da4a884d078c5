"""Reference figures of each regime's world under two fixed policies: random slates and a myopic oracle.

    python -m freshrec.experiments.world_reference [--sessions 256] [--ticks 600] [--seed 0]

The oracle reads the hidden ground truth (``World.candidate_relevance``: each candidate's click
probability if shown alone) and shows the five best; it bounds one-step accuracy, not long-term
return. CTR and session length count ticks after a 100-tick warm-up (sessions in progress at
tick 0 are all fresh; later ones are length-biased), sessions cut at 100 steps as in the envs.
These two policies are the only ones the world's defaults were ever looked at with.
"""

from __future__ import annotations

import argparse

import numpy as np

from freshrec.experiments.cli import HelpFormatter
from freshrec.simulators.config import WorldConfig
from freshrec.simulators.world import World

WARMUP = 100
SESSION_LIMIT = 100


def run(policy: str, regime: str, sessions: int, ticks: int, seed: int) -> tuple[float, float]:
    """(CTR, mean completed-session length) of ``policy`` ("random" or "oracle") in ``regime``."""
    world = World(WorldConfig.regime(regime), num_sessions=sessions)
    state = world.reset(seed)
    rng = np.random.default_rng(seed)
    clicks = steps = 0
    lengths: list[int] = []
    for tick in range(ticks):
        if policy == "random":
            slates = np.argsort(rng.random((sessions, world.config.slate.num_candidates)), axis=1)[:, :5]
        else:
            slates = np.argsort(-world.candidate_relevance(state), axis=1, kind="stable")[:, :5]
        result = world.step(state, slates)
        done = result.terminated | (state.sessions.step >= SESSION_LIMIT)
        if tick >= WARMUP:
            clicks += int((result.clicked >= 0).sum())
            steps += sessions
            lengths.extend(state.sessions.step[done].tolist())
        world.restart(state, done)
    return clicks / steps, float(np.mean(lengths))


def main(argv: list[str] | None = None) -> None:
    """Print a Markdown table: regime x policy."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    parser.add_argument("--sessions", type=int, default=256, help="concurrent sessions")
    parser.add_argument("--ticks", type=int, default=600, help="world ticks")
    parser.add_argument("--seed", type=int, default=0, help="world seed")
    args = parser.parse_args(argv)
    print("| regime | random CTR | random session length | oracle CTR | oracle session length |")
    print("|---|---|---|---|---|")
    for regime in ("full", "drift", "stationary"):
        r_ctr, r_len = run("random", regime, args.sessions, args.ticks, args.seed)
        o_ctr, o_len = run("oracle", regime, args.sessions, args.ticks, args.seed)
        print(f"| {regime} | {r_ctr:.3f} | {r_len:.1f} | {o_ctr:.3f} | {o_len:.1f} |")


if __name__ == "__main__":
    main()
