"""The PPO policies: shapes and masks on the real env, learning a planted preference, save/load."""

from __future__ import annotations

from typing import Any

import gymnasium
import numpy as np
import pytest
import torch
from gymnasium import spaces
from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import DummyVecEnv

from freshrec.agents.log import AgentSpec
from freshrec.agents.ppo import FreshRecMLPPolicy, FreshRecTransformerPolicy
from freshrec.agents.ppo.agent import PolicyAgent, load_policy, make_ppo
from freshrec.agents.simple import smoothed_ctr
from freshrec.envs.sb3 import FreshRecSB3VecEnv
from freshrec.envs.vector import FreshRecVectorEnv

POLICIES = [FreshRecTransformerPolicy, FreshRecMLPPolicy]


@pytest.mark.parametrize("policy", POLICIES)
def test_shapes_and_no_repeats_on_the_real_env(venv: FreshRecSB3VecEnv, policy: type) -> None:
    model = PPO(policy, venv, n_steps=8, batch_size=16, seed=0, device="cpu")
    obs = venv.reset()
    obs_t, _ = model.policy.obs_to_tensor(obs)
    actions, values, log_prob = model.policy(obs_t)
    assert actions.shape == (4, 5) and values.shape == (4, 1) and log_prob.shape == (4,)
    assert all(len(set(row)) == 5 for row in actions.tolist())
    _, lp, ent = model.policy.evaluate_actions(obs_t, actions)
    torch.testing.assert_close(lp, log_prob)
    assert ent.shape == (4,) and (ent > 0).all()
    model.learn(32)  # one rollout and update through SB3's own loop


def test_masked_candidates_are_not_shown(venv: FreshRecSB3VecEnv) -> None:
    model = PPO(FreshRecTransformerPolicy, venv, n_steps=8, batch_size=16, seed=0, device="cpu")
    obs = venv.reset()
    obs["candidate_mask"][:, ::2] = 0  # half the candidates unavailable
    for deterministic in (True, False):
        slates, _ = model.predict(obs, deterministic=deterministic)
        assert (slates % 2 == 1).all()


def test_scores_of_a_candidate_follow_its_features_not_its_id(venv: FreshRecSB3VecEnv) -> None:
    """A brand-new item is scored from its public features: ids are not read."""
    model = PPO(FreshRecTransformerPolicy, venv, n_steps=8, batch_size=16, seed=0, device="cpu")
    obs = venv.reset()
    other = {k: v.copy() for k, v in obs.items()}
    other["candidate_ids"] += 10_000
    other["history_ids"] += 10_000
    a, _ = model.policy.obs_to_tensor(obs)
    b, _ = model.policy.obs_to_tensor(other)
    torch.testing.assert_close(model.policy.score(a), model.policy.score(b))


def test_wrong_spaces_are_rejected() -> None:
    obs = spaces.Dict({"x": spaces.Box(0, 1, (3,))})
    with pytest.raises(ValueError, match="action_space"):
        FreshRecTransformerPolicy(obs, spaces.Discrete(3), lambda _: 1e-3)
    with pytest.raises(ValueError, match="candidate_mask"):
        FreshRecTransformerPolicy(obs, spaces.MultiDiscrete([4, 4]), lambda _: 1e-3)


class PlantedEnv(gymnasium.Env[dict[str, np.ndarray], np.ndarray]):
    """A tiny freshrec-shaped env with a planted preference: reward = share of the slate whose feature 0 > 0."""

    M, K, F, H, Q = 8, 2, 4, 2, 2

    def __init__(self) -> None:
        m, f, h, q = self.M, self.F, self.H, self.Q
        box = lambda n: spaces.Box(-10, 10, (n,), np.float32)  # noqa: E731
        self.observation_space = spaces.Dict(
            {
                "candidate_features": box(m * f), "candidate_mask": spaces.MultiBinary(m),
                "history_features": box(h * f), "history_mask": spaces.MultiBinary(h),
                "skipped_features": box(q * f), "skipped_mask": spaces.MultiBinary(q),
                "context": spaces.Box(0, 100, (4,), np.float32),
            }
        )  # fmt: skip
        self.action_space = spaces.MultiDiscrete([m] * self.K)
        self.t = 0

    def _obs(self) -> dict[str, np.ndarray]:
        self.cand = self.np_random.normal(size=(self.M, self.F)).astype(np.float32)
        zeros = lambda n: np.zeros(n, np.float32)  # noqa: E731
        return {
            "candidate_features": self.cand.reshape(-1), "candidate_mask": np.ones(self.M, np.int8),
            "history_features": zeros(self.H * self.F), "history_mask": np.zeros(self.H, np.int8),
            "skipped_features": zeros(self.Q * self.F), "skipped_mask": np.zeros(self.Q, np.int8),
            "context": np.array([self.t, 0, 0, 0], np.float32),
        }  # fmt: skip

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        super().reset(seed=seed)
        self.t = 0
        return self._obs(), {}

    def step(self, action: np.ndarray) -> tuple[dict[str, np.ndarray], float, bool, bool, dict[str, Any]]:
        reward = float(np.mean(self.cand[np.asarray(action), 0] > 0))
        self.t += 1
        return self._obs(), reward, False, self.t >= 10, {}


def mean_reward(act: Any, episodes: int = 40, seed: int = 100) -> float:
    env = PlantedEnv()
    total = []
    for e in range(episodes):
        obs, _ = env.reset(seed=seed + e)
        done = False
        while not done:
            obs, r, term, trunc, _ = env.step(act(obs))
            total.append(r)
            done = term or trunc
    return float(np.mean(total))


@pytest.mark.parametrize("policy", POLICIES)
def test_tiny_ppo_learns_a_planted_preference(policy: type) -> None:
    torch.set_num_threads(1)
    env = DummyVecEnv([PlantedEnv for _ in range(8)])
    env.seed(0)
    model = PPO(policy, env, n_steps=32, batch_size=64, n_epochs=4, learning_rate=3e-3, seed=0, device="cpu")
    model.learn(6144)
    rng = np.random.default_rng(0)
    random = mean_reward(lambda obs: rng.choice(PlantedEnv.M, PlantedEnv.K, replace=False))
    learned = mean_reward(lambda obs: model.predict(obs, deterministic=True)[0])
    assert random == pytest.approx(0.5, abs=0.05)
    assert learned >= 0.85, (learned, random)


def test_save_load_gives_identical_actions(tmp_path: Any, venv: FreshRecSB3VecEnv) -> None:
    model = PPO(FreshRecTransformerPolicy, venv, n_steps=8, batch_size=16, seed=0, device="cpu")
    model.learn(64)
    model.save(tmp_path / "m.zip")
    obs = venv.reset()
    loaded = load_policy(tmp_path / "m.zip", device="cpu")
    det, _ = model.predict(obs, deterministic=True)
    b, _ = loaded.predict(obs, deterministic=True)
    np.testing.assert_array_equal(det, b)
    torch.manual_seed(5)
    a, _ = model.predict(obs, deterministic=False)
    torch.manual_seed(5)
    b, _ = loaded.predict(obs, deterministic=False)
    np.testing.assert_array_equal(a, b)
    # The harness's agent over the saved model: single and batched observations.
    agent = make_ppo(AgentSpec.from_env(venv.env), seed=0, env=None, model=tmp_path / "m.zip")
    assert isinstance(agent, PolicyAgent)
    np.testing.assert_array_equal(agent.predict(obs)[0], det)
    assert agent.predict({k: v[0] for k, v in obs.items()})[0].shape == (5,)


@pytest.mark.parametrize("policy", POLICIES)
def test_ctr_prior_starts_the_scores_at_the_log_public_ctr_and_is_saved(
    tmp_path: Any, venv: FreshRecSB3VecEnv, policy: type
) -> None:
    model = PPO(policy, venv, n_steps=8, batch_size=16, seed=0, device="cpu", policy_kwargs={"ctr_prior": True})
    plain = PPO(policy, venv, n_steps=8, batch_size=16, seed=0, device="cpu")
    assert model.policy.ctr_scale is not None and model.policy.ctr_scale.item() == 1.0
    assert plain.policy.ctr_scale is None
    obs = venv.reset()
    obs_t, _ = model.policy.obs_to_tensor(obs)
    live = obs["candidate_mask"].astype(bool)
    tokens = obs["candidate_features"].reshape(4, live.shape[1], -1)
    # Same seed, same other weights (the prior draws nothing): the scores differ by exactly log CTR.
    with torch.no_grad():
        prior = (model.policy.score(obs_t) - plain.policy.score(obs_t)).numpy()
    np.testing.assert_allclose(prior[live], np.log(smoothed_ctr(tokens))[live], rtol=1e-5, atol=1e-5)
    model.learn(64)
    assert model.policy.ctr_scale.item() != 1.0  # learned
    model.save(tmp_path / "m.zip")
    loaded = load_policy(tmp_path / "m.zip", device="cpu")
    assert loaded.ctr_prior and loaded.ctr_scale.item() == model.policy.ctr_scale.item()
    np.testing.assert_array_equal(loaded.predict(obs, deterministic=True)[0], model.predict(obs, deterministic=True)[0])
    # A sharper start: beta from ctr_prior_scale, the scores then differ by exactly that times log CTR; saved too.
    sharp = PPO(policy, venv, n_steps=8, batch_size=16, seed=0, device="cpu",
                policy_kwargs={"ctr_prior": True, "ctr_prior_scale": 4.0})  # fmt: skip
    with torch.no_grad():
        prior = (sharp.policy.score(obs_t) - plain.policy.score(obs_t)).numpy()
    np.testing.assert_allclose(prior[live], 4.0 * np.log(smoothed_ctr(tokens))[live], rtol=1e-5, atol=1e-5)
    sharp.save(tmp_path / "sharp.zip")
    assert load_policy(tmp_path / "sharp.zip", device="cpu").ctr_prior_scale == 4.0
    for bad in (0.0, -1.0, 1e3):
        with pytest.raises(ValueError, match=rf"ctr_prior_scale = {bad}: must be in \(0, 100\]"):
            PPO(
                policy, venv, n_steps=8, seed=0, device="cpu", policy_kwargs={"ctr_prior": True, "ctr_prior_scale": bad}
            )


def test_make_ppo_needs_a_model(tmp_path: Any, venv: FreshRecSB3VecEnv) -> None:
    with pytest.raises(ValueError, match=r"needs a trained model: pass model=PATH \(CLI: --models ppo=PATH\)"):
        make_ppo(None, 0, None)  # type: ignore[arg-type]
    with pytest.raises(FileNotFoundError, match="no such file"):
        load_policy("/nonexistent/model.zip")
    # A model of another policy (SB3's MultiInputPolicy) is refused by name, not by a bare assert.
    PPO("MultiInputPolicy", venv, n_steps=8, batch_size=16, seed=0, device="cpu").save(tmp_path / "mlp.zip")
    with pytest.raises(TypeError, match="its policy is MultiInputActorCriticPolicy; the ppo agent runs"):
        load_policy(tmp_path / "mlp", device="cpu")  # without ".zip", as SB3's load takes it


def test_make_ppo_refuses_items_encoded_otherwise(tmp_path: Any, venv: FreshRecSB3VecEnv) -> None:
    """The item tokens' width does not depend on the encoder: a model trained on hashed features would run on
    MiniLM ones without a shape error, so FreshRecPPO saves the encoding and make_ppo compares it."""
    from freshrec.agents.ppo.algorithm import FreshRecPPO

    model = FreshRecPPO(FreshRecTransformerPolicy, venv, n_steps=8, batch_size=16, seed=0, device="cpu")
    assert model.item_encoding == {"encoder": "hashing:64", "text_dim": 16}
    model.save(tmp_path / "m.zip")
    spec = AgentSpec.from_env(venv.env)
    assert isinstance(make_ppo(spec, 0, venv, model=tmp_path / "m.zip"), PolicyAgent)  # the same encoding
    other = FreshRecSB3VecEnv(FreshRecVectorEnv(num_envs=4, encoder="hashing:32"))
    with pytest.raises(ValueError, match="trained on items encoded with encoder = 'hashing:64', text_dim = 16; this"):
        make_ppo(spec, 0, other, model=tmp_path / "m.zip")
    assert isinstance(make_ppo(spec, 0, None, model=tmp_path / "m.zip"), PolicyAgent)  # no env: nothing to check
    # Read from the zip without building the policy, and checked where no env is built: compare before its first
    # burn-in, the replay and the relevance probe (load_policy's encoder).
    from freshrec.agents.ppo.agent import check_model_encoder, load_policy, model_path, saved_item_encoding
    from freshrec.experiments.compare import CompareConfig, run

    assert saved_item_encoding(tmp_path / "m") == model.item_encoding  # without ".zip", as SB3 finds it
    model.save(tmp_path / "m.v2.zip")
    assert model_path(tmp_path / "m.v2") == tmp_path / "m.v2.zip"  # ".zip" appended as SB3 does (once m.zip)
    check_model_encoder(tmp_path / "m.zip", "hashing:64")
    with pytest.raises(
        IsADirectoryError, match=r"a folder, not a saved model \(pass a model in it: \S*run/final_model\.zip\)$"
    ):
        (tmp_path / "run").mkdir()
        model.save(tmp_path / "run" / "final_model.zip")
        model_path(tmp_path / "run")  # once passed on as a path that "exists", to fail deep inside SB3's load
    (tmp_path / "notes.zip").write_text("not a zip")
    with pytest.raises(ValueError, match=r"notes\.zip: not a model saved by stable-baselines3"):
        saved_item_encoding(tmp_path / "notes.zip")
    # The relevance probe checks its --also models when configured, not after training its probe.
    from freshrec.experiments.relevance_probe import ProbeConfig

    with pytest.raises(ValueError, match="asked to score items encoded with encoder = 'minilm'"):
        ProbeConfig(also=(str(tmp_path / "m.zip"),))
    ProbeConfig(also=(str(tmp_path / "m.zip"),), encoder="hashing:64")
    with pytest.raises(
        ValueError, match=r"encoder = 'hashing:64'; asked to score items encoded with encoder = 'minilm'"
    ):
        load_policy(tmp_path / "m.zip", device="cpu", encoder="minilm")
    cfg = CompareConfig(agents=("ppo",), models=(f"ppo={tmp_path / 'm.zip'}",), encoder="hashing:32", runs_dir=tmp_path)
    with pytest.raises(ValueError, match="asked to score items encoded with encoder = 'hashing:32'"):
        run(cfg)
    assert not cfg.root.exists()  # before any burn-in
    # Loaded with another env (as --resume does), the saved encoding stands.
    assert FreshRecPPO.load(tmp_path / "m.zip", env=other, device="cpu").item_encoding == model.item_encoding
    # A model saved before the attribute existed: unknown (None), not the encoding of the env it is loaded with.
    del model.item_encoding
    model.save(tmp_path / "old.zip")
    assert FreshRecPPO.load(tmp_path / "old.zip", env=other, device="cpu").item_encoding is None
    assert isinstance(make_ppo(spec, 0, other, model=tmp_path / "old.zip"), PolicyAgent)  # nothing to compare
    # SB3's own DummyVecEnv of single envs: found through get_attr (once None, so such a model was never checked).
    from stable_baselines3.common.vec_env import DummyVecEnv

    dummy = DummyVecEnv([lambda: gymnasium.make("freshrec/DriftingUsers-v0", encoder="hashing:32")])
    model = FreshRecPPO(FreshRecTransformerPolicy, dummy, n_steps=8, batch_size=8, seed=0, device="cpu")
    assert model.item_encoding == {"encoder": "hashing:32", "text_dim": 16}


def test_policy_kwargs_it_cannot_honour_are_refused(venv: FreshRecSB3VecEnv) -> None:
    """Once silently replaced (net_arch) or refused without a hint (precision 'auto')."""
    with pytest.raises(ValueError, match=r"net_arch = \[64, 64\]: the freshrec policies have no SB3 trunk"):
        PPO(FreshRecTransformerPolicy, venv, policy_kwargs={"net_arch": [64, 64]}, device="cpu")
    with pytest.raises(ValueError, match=r"net_arch = \{'pi': \[64\], 'vf': \[\]\}"):
        PPO(FreshRecTransformerPolicy, venv, policy_kwargs={"net_arch": {"pi": [64], "vf": []}}, device="cpu")
    for empty in (None, [], {}, {"pi": [], "vf": []}):  # "no trunk" in each of SB3's spellings is what it builds
        PPO(FreshRecTransformerPolicy, venv, n_steps=8, batch_size=8, policy_kwargs={"net_arch": empty}, device="cpu")
    with pytest.raises(ValueError, match=r"precision = 'auto': .*resolve_precision\('auto', device\)"):
        PPO(FreshRecTransformerPolicy, venv, policy_kwargs={"precision": "auto"}, device="cpu")
