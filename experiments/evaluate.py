"""Run an agent on a registered env for a fixed number of ticks and summarise the recorded metrics."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import gymnasium
import numpy as np
import numpy.typing as npt
from tqdm import tqdm

import freshrec.envs  # noqa: F401  (registers the ids)
from freshrec.agents.base import Recommender, slates_and_ranking
from freshrec.envs.core import reset_info
from freshrec.envs.metrics import Recorder


@dataclass(frozen=True)
class RunResult:
    """One agent on one seed: the metric summary and per-tick series for plots."""

    agent: str
    seed: int
    summary: dict[str, float]
    ctr_by_tick: np.ndarray  # (T,) clicks / sessions at each tick
    age_by_tick: np.ndarray  # (T,) mean age of shown items at each tick


def run_agent(
    name: str,
    make_agent: Callable[[int, Any], Recommender],
    env_id: str,
    seed: int,
    ticks: int,
    num_envs: int,
    env_kwargs: dict[str, Any] | None = None,
    progress: bool = True,
    start: tuple[Any, dict[str, np.ndarray]] | None = None,
) -> RunResult:
    """``ticks`` steps of ``num_envs`` concurrent sessions of ``env_id`` (world seed ``seed``) under the agent
    ``make_agent(seed, env)`` builds for the env.

    ``start`` (a vector env and its observation, e.g. ``BurnIn.start()``) continues a world already under
    way instead of a fresh one.
    """
    recorder = Recorder()
    if start is None:
        env = gymnasium.make_vec(env_id, num_envs=num_envs, **(env_kwargs or {}))
        obs, info = env.reset(seed=seed)
    else:
        env, obs = start
        info = reset_info(env.unwrapped.state)
    agent = make_agent(seed, env)
    recorder.record_reset(info)
    ctr = np.zeros(ticks)
    age = np.zeros(ticks)
    for t in tqdm(range(ticks), desc=f"{name} seed {seed}", disable=not progress, leave=False):
        slates, ranking = slates_and_ranking(agent, obs)
        obs, reward, terminated, truncated, info = env.step(slates)
        recorder.record_step(info, reward, terminated, truncated, ranking)
        ctr[t] = float(np.mean(info["clicked_position"] >= 0))
        shown = info["slate_item_ids"] >= 0
        age[t] = float(info["slate_age"][shown].mean()) if shown.any() else math.nan
    env.close()
    return RunResult(name, seed, recorder.summary(), ctr, age)


def nan_mean(values: npt.ArrayLike) -> float:
    """Mean over the values that are not NaN; NaN, without numpy's empty-slice warning, when all are.

    >>> nan_mean([1.0, float("nan"), 3.0]), nan_mean([float("nan")])
    (2.0, nan)
    """
    x = np.asarray(values, dtype=float)
    return float(np.nanmean(x)) if x.size and not np.isnan(x).all() else math.nan


def mean_ci(values: Sequence[float], level: float = 0.95) -> tuple[float, float]:
    """Mean and the half-width of its Student-t confidence interval over seeds (NaNs dropped).

    >>> m, h = mean_ci([1.0, 2.0, 3.0]); round(m, 3), round(h, 3)
    (2.0, 2.484)
    """
    from scipy import stats

    x = np.asarray([v for v in values if not math.isnan(v)], dtype=float)
    if x.size == 0:
        return math.nan, math.nan
    if x.size == 1:
        return float(x[0]), math.nan
    half = float(stats.t.ppf(0.5 + level / 2, x.size - 1) * x.std(ddof=1) / math.sqrt(x.size))
    return float(x.mean()), half
