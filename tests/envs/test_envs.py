"""The single-session env ``FreshRecEnv`` through ``gymnasium.make``: API conformance, determinism, spaces, info."""

from __future__ import annotations

import pickle
import warnings
from typing import Any

import gymnasium
import numpy as np
import pytest
from env_helpers import HASH, IDS, F, K, M, make
from gymnasium.utils.env_checker import check_env, data_equivalence
from stable_baselines3.common.env_checker import check_env as sb3_check_env

from freshrec.envs import ENV_IDS, MAX_EPISODE_STEPS, FreshRecEnv
from freshrec.simulators.calibration import CalibratedWorld
from freshrec.simulators.config import ConfigError, WorldConfig


# ---------------------------------------------------------------- conformance
@pytest.mark.parametrize("env_id", IDS)
def test_gymnasium_check_env_without_warnings(env_id: str) -> None:
    env = make(env_id)
    assert env.unwrapped.spec is not None and env.unwrapped.spec.id == env_id
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env.unwrapped)
    assert [str(w.message) for w in caught] == []


@pytest.mark.parametrize("env_id", IDS)
def test_sb3_check_env_without_warnings(env_id: str) -> None:
    for env in (make(env_id), make(env_id).unwrapped):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            sb3_check_env(env, warn=True)
        assert [str(w.message) for w in caught] == []


def test_registration_and_regimes() -> None:
    assert set(ENV_IDS) == {"freshrec/DriftingUsers-v0", "freshrec/DriftOnly-v0", "freshrec/Stationary-v0",
                            "freshrec/MovieLens100K-v0"}  # fmt: skip
    for env_id, (regime, _) in ENV_IDS.items():
        spec = gymnasium.spec(env_id)
        assert spec.max_episode_steps == MAX_EPISODE_STEPS == 100
        assert spec.vector_entry_point is not None
        env = make(env_id)
        if regime == "movielens":
            assert isinstance(env.unwrapped.world, CalibratedWorld)
            assert env.unwrapped.config == env.unwrapped.world.calibration.world_config()
        else:
            assert env.unwrapped.config == WorldConfig.regime(regime)
    assert isinstance(make().unwrapped, FreshRecEnv)


def test_the_calibrated_env_reads_its_data_and_only_it_does() -> None:
    env = make("freshrec/MovieLens100K-v0")
    obs, _ = env.reset(seed=0)
    world = env.unwrapped.world
    # The public text features are those of the real titles, in the calibration's item order.
    assert world.bank.texts == tuple(world.calibration.item_text)
    live = obs["candidate_ids"][obs["candidate_mask"] == 1]
    assert np.all(live < world.calibration.initial_items)  # at tick 0 only the movies seen before t0 exist
    with pytest.raises(ConfigError, match=r"data = 'x': only the 'movielens' regime reads a data set"):
        make("freshrec/DriftingUsers-v0", data="x")
    with pytest.raises(FileNotFoundError, match=r"neither a known name"):
        make("freshrec/MovieLens100K-v0", data="/no/such/folder")


# ---------------------------------------------------------------- determinism and pickling
def _transitions(env: gymnasium.Env[Any, Any], rng: np.random.Generator, steps: int) -> list[tuple[Any, ...]]:
    """Random slates (repeats allowed); a new session after every end, as an agent loop does."""
    out: list[tuple[Any, ...]] = []
    for _ in range(steps):
        obs, reward, terminated, truncated, info = env.step(rng.integers(0, M, K))
        out.append((obs, reward, terminated, truncated, info))
        if terminated or truncated:
            out.append(env.reset())
    return out


@pytest.mark.parametrize("env_id", IDS)
def test_two_envs_same_seed_same_everything(env_id: str) -> None:
    a, b = make(env_id), make(env_id)
    assert data_equivalence(a.reset(seed=42), b.reset(seed=42), exact=True)
    ra, rb = np.random.default_rng(0), np.random.default_rng(0)
    ended = 0
    for _ in range(300):
        action = ra.integers(0, M, K)
        assert np.array_equal(action, rb.integers(0, M, K))
        sa, sb = a.step(action), b.step(action)
        assert data_equivalence(sa, sb, exact=True)
        if sa[2] or sa[3]:
            ended += 1
            assert data_equivalence(a.reset(), b.reset(), exact=True)
    assert ended >= 2  # the comparison crossed session boundaries
    # Another seed is another world.
    assert not data_equivalence(a.reset(seed=1)[0], b.reset(seed=2)[0], exact=True)


@pytest.mark.parametrize("env_id", IDS)
def test_pickle_round_trip_continues_identically(env_id: str) -> None:
    env = make(env_id)
    env.reset(seed=3)
    rng = np.random.default_rng(0)
    _transitions(env, rng, 40)
    clone = pickle.loads(pickle.dumps(env))
    for _ in range(150):
        action = rng.integers(0, M, K)
        sa, sb = env.step(action), clone.step(action)
        assert data_equivalence(sa, sb, exact=True)
        if sa[2] or sa[3]:
            assert data_equivalence(env.reset(), clone.reset(), exact=True)
    # Independent copies: stepping one leaves the other alone.
    time = env.unwrapped.state.time
    clone.step(rng.integers(0, M, K))
    assert env.unwrapped.state.time == time


def test_a_spec_read_back_from_json_rebuilds_the_same_env_config_included() -> None:
    config = WorldConfig().replace(users__users=300, slate__slate_size=3)
    env = gymnasium.make(IDS[0], encoder=HASH, config=config)
    assert env.spec is not None
    again = gymnasium.make(gymnasium.envs.registration.EnvSpec.from_json(env.spec.to_json()))
    assert again.unwrapped.config == config  # the JSON holds the config as a dict of its groups
    a, b = env.reset(seed=3)[0], again.reset(seed=3)[0]
    assert data_equivalence(a, b)
    with pytest.raises(ConfigError, match="UserConfig has no field 'user'"):
        gymnasium.make(IDS[0], encoder=HASH, config={"users": {"user": 300}})
    with pytest.raises(ConfigError, match="unknown config group"):
        gymnasium.make(IDS[0], encoder=HASH, config={"people": {}})


def test_reset_seed_rebuilds_reset_without_seed_continues() -> None:
    env = make()
    obs0, info0 = env.reset(seed=5)
    assert info0["world_time"] == 0
    session0 = int(info0["session_id"])
    rng = np.random.default_rng(0)
    steps = 0
    while True:
        steps += 1
        _, _, terminated, truncated, _ = env.step(rng.integers(0, M, K))
        if terminated or truncated:
            break
    _, info1 = env.reset()
    assert info1["world_time"] == steps  # the same world, its clock still running
    assert int(info1["session_id"]) == session0 + 1
    assert int(info1["user_id"]) != int(info0["user_id"])
    # The live catalog is reported at every reset.
    assert info1["world_live_item_ids"].shape == info1["world_live_item_arrival"].shape
    obs2, info2 = env.reset(seed=5)
    assert info2["world_time"] == 0
    assert data_equivalence(obs2, obs0, exact=True)


def test_step_before_reset_and_after_the_end_raise() -> None:
    env = FreshRecEnv(encoder=HASH, config=WorldConfig().replace(users__leave_hazard=1.0))
    with pytest.raises(RuntimeError, match="reset"):
        env.step(np.arange(K))
    env.reset(seed=0)
    _, _, terminated, _, _ = env.step(np.arange(K))
    assert terminated  # leave hazard 1: the user leaves after the first slate
    with pytest.raises(RuntimeError, match="reset"):
        env.step(np.arange(K))
    env.reset()
    env.step(np.arange(K))  # usable again


# ---------------------------------------------------------------- spaces and episode ends
@pytest.mark.parametrize("env_id", IDS)
def test_observations_stay_in_the_space_and_sessions_end_properly(env_id: str) -> None:
    env = make(env_id)
    space = env.observation_space
    obs, _ = env.reset(seed=0)
    assert space.contains(obs)
    rng = np.random.default_rng(1)
    length, lengths = 0, []
    for _ in range(400):
        obs, reward, terminated, truncated, info = env.step(rng.integers(0, M, K))
        length += 1
        assert space.contains(obs), {k: v for k, v in obs.items() if not space[k].contains(v)}
        assert isinstance(reward, float) and reward in (0.0, 1.0)
        assert isinstance(terminated, bool) and isinstance(truncated, bool)
        assert truncated == (length == MAX_EPISODE_STEPS)
        assert info["session_step"] == length - 1
        assert obs["context"][0] == length  # steps taken in the session
        if terminated or truncated:
            lengths.append(length)
            length = 0
            obs, _ = env.reset()
            assert space.contains(obs) and obs["context"][0] == 0
    assert len(lengths) >= 3


def test_session_is_truncated_at_exactly_100_steps_when_the_user_never_leaves() -> None:
    cfg = WorldConfig().replace(users__leave_hazard=0.0, users__patience=1e5, users__patience_max=1e5)
    env = make(config=cfg)
    env.reset(seed=0)
    for session in range(2):
        for step in range(1, MAX_EPISODE_STEPS + 1):
            _, _, terminated, truncated, info = env.step(np.arange(K))
            assert not terminated
            assert truncated == (step == MAX_EPISODE_STEPS), (session, step)
        assert info["session_step"] == MAX_EPISODE_STEPS - 1
        env.reset()


def test_terminated_exactly_when_patience_runs_out_without_leave_hazard() -> None:
    cfg = WorldConfig().replace(users__leave_hazard=0.0, users__patience=2.0)
    env = make(config=cfg)
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    ends = 0
    for _ in range(400):
        patience_before = float(env.unwrapped.state.sessions.patience[0])
        _, _, terminated, truncated, info = env.step(rng.integers(0, M, K))
        patience = float(env.unwrapped.state.sessions.patience[0])
        assert terminated == (patience <= 0)
        if terminated:
            # Only an unanswered slate costs patience: the last step had no click and took exactly 1.
            assert info["clicked_position"] == -1 and patience == pytest.approx(patience_before - 1.0)
            ends += 1
        if terminated or truncated:
            env.reset()
    assert ends >= 5


def test_leaving_on_the_last_allowed_step_is_both_terminated_and_truncated_in_both_envs() -> None:
    # Gymnasium's TimeLimit convention: at the limit the session is truncated even if the user also left.
    # The vector env follows it, so the two envs agree (and SB3's adapter does not bootstrap: not TimeLimit.truncated).
    config = WorldConfig().replace(users__leave_hazard=1.0)
    env = make(config=config, max_episode_steps=1)
    env.reset(seed=0)
    _, _, terminated, truncated, _ = env.step(np.arange(K))
    assert terminated and truncated
    venv = gymnasium.make_vec(
        "freshrec/DriftingUsers-v0", num_envs=2, encoder="hashing:64", config=config, max_episode_steps=1
    )
    venv.reset(seed=0)
    _, _, vterm, vtrunc, _ = venv.step(np.tile(np.arange(K), (2, 1)))
    assert vterm.all() and vtrunc.all()


# ---------------------------------------------------------------- what a step reports
def test_info_agrees_with_the_observation_and_the_world() -> None:
    env = make()
    obs, _ = env.reset(seed=0)
    rng = np.random.default_rng(0)
    clicks = 0
    for _ in range(300):
        action = rng.integers(0, M, K)
        t = env.unwrapped.state.time
        nxt, reward, terminated, truncated, info = env.step(action)
        repeated = np.array([a in action[:i] for i, a in enumerate(action)])
        np.testing.assert_array_equal(info["repeated_positions"], repeated)
        shown = ~repeated & (obs["candidate_mask"][action] == 1)
        # The slate is what the observation offered at those positions; empty slots are -1.
        np.testing.assert_array_equal(info["slate_item_ids"], np.where(shown, obs["candidate_ids"][action], -1))
        np.testing.assert_array_equal(info["slate_topics"], np.where(shown, obs["candidate_topics"][action], -1))
        # Ages: the observation's log1p(age) feature of the chosen candidates.
        age_feature = obs["candidate_features"].reshape(M, F)[action, F - 3]
        np.testing.assert_allclose(info["slate_age"][shown], np.expm1(age_feature[shown]), rtol=1e-5, atol=1e-4)
        assert info["time"] == t and info["world_time"] == t + 1
        # Click model ground truth.
        p = info["slate_click_prob"]
        assert np.all(p >= 0) and p.sum() < 1 and np.all(p[~shown] == 0)
        rel = info["slate_relevance"]
        assert np.all((rel >= 0) & (rel <= 1)) and np.all(rel[~shown] == 0)
        np.testing.assert_array_equal(info["slate_relevant"], rel >= 0.5)
        ideal = info["ideal_relevance"]
        assert np.all(np.diff(ideal) <= 0) and np.all(ideal >= -np.sort(-rel)[:K] - 1e-7)
        assert info["num_relevant"] >= info["slate_relevant"].sum()
        # Every candidate's relevance: the slate's entries, the K best, the count, 0 where masked.
        everyone = info["candidate_relevance"]
        assert everyone.shape == (M,) and np.all(everyone[obs["candidate_mask"] == 0] == 0)
        np.testing.assert_array_equal(everyone[action][shown], rel[shown])
        np.testing.assert_array_equal(np.sort(everyone)[::-1][:K], ideal)
        assert info["num_relevant"] == (everyone >= 0.5).sum()
        c = info["clicked_position"]
        assert reward == float(c >= 0)
        if c >= 0:
            clicks += 1
            assert shown[c]
            assert info["clicked_item_id"] == info["slate_item_ids"][c]
            assert 0 < info["engagement"] < 1
            # The click is at the front of the user's history in the next observation.
            assert nxt["history_ids"][0] == info["clicked_item_id"] and nxt["history_mask"][0] == 1
            assert nxt["history_topics"][0] == info["slate_topics"][c]
        else:
            assert info["clicked_item_id"] == -1 and info["engagement"] == 0
        # Skipped memory: this slate's shown, unclicked items, in slate order, at the front.
        skipped = shown & (np.arange(K) != c)
        np.testing.assert_array_equal(nxt["skipped_ids"][:K], np.where(skipped, info["slate_item_ids"], -1))
        np.testing.assert_array_equal(nxt["skipped_mask"][:K], skipped.astype(np.int8))
        assert nxt["context"][1] == obs["context"][1] + (c >= 0)
        obs = nxt
        if terminated or truncated:
            obs, _ = env.reset()
    assert clicks > 20


def test_reveal_relevance_adds_the_hidden_truth_and_passes_the_checkers() -> None:
    """``reveal_relevance=True``: the observation also holds the world's ``candidate_relevance`` of that moment (as
    float32); everything else is the plain env's, and both API checkers still pass without a warning."""
    shown, plain = make(reveal_relevance=True), make()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(make(reveal_relevance=True).unwrapped)
        sb3_check_env(make(reveal_relevance=True), warn=True)
    assert [str(w.message) for w in caught] == []
    obs_s, _ = shown.reset(seed=2)
    obs_p, _ = plain.reset(seed=2)
    for _ in range(5):
        assert shown.observation_space.contains(obs_s)
        truth = shown.unwrapped.world.candidate_relevance(shown.unwrapped.state)[0]  # type: ignore[attr-defined]
        np.testing.assert_array_equal(obs_s["candidate_relevance"], truth.astype(np.float32))
        assert data_equivalence({k: v for k, v in obs_s.items() if k != "candidate_relevance"}, obs_p)
        obs_s, *_ = shown.step(np.arange(K))
        obs_p, *_ = plain.step(np.arange(K))
    assert "candidate_relevance" not in plain.observation_space.spaces  # type: ignore[attr-defined]


def test_engagement_reward() -> None:
    env = make(config=WorldConfig().replace(choice__reward="engagement"))
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    rewards = []
    for _ in range(200):
        _, reward, terminated, truncated, info = env.step(rng.integers(0, M, K))
        assert reward == pytest.approx(float(info["engagement"]))
        assert (reward > 0) == (info["clicked_position"] >= 0)
        rewards.append(reward)
        if terminated or truncated:
            env.reset()
    assert 0 < max(rewards) < 1
