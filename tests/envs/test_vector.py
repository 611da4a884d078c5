"""The native vector env (``gymnasium.make_vec``), its agreement with the single env, and the SB3 adapter."""

from __future__ import annotations

import math
import pickle
from typing import Any

import gymnasium
import numpy as np
import pytest
from env_helpers import HASH, IDS, K, M, distinct_slates, make, make_vec, slates
from gymnasium.utils.env_checker import data_equivalence

from freshrec.envs import FreshRecSB3VecEnv, FreshRecVectorEnv
from freshrec.envs.observation import observe
from freshrec.simulators.config import ConfigError, WorldConfig


# ---------------------------------------------------------------- determinism
@pytest.mark.parametrize("env_id", IDS)
def test_two_vector_envs_same_seed_same_everything(env_id: str) -> None:
    a, b = make_vec(env_id), make_vec(env_id)
    assert a.max_episode_steps == 100  # taken from the registration
    assert data_equivalence(a.reset(seed=7), b.reset(seed=7), exact=True)
    rng = np.random.default_rng(0)
    ended = 0
    for _ in range(300):
        action = slates(rng, 8)
        sa, sb = a.step(action), b.step(action)
        assert data_equivalence(sa, sb, exact=True)
        ended += int((sa[2] | sa[3]).sum())
    assert ended >= 20


@pytest.mark.parametrize("env_id", IDS)
def test_vector_env_pickle_round_trip(env_id: str) -> None:
    env = make_vec(env_id, num_envs=4)
    env.reset(seed=1)
    rng = np.random.default_rng(0)
    for _ in range(30):
        env.step(slates(rng, 4))
    clone = pickle.loads(pickle.dumps(env))
    for _ in range(100):
        action = slates(rng, 4)
        assert data_equivalence(env.step(action), clone.step(action), exact=True)


# ---------------------------------------------------------------- agreement with the single env
@pytest.mark.parametrize("env_id", IDS)
def test_vector_env_of_one_equals_the_single_env(env_id: str) -> None:
    """Both run World.step with B = 1 from the same world seed: identical rewards, ends and observations."""
    single = make(env_id)
    vec = make_vec(env_id, num_envs=1)
    o1, _ = single.reset(seed=3)
    o2, _ = vec.reset(seed=3)
    assert data_equivalence(o1, {k: v[0] for k, v in o2.items()}, exact=True)
    rng = np.random.default_rng(0)
    ends = 0
    for _ in range(600):
        action = rng.integers(0, M, K)
        o1, r1, te1, tr1, i1 = single.step(action)
        o2, r2, te2, tr2, i2 = vec.step(action[None])
        assert r1 == float(r2[0]) and te1 == bool(te2[0]) and tr1 == bool(tr2[0])
        for key in ("slate_item_ids", "clicked_position", "slate_click_prob", "user_id", "session_id"):
            assert data_equivalence(i1[key], i2[key][0], exact=True), key
        if te1 or tr1:
            ends += 1
            # The vector env restarted the slot in the same step; its final_obs is the single env's last obs.
            assert data_equivalence(o1, i2["final_obs"][0], exact=True)
            o1, _ = single.reset()
        assert data_equivalence(o1, {k: v[0] for k, v in o2.items()}, exact=True)
    assert ends >= 10


def _single_sessions(cfg: WorldConfig, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    env = gymnasium.make("freshrec/Stationary-v0", encoder=HASH, config=cfg)
    env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    lengths, clicks = [], []
    length = click = 0
    while len(lengths) < n:
        _, reward, terminated, truncated, _ = env.step(distinct_slates(rng, 1)[0])
        length += 1
        click += int(reward)
        if terminated or truncated:
            lengths.append(length)
            clicks.append(click)
            length = click = 0
            env.reset()
    return np.array(lengths), np.array(clicks)


def _vector_sessions(cfg: WorldConfig, n: int, seed: int, num_envs: int = 16) -> tuple[np.ndarray, np.ndarray]:
    env = make_vec("freshrec/Stationary-v0", num_envs=num_envs, config=cfg)
    env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    lengths, clicks = np.zeros(n + 10 * num_envs, np.int64), np.zeros(n + 10 * num_envs, np.int64)
    finished = np.zeros(n + 10 * num_envs, bool)
    # Count the first n sessions to *start* (ids 0..n-1) and run until all of them ended: stopping at the
    # n-th end instead would censor the long sessions still running and bias the lengths down.
    while not finished[:n].all():
        _, reward, terminated, truncated, info = env.step(distinct_slates(rng, num_envs))
        sid = info["session_id"]
        keep = sid < lengths.size
        np.add.at(lengths, sid[keep], 1)
        np.add.at(clicks, sid[keep], reward[keep].astype(np.int64))
        finished[sid[keep]] |= (terminated | truncated)[keep]
    return lengths[:n], clicks[:n]


def test_single_and_vector_env_give_the_same_session_statistics() -> None:
    """N = 16 concurrent sessions and one session at a time: same CTR and session length within 4 SE.

    The transition code is shared, but concurrent sessions of one world meet through the public trending
    list (with B = 1 it holds mostly the current user's own recent clicks, with B = 16 everyone's), and
    through the clock (drift and arrivals per tick; 16 sessions use 16x fewer ticks). The comparison
    switches those channels off: the stationary regime (no drift, frozen catalog) without trending
    candidates, and 10,000 users so that all 1,500 sessions serve users on their first visit in both envs.
    """
    cfg = WorldConfig.regime("stationary").replace(slate__trending=0)
    n = 1500
    single = _single_sessions(cfg, n, seed=0)
    vector = _vector_sessions(cfg, n, seed=0)

    def summary(lengths: np.ndarray, clicks: np.ndarray) -> tuple[float, float, float, float]:
        ctr = clicks.sum() / lengths.sum()
        # Ratio estimator: SE(ctr) = sd(clicks - ctr * lengths) / (sqrt(n) * mean length).
        se_ctr = float(np.std(clicks - ctr * lengths) / (math.sqrt(n) * lengths.mean()))
        return float(lengths.mean()), float(lengths.std() / math.sqrt(n)), float(ctr), se_ctr

    len1, se_len1, ctr1, se_ctr1 = summary(*single)
    len2, se_len2, ctr2, se_ctr2 = summary(*vector)
    assert 0.1 < ctr1 < 0.6 and 3 < len1 < 50  # sanity: random slates get some clicks, sessions end
    assert abs(len1 - len2) < 4 * math.hypot(se_len1, se_len2), (len1, len2)
    assert abs(ctr1 - ctr2) < 4 * math.hypot(se_ctr1, se_ctr2), (ctr1, ctr2)


def test_batch_and_per_session_observations_agree() -> None:
    """observe() takes a table path for many sessions and a gather path for few: the same numbers."""
    env = make_vec(num_envs=16)
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    for _ in range(25):
        env.step(slates(rng, 16))
    state = env.state
    assert state is not None
    full = observe(state, env.text)
    for i in range(16):
        one = observe(state, env.text, np.array([i]))
        assert data_equivalence({k: v[i : i + 1] for k, v in full.items()}, one, exact=True), i


# ---------------------------------------------------------------- spaces, autoreset, ends
def test_vector_observations_in_the_batched_space_and_same_step_autoreset() -> None:
    env = make_vec(num_envs=8)
    obs, info = env.reset(seed=0)
    assert env.observation_space.contains(obs)
    assert info["user_id"].shape == (8,) and len(set(info["user_id"].tolist())) == 8
    rng = np.random.default_rng(0)
    ends = 0
    steps = np.zeros(8, np.int64)
    for _ in range(300):
        obs, reward, terminated, truncated, info = env.step(slates(rng, 8))
        steps += 1
        assert env.observation_space.contains(obs)
        assert reward.shape == terminated.shape == truncated.shape == (8,)
        assert reward.dtype == np.float32 and terminated.dtype == truncated.dtype == np.bool_
        assert not (terminated & truncated).any()
        np.testing.assert_array_equal(truncated, steps == 100)  # TimeLimit's convention: may coincide with terminated
        np.testing.assert_array_equal(info["session_step"], steps - 1)
        done = terminated | truncated
        if done.any():
            ends += int(done.sum())
            np.testing.assert_array_equal(info["_final_obs"], done)
            final = info["final_obs"]
            assert final.shape == (8,) and all((final[i] is None) == (not done[i]) for i in range(8))
            for i in np.flatnonzero(done):
                assert env.single_observation_space.contains(final[i])
                # The ended session's last observation is theirs (its user); the new one starts afresh.
                assert final[i]["user_id"][0] == info["user_id"][i]
            assert np.all(obs["context"][done, 0] == 0) and np.all(obs["context"][~done, 0] == steps[~done])
            assert not np.isin(obs["user_id"][done, 0], obs["user_id"][~done, 0]).any()
        else:
            assert "final_obs" not in info
        steps[done] = 0
        assert len(set(obs["user_id"][:, 0].tolist())) == 8  # never one user in two sessions
    assert ends > 50


def test_reveal_relevance_adds_the_hidden_truth_and_changes_nothing_else() -> None:
    """``reveal_relevance=True``: every observation, final ones included, carries the world's
    ``candidate_relevance`` of that moment; every other key, the rewards and the end flags are the plain env's."""
    import copy

    plain, shown = (
        make_vec(num_envs=8, max_episode_steps=3),
        make_vec(num_envs=8, max_episode_steps=3, reveal_relevance=True),
    )
    assert "candidate_relevance" not in plain.single_observation_space.spaces
    obs_p, _ = plain.reset(seed=4)
    obs_s, _ = shown.reset(seed=4)
    assert shown.state is not None
    rng = np.random.default_rng(0)
    finals = 0
    for _ in range(7):
        assert shown.observation_space.contains(obs_s)
        truth = shown.world.candidate_relevance(shown.state).astype(np.float32)  # (8, M), float32 as the space
        np.testing.assert_array_equal(obs_s["candidate_relevance"], truth)
        assert data_equivalence({k: v for k, v in obs_s.items() if k != "candidate_relevance"}, obs_p)
        actions = distinct_slates(rng, 8)
        before = copy.deepcopy(shown)  # the relevance at the end of each session, before its slot restarts
        assert before.state is not None
        before.world.step(before.state, actions)
        out_p, out_s = plain.step(actions), shown.step(actions)
        obs_p, obs_s = out_p[0], out_s[0]
        for a, b in zip(out_p[1:4], out_s[1:4], strict=True):
            np.testing.assert_array_equal(a, b)
        if "final_obs" in out_s[4]:
            truth = before.world.candidate_relevance(before.state).astype(np.float32)
            for i in np.flatnonzero(out_s[4]["_final_obs"]):
                finals += 1
                final = out_s[4]["final_obs"][i]
                assert shown.single_observation_space.contains(final)
                np.testing.assert_array_equal(final["candidate_relevance"], truth[i])
                assert (final["candidate_relevance"][final["candidate_mask"] == 0] == 0).all()
    assert finals >= 16  # sessions last at most 3 steps: in 7 steps every slot ended at least twice


def test_vector_truncation_and_no_limit() -> None:
    cfg = WorldConfig().replace(users__leave_hazard=0.0, users__patience=1e5, users__patience_max=1e5)
    env = make_vec(num_envs=4, config=cfg)
    env.reset(seed=0)
    for step in range(1, 201):
        _, _, terminated, truncated, _ = env.step(np.tile(np.arange(K), (4, 1)))
        assert not terminated.any()
        assert truncated.all() == (step % 100 == 0) and truncated.any() == (step % 100 == 0)
    unlimited = FreshRecVectorEnv(num_envs=2, max_episode_steps=None, encoder=HASH, config=cfg)
    unlimited.reset(seed=0)
    for _ in range(150):
        _, _, terminated, truncated, _ = unlimited.step(np.tile(np.arange(K), (2, 1)))
        assert not truncated.any() and not terminated.any()
    with pytest.raises(ConfigError, match="max_episode_steps = 0"):
        FreshRecVectorEnv(num_envs=2, max_episode_steps=0, encoder=HASH)
    with pytest.raises(ConfigError, match="max_episode_steps = -2"):
        FreshRecVectorEnv(num_envs=2, max_episode_steps=-2, encoder=HASH)


def test_max_episode_steps_minus_one_means_no_limit_in_make_and_make_vec_alike() -> None:
    # gymnasium.make drops its TimeLimit for -1 and passes -1 on to make_vec's vector entry point.
    cfg = WorldConfig().replace(users__leave_hazard=0.0, users__patience=1e5, users__patience_max=1e5)
    kwargs: dict[str, Any] = {"encoder": HASH, "config": cfg, "max_episode_steps": -1}
    vec = gymnasium.make_vec(IDS[0], num_envs=2, **kwargs)
    single = gymnasium.make(IDS[0], **kwargs)
    vec.reset(seed=0)
    single.reset(seed=0)
    for _ in range(150):
        _, _, terminated, truncated, _ = vec.step(np.tile(np.arange(K), (2, 1)))
        assert not truncated.any() and not terminated.any()
        _, _, term, trunc, _ = single.step(np.arange(K))
        assert not trunc and not term
    with pytest.raises(ConfigError, match=r"num_envs = 0: must be an integer >= 1"):  # not the world's num_sessions
        FreshRecVectorEnv(num_envs=0, encoder=HASH)


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (np.zeros((3, K), np.int64), r"shape \(3, 5\): must be \(4, 5\)"),
        (np.zeros(K, np.int64), r"shape \(5,\): must be \(4, 5\)"),
        (
            np.array([[0, 1, 2, 3, 4]] * 3 + [[0, 1, 2, -3, 4]]),
            r"session 3, slate position 3 = -3: must be an integer in \[0, 31\]",
        ),
        (np.array([[0, 1, 2, 3, 32]] * 4), r"session 0, slate position 4 = 32: must be an integer in \[0, 31\]"),
        (np.full((4, K), 0.5), r"integer in \[0, 31\]"),
    ],
    ids=["rows", "flat", "negative", "too-big", "fraction"],
)
def test_vector_invalid_actions(action: np.ndarray, message: str) -> None:
    env = make_vec(num_envs=4)
    env.reset(seed=0)
    with pytest.raises(ValueError, match=message):
        env.step(action)
    assert env.state is not None and env.state.time == 0.0
    env.step(np.tile(np.arange(K), (4, 1)))


def test_vector_fuzz_no_nan(small_config: WorldConfig) -> None:
    env = make_vec(num_envs=8, config=small_config.replace(catalog__arrival_rate=3.0, users__shift_hazard=0.02))
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    for _ in range(300):
        obs, reward, _, _, info = env.step(slates(rng, 8))
        assert all(np.all(np.isfinite(v)) for v in obs.values() if v.dtype.kind == "f")
        assert np.all(np.isfinite(reward))
        for key, value in info.items():
            if isinstance(value, np.ndarray) and value.dtype.kind == "f":
                assert np.all(np.isfinite(value)), key


# ---------------------------------------------------------------- stable-baselines3
def _sb3_venv(num_envs: int = 4, **kwargs: Any) -> FreshRecSB3VecEnv:
    return FreshRecSB3VecEnv(FreshRecVectorEnv(num_envs=num_envs, encoder=HASH, **kwargs))


def test_sb3_adapter_with_vec_monitor_and_terminal_observation(small_config: WorldConfig) -> None:
    from stable_baselines3.common.vec_env import VecCheckNan, VecMonitor
    from stable_baselines3.common.vec_env.util import dict_to_obs, obs_space_info

    venv = _sb3_venv(config=small_config)
    keys, shapes, _ = obs_space_info(venv.observation_space)
    monitored = VecMonitor(VecCheckNan(venv, raise_exception=True))
    assert monitored.seed(0) == [0, 1, 2, 3]
    obs = monitored.reset()
    assert set(keys) == set(obs) and all(obs[k].shape == (4, *shapes[k]) for k in keys)
    assert data_equivalence(dict_to_obs(venv.observation_space, {k: obs[k] for k in keys}), obs, exact=True)
    rng = np.random.default_rng(0)
    episodes, terminal = 0, 0
    for _ in range(200):
        obs, rewards, dones, infos = monitored.step(slates(rng, 4))
        assert rewards.dtype == np.float32 and dones.dtype == np.bool_ and len(infos) == 4
        last = venv.last_info  # the full vector info stays available for metrics
        for i, info in enumerate(infos):
            if dones[i]:
                terminal += 1
                final = info["terminal_observation"]
                assert venv.observation_space.contains(final)
                assert final["user_id"][0] == last["user_id"][i]  # the ended session's user
                assert info["TimeLimit.truncated"] == bool(last["session_step"][i] == 99)
                assert "episode" in info  # added by VecMonitor
                episodes += 1
            else:
                assert "terminal_observation" not in info
    assert terminal == episodes > 10
    assert venv.get_attr("num_envs") == [4] * 4 and venv.env_is_wrapped(object) == [False] * 4


def test_sb3_adapter_refuses_reset_options_by_name_and_clears_them() -> None:
    venv = _sb3_venv()
    venv.set_options({"reset_mask": np.ones(4, bool)})
    with pytest.raises(ValueError, match=r"set_options: \['reset_mask'\] not understood"):
        venv.reset()
    assert venv.reset()["candidate_mask"].shape == (4, M)  # cleared: the next reset works
    venv.set_options(None)  # SB3's "no options" spelling is accepted
    venv.reset()


def test_sb3_seeded_reset_is_deterministic() -> None:
    a, b = _sb3_venv(num_envs=2), _sb3_venv(num_envs=2)
    a.seed(3)
    b.seed(3)
    assert data_equivalence(a.reset(), b.reset(), exact=True)
    action = np.tile(np.arange(K), (2, 1))
    for _ in range(20):
        sa, sb = a.step(action), b.step(action)
        assert data_equivalence(sa[:3], sb[:3], exact=True)


def test_ppo_learns_without_error(small_config: WorldConfig) -> None:
    from stable_baselines3 import PPO

    venv = _sb3_venv(num_envs=4, config=small_config)
    venv.seed(0)
    model = PPO("MultiInputPolicy", venv, n_steps=32, batch_size=64, n_epochs=1, device="cpu", seed=0)
    model.learn(256)
    assert model.num_timesteps >= 256
    action, _ = model.predict(venv.reset(), deterministic=True)
    assert action.shape == (4, K) and np.all((action >= 0) & (action < M))


def test_malloc_tuning_changes_no_result() -> None:
    from freshrec.envs.malloc import keep_freed_heap

    assert isinstance(keep_freed_heap(), bool)
    runs = []
    for tune in (False, True):
        env = gymnasium.make_vec("freshrec/DriftingUsers-v0", num_envs=8, encoder="hashing:64", tune_malloc=tune)
        env.reset(seed=5)
        rng = np.random.default_rng(0)
        rewards = [env.step(rng.integers(0, 32, (8, 5)))[1] for _ in range(30)]
        runs.append(np.concatenate(rewards))
    np.testing.assert_array_equal(runs[0], runs[1])
