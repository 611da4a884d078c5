"""The single env's actions and arguments: random and invalid actions (fuzz), clear errors, config checks."""

from __future__ import annotations

import math
import re
import warnings
from typing import Any

import gymnasium
import numpy as np
import pytest
from env_helpers import K, M, finite, make, make_vec
from gymnasium.utils.env_checker import data_equivalence

from freshrec.simulators.config import ConfigError, WorldConfig

# ---------------------------------------------------------------- fuzz
INVALID_ACTIONS: list[tuple[Any, str]] = [
    (np.array([0, 1, 2, 3, -1]), r"slate position 4 = -1: must be an integer in \[0, 31\]"),
    (np.array([-7, 1, 2, 3, 4]), r"slate position 0 = -7: must be an integer in \[0, 31\]"),
    (np.array([0, 1, 32, 3, 4]), r"slate position 2 = 32: must be an integer in \[0, 31\]"),
    (np.array([0, 1, 2, 3, 4000]), r"slate position 4 = 4000: must be an integer in \[0, 31\]"),
    (np.array([0, 1, 2, 3]), r"shape \(4,\): must be \(5,\)"),
    (np.array([[0, 1], [2, 3]]), r"shape \(2, 2\): must be \(5,\)"),
    (np.array(3), r"shape \(\): must be \(5,\)"),
    (np.array([0.0, 1.5, 2.0, 3.0, 4.0]), r"integer in \[0, 31\]"),
    (np.array([0.0, 1.0, np.nan, 3.0, 4.0]), r"integer in \[0, 31\]"),
    (np.array([0.0, 1.0, np.inf, 3.0, 4.0]), r"integer in \[0, 31\]"),
    (np.array([True, False, True, False, True]), r"integer in \[0, 31\]"),
    (np.array(["a", "b", "c", "d", "e"]), r"integer in \[0, 31\]"),
]


@pytest.mark.parametrize(
    ("action", "message"), INVALID_ACTIONS, ids=[f"{a.dtype}{list(a.shape)}" for a, _ in INVALID_ACTIONS]
)
def test_invalid_action_raises_and_leaves_the_env_usable(action: np.ndarray, message: str) -> None:
    env = make()
    env.reset(seed=0)
    time = env.unwrapped.state.time
    with pytest.raises(ValueError, match=message):
        env.step(action)
    assert env.unwrapped.state.time == time  # nothing moved
    nxt = env.step(np.arange(K))
    assert env.observation_space.contains(nxt[0])


@pytest.mark.parametrize(
    ("bad", "shown"),
    [(4.5, "4.5"), (np.nan, "nan"), (1e30, "1e+30"), (np.uint64(2**64 - 1), "18446744073709551615")],
    ids=["fraction", "nan", "huge", "uint64"],
)
def test_invalid_float_action_names_its_position_and_value(bad: Any, shown: str) -> None:
    action = np.array([0, 1, 2, 3, 0], dtype=np.asarray(bad).dtype)
    action[4] = bad
    env = make()
    env.reset(seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no cast warnings on the way to the error
        with pytest.raises(ValueError, match=rf"slate position 4 = {re.escape(shown)}\b.*\[0, 31\]"):
            env.step(action)


def test_whole_floats_and_lists_are_accepted() -> None:
    env = make()
    env.reset(seed=0)
    a = env.step(np.array([0.0, 1.0, 2.0, 3.0, 4.0]))
    env.reset(seed=0)
    b = env.step([0, 1, 2, 3, 4])
    assert data_equivalence(a, b, exact=True)


def test_fuzz_valid_and_invalid_actions(small_config: WorldConfig) -> None:
    rng = np.random.default_rng(123)
    env = make(config=small_config.replace(catalog__arrival_rate=2.0, users__shift_hazard=0.01))
    obs, _ = env.reset(seed=9)
    space = env.observation_space
    repeats = 0
    for i in range(400):
        if rng.random() < 0.2:
            action, _ = INVALID_ACTIONS[int(rng.integers(len(INVALID_ACTIONS)))]
            with pytest.raises(ValueError, match=r"\[0, 31\]|must be \(5,\)"):
                env.step(action)
            continue
        action = rng.integers(0, M, K)  # repeats are frequent: 5 draws of 32 collide ~28% of the time
        obs, reward, terminated, truncated, info = env.step(action)
        assert space.contains(obs), i
        assert finite(obs) and math.isfinite(reward) and finite(info), i
        rep = info["repeated_positions"]
        if rep.any():
            repeats += 1
            assert np.all(info["slate_item_ids"][rep] == -1) and np.all(info["slate_click_prob"][rep] == 0)
            assert not rep[info["clicked_position"]] or info["clicked_position"] == -1
        if terminated or truncated:
            obs, _ = env.reset()
    assert repeats > 30


# ---------------------------------------------------------------- arguments
def test_render_mode_none_is_accepted_and_others_refused_by_name() -> None:
    # Generic training code passes render_mode=None explicitly; it once raised a TypeError.
    for env in (make(render_mode=None), make_vec(num_envs=2, render_mode=None)):
        assert env.render_mode is None
        env.reset(seed=0)
    for build in (make, make_vec):
        # gymnasium.make warns first that 'human' is not among the render modes; the env's error is what matters
        with warnings.catch_warnings(), pytest.raises(ValueError, match="render_mode = 'human': freshrec's envs have"):
            warnings.simplefilter("ignore", UserWarning)
            build(render_mode="human")


def test_a_regime_given_against_the_id_is_refused_by_name() -> None:
    # Gymnasium merges the caller's kwargs over the id's: this once ran the full regime under the Stationary id.
    for env in (make("freshrec/Stationary-v0", regime="full"), make_vec("freshrec/Stationary-v0", 2, regime="full")):
        with pytest.raises(
            ValueError,
            match=r"regime = 'full': freshrec/Stationary-v0 is the 'stationary' regime.*"
            r"make freshrec/DriftingUsers-v0 instead",
        ):
            env.reset(seed=0)
    make("freshrec/Stationary-v0", regime="stationary").reset(seed=0)  # the id's own regime, spelled out, is fine
    make_vec("freshrec/DriftOnly-v0", 2).reset(seed=0)


def test_env_arguments(small_config: WorldConfig) -> None:
    env = make(config=small_config, text_dim=8)
    obs, _ = env.reset(seed=0)
    assert env.unwrapped.config == small_config
    assert obs["candidate_features"].shape == (M * (8 + 3),)
    assert obs["history_features"].shape == (16 * (8 + 3),) and obs["skipped_features"].shape == (10 * (8 + 3),)
    assert env.observation_space["user_id"].high[0] == 199
    with pytest.raises(ConfigError, match="config = 'full': must be a WorldConfig"):
        make(config="full")
    with pytest.raises(ConfigError, match="regime 'bogus'"):
        make(regime="bogus")
    with pytest.raises(ValueError, match="encoder = 'bogus'"):
        make(encoder="bogus")
    with pytest.raises(ValueError, match="text_dim = 0"):
        make(text_dim=0)
    # More columns than the encoder's vectors have: once zero-padded in silence; the encoder's width itself is fine.
    with pytest.raises(ValueError, match="text_dim = 65: must be at most 64, the width of encoder 'hashing:64'"):
        make(encoder="hashing:64", text_dim=65)
    assert make(encoder="hashing:64", text_dim=64).observation_space["candidate_features"].shape == (32 * 67,)
    # A malformed encoder is refused by name before anything is encoded (they once gave int() or modulo errors).
    for bad in ("hashing:abc", "hashing:0", "hashing:-5", "hashing:", "hashingfoo", "hashing:²"):
        with pytest.raises(ValueError, match=re.escape(f"encoder = {bad!r}: must be 'minilm', 'hashing' or")):
            make(encoder=bad)


def test_item_encoding_is_found_through_wrappers() -> None:
    from freshrec.envs.core import item_encoding
    from freshrec.envs.sb3 import FreshRecSB3VecEnv

    env = make(encoder="hashing", text_dim=8)  # "hashing" is hashing:256, in the one spelling the cache uses too
    assert env.unwrapped.encoder == "hashing:256"  # type: ignore[attr-defined]
    assert item_encoding(env) == {"encoder": "hashing:256", "text_dim": 8}
    venv = gymnasium.make_vec("freshrec/DriftingUsers-v0", num_envs=2, encoder="hashing:64")
    assert item_encoding(FreshRecSB3VecEnv(venv)) == {"encoder": "hashing:64", "text_dim": 16}
    assert item_encoding(object()) is None
    # SB3's own vector envs of separate envs (what PPO(policy, env) makes of a single env), found through get_attr;
    # once None, so such a model was saved without its encoding.
    from stable_baselines3.common.vec_env import DummyVecEnv, VecMonitor

    dummy = VecMonitor(DummyVecEnv([lambda: make(encoder="hashing:32", text_dim=8)]))
    assert item_encoding(dummy) == {"encoder": "hashing:32", "text_dim": 8}
    assert item_encoding(DummyVecEnv([lambda: gymnasium.make("CartPole-v1")])) is None  # no freshrec env: None


def test_small_slates_and_candidate_sets() -> None:
    cfg = WorldConfig().replace(
        users__users=100, catalog__slots=50, catalog__initial_items=50,
        slate__num_candidates=8, slate__slate_size=2, slate__newest=2, slate__trending=2, slate__history=3,
        slate__skipped=1,
    )  # fmt: skip
    env = make(config=cfg)
    obs, _ = env.reset(seed=0)
    assert env.action_space.nvec.tolist() == [8, 8]
    rng = np.random.default_rng(0)
    for _ in range(100):
        obs, _, terminated, truncated, _ = env.step(rng.integers(0, 8, 2))
        assert env.observation_space.contains(obs)
        assert obs["skipped_ids"].shape == (1,) and obs["history_ids"].shape == (3,)
        if terminated or truncated:
            env.reset()


def test_default_minilm_env_observation_shapes(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """The one test that builds the real sentence encoder (all-MiniLM-L6-v2, offline).

    Encoding the bank's 5,280 texts costs ~30-60 s on a CPU, so this test keeps the projected features in
    pytest's cache folder (``.pytest_cache``) across runs instead of the per-test temporary cache: the first
    run encodes, later runs read the file. ``pytest --cache-clear`` encodes again.
    """
    if getattr(request.config, "cache", None) is not None:
        monkeypatch.setenv("FRESHREC_CACHE", str(request.config.cache.mkdir("freshrec_minilm")))
    env = gymnasium.make("freshrec/DriftingUsers-v0")
    assert env.spec is not None and "encoder" not in env.spec.kwargs  # the default encoder
    assert env.unwrapped.text.shape == (len(env.unwrapped.world.bank.texts), 16)
    obs, _ = env.reset(seed=0)
    shapes = {k: v.shape for k, v in obs.items()}
    assert shapes == {
        "candidate_features": (32 * 19,),
        "candidate_ids": (32,),
        "candidate_topics": (32,),
        "candidate_mask": (32,),
        "history_features": (16 * 19,),
        "history_ids": (16,),
        "history_topics": (16,),
        "history_mask": (16,),
        "skipped_features": (10 * 19,),
        "skipped_ids": (10,),
        "skipped_topics": (10,),
        "skipped_mask": (10,),
        "user_id": (1,),
        "context": (4,),
    }
    assert env.observation_space.contains(obs)
    text = obs["candidate_features"].reshape(32, 19)[:, :16]
    assert np.all(np.linalg.norm(text, axis=1) <= 1 + 1e-5) and np.abs(text).max() > 0.1
    obs, *_ = env.step(env.action_space.sample())
    assert env.observation_space.contains(obs)


def test_a_masked_candidate_is_an_empty_slot() -> None:
    """The documented behaviour: choosing a position whose candidate_mask is 0 shows nothing there."""
    env = gymnasium.make("freshrec/DriftingUsers-v0", encoder="hashing:64")
    obs, _ = env.reset(seed=0)
    for _ in range(200):
        masked = np.flatnonzero(obs["candidate_mask"] == 0)
        if masked.size:
            break
        obs, *_ = env.step(env.action_space.sample())
    assert masked.size, "no masked candidate in 200 steps"
    live = np.flatnonzero(obs["candidate_mask"] == 1)[:4]
    _, _, _, _, info = env.step(np.r_[masked[0], live])
    assert info["slate_item_ids"][0] == -1 and (info["slate_item_ids"][1:] >= 0).all()
    assert info["slate_click_prob"][0] == 0 and info["clicked_position"] != 0
    assert not info["repeated_positions"].any()
