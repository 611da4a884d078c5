"""The vector env's reset: seeds, options (Gymnasium's reset_mask) and what it refuses; render."""

from __future__ import annotations

from typing import Any

import gymnasium
import numpy as np
import pytest
from env_helpers import HASH, distinct_slates, make_vec, slates
from gymnasium.utils.env_checker import data_equivalence


def test_list_seed_uses_its_first_entry() -> None:
    a, b = make_vec(num_envs=3), make_vec(num_envs=3)
    assert data_equivalence(a.reset(seed=[5, 6, 7]), b.reset(seed=5), exact=True)


def test_reset_without_seed_starts_new_sessions_in_the_same_world() -> None:
    env = make_vec(num_envs=4)
    _, info0 = env.reset(seed=0)
    rng = np.random.default_rng(0)
    for _ in range(10):
        env.step(slates(rng, 4))
    obs, info = env.reset()
    assert info["world_time"] == 10
    assert np.all(info["session_id"] > info0["session_id"].max())
    assert np.all(obs["context"][:, 0] == 0)


def test_reset_mask_restarts_only_the_masked_sessions() -> None:
    env = make_vec(num_envs=4)
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    for _ in range(3):
        obs, *_, info = env.step(distinct_slates(rng, 4))
    before = info["session_id"].copy()  # all four sessions still running (checked by the context below)
    obs, info = env.reset(options={"reset_mask": np.array([True, False, False, True])})
    assert (info["session_id"][[0, 3]] > before.max()).all()  # once every session restarted: options were ignored
    assert (info["session_id"][[1, 2]] == before[[1, 2]]).all()
    assert (obs["context"][[0, 3], 0] == 0).all() and (obs["context"][[1, 2], 0] > 0).all()


@pytest.mark.parametrize(
    ("seed", "options", "message"),
    [
        ([0, 1], None, "a list of 2 seeds for 4 sessions"),
        ([None, 1, 2, 3], None, "seeded by the first seed, which is None"),
        (None, {"reset_mask": [1, 0, 0, 1]}, r"bool array of shape \(4,\); got int64"),
        (None, {"reset_mask": np.ones(3, bool)}, r"shape \(4,\); got bool \(3,\)"),
        (None, {"seed_mask": 1}, r"\['seed_mask'\] not understood"),
        (1, {"reset_mask": np.ones(4, bool)}, "not with a new world"),
    ],
)
def test_reset_arguments_it_cannot_honour_are_refused(seed: Any, options: Any, message: str) -> None:
    """Once ignored in silence: a short or None-led seed list, Gymnasium's reset_mask, any option."""
    env = make_vec(num_envs=4)
    env.reset(seed=0)
    with pytest.raises(ValueError, match=message):
        env.reset(seed=seed, options=options)


def test_render_warns_and_returns_none() -> None:
    """As Gymnasium's envs made without a render_mode; the base class raised NotImplementedError."""
    env = make_vec(num_envs=2)
    env.reset(seed=0)
    with pytest.warns(UserWarning, match="FreshRecVectorEnv has no render modes"):
        assert env.render() is None
    single = gymnasium.make("freshrec/DriftingUsers-v0", encoder=HASH)
    single.reset(seed=0)
    with pytest.warns(UserWarning, match="FreshRecEnv has no render modes"):
        assert single.render() is None
    with pytest.raises(ValueError, match=r"\['reset_mask'\] not understood \(the single env takes no reset options"):
        single.reset(options={"reset_mask": np.ones(1, bool)})
