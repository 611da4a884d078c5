"""Small worlds and rollouts shared by the world tests (importable: pytest's pythonpath has tests/)."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from freshrec.simulators.config import WorldConfig
from freshrec.simulators.state import StepResult, WorldState
from freshrec.simulators.world import World

M, K = 32, 5  # default candidates and slate size


def small(**changes: Any) -> WorldConfig:
    """A 200-user, 200-slot world (fast), with ``changes`` on top (``group__field=value``)."""
    base: dict[str, Any] = {"users__users": 200, "catalog__slots": 200, "catalog__initial_items": 200}
    base.update(changes)
    return WorldConfig().replace(**base)


def quiet(**changes: Any) -> WorldConfig:
    """A small world with every source of drift, boredom and arrivals off (switch on what a test needs)."""
    base: dict[str, Any] = {
        "users__gradual_drift": False,
        "users__abrupt_shifts": False,
        "users__consumption_drift": False,
        "users__boredom": False,
        "catalog__arrival_rate": 0.0,
    }
    base.update(changes)
    return small(**base)


def random_slates(rng: np.random.Generator, b: int, k: int = K, m: int = M) -> np.ndarray:
    """(b, k) distinct positions per row."""
    return np.argsort(rng.random((b, m)), axis=1)[:, :k]


def run(world: World, state: WorldState, ticks: int, seed: int = 0, k: int = K) -> list[StepResult]:
    """Random slates for ``ticks`` ticks; sessions that end are restarted as the envs do."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(ticks):
        result = world.step(state, random_slates(rng, world.num_sessions, k, world.config.slate.num_candidates))
        world.restart(state, result.terminated)
        out.append(result)
    return out


def logit(p: np.ndarray) -> np.ndarray:
    """The utility above the no-click option behind a solo click probability sigmoid(u - u0)."""
    return np.log(p) - np.log1p(-p)


def state_arrays(state: WorldState) -> dict[str, Any]:
    """Every array and scalar of a state, flattened to one dict (generators by their bit-generator state)."""
    out: dict[str, Any] = {"time": state.time, "next_session_id": state.next_session_id}
    for part in ("catalog", "users", "sessions"):
        for f in dataclasses.fields(getattr(state, part)):
            out[f"{part}.{f.name}"] = getattr(getattr(state, part), f.name)
    for name in ("rng", "exo", "cand", "ret"):
        out[name] = getattr(state, name).bit_generator.state
    return out


def assert_same_state(a: WorldState, b: WorldState) -> None:
    """Array for array, generator for generator."""
    x, y = state_arrays(a), state_arrays(b)
    assert x.keys() == y.keys()
    for key in x:
        if isinstance(x[key], np.ndarray):
            np.testing.assert_array_equal(x[key], y[key], err_msg=key)
        else:
            assert x[key] == y[key], key
