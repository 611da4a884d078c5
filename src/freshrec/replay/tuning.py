"""Choosing the trending half-life without looking at the replayed stream: a validation replay of the
last part of the training period. A service's stream pace (events per hour) sets how fast "now" decays,
so the half-life is a property of the data, not a constant."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from freshrec.engine.policy import PolicyConfig
from freshrec.replay.runner import run_strategy
from freshrec.replay.split import time_split
from freshrec.replay.strategies import EngineStrategy, StrategyContext

HALF_LIVES = (3600.0, 6 * 3600.0, 86400.0, 7 * 86400.0, 30 * 86400.0)


def choose_half_life(
    context: StrategyContext, candidates: Sequence[float] = HALF_LIVES, fraction: float = 0.9, k: int = 10
) -> tuple[float, dict[float, float]]:
    """The candidate with the best HR@k when the last ``1 - fraction`` of the training events are replayed
    through the engine with the trending blend; returns it and every candidate's HR@k.

    The starting model has trained on these events, so the figures flatter the model; they are only
    compared with each other, to rank half-lives.
    """
    validation = time_split(context.split.train, fraction)
    scores: dict[float, float] = {}
    for half_life in candidates:
        inner = replace(context, split=validation, trend_half_life=half_life)
        strategy = EngineStrategy(f"validate-half-life-{half_life:.0f}", inner, PolicyConfig(new_items=False))
        run = run_strategy(strategy, validation, k, progress=False)
        scores[half_life] = float((run.ranks <= k).mean())
    return max(scores, key=lambda h: scores[h]), scores
