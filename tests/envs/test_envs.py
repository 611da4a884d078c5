"""The single-session env ``FreshRecEnv`` through ``gymnasium.make``: API conformance, determinism, spaces, fuzz."""

from __future__ import annotations

import math
import pickle
import re
import warnings
from typing import Any

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env, data_equivalence
from stable_baselines3.common.env_checker import check_env as sb3_check_env

from freshrec.envs import ENV_IDS, MAX_EPISODE_STEPS, FreshRecEnv
from freshrec.simulators.config import ConfigError, WorldConfig

HASH = "hashing:64"  # the fast test encoder: 64-d hashed bag of words, projected to text_dim = 16
M, K, F = 32, 5, 16 + 3
IDS = sorted(ENV_IDS)


def make(env_id: str = "freshrec/DriftingUsers-v0", **kwargs: Any) -> gymnasium.Env[Any, Any]:
    kwargs.setdefault("encoder", HASH)
    return gymnasium.make(env_id, **kwargs)


def finite(value: Any) -> bool:
    """True when every number in a (nested) obs/info value is finite."""
    if isinstance(value, dict):
        return all(finite(v) for v in value.values())
    arr = np.asarray(value)
    return arr.dtype.kind not in "fc" or bool(np.all(np.isfinite(arr)))


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
    assert set(ENV_IDS) == {"freshrec/DriftingUsers-v0", "freshrec/DriftOnly-v0", "freshrec/Stationary-v0"}
    for env_id, (regime, _) in ENV_IDS.items():
        spec = gymnasium.spec(env_id)
        assert spec.max_episode_steps == MAX_EPISODE_STEPS == 100
        assert spec.vector_entry_point is not None
        env = make(env_id)
        assert env.unwrapped.config == WorldConfig.regime(regime)
    assert isinstance(make().unwrapped, FreshRecEnv)


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
