"""The policies' ``precision="bf16"``: bfloat16 matmuls in the extractor, one pass for rollouts, updates and play."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from stable_baselines3 import PPO

from freshrec.agents.ppo import FreshRecMLPPolicy, FreshRecTransformerPolicy
from freshrec.agents.ppo.agent import load_policy
from freshrec.agents.ppo.policy import native_bf16, resolve_precision
from freshrec.envs.sb3 import FreshRecSB3VecEnv

POLICIES = [FreshRecTransformerPolicy, FreshRecMLPPolicy]


def model(venv: FreshRecSB3VecEnv, policy: type, precision: str) -> PPO:
    return PPO(policy, venv, n_steps=8, batch_size=16, seed=0, device="cpu", policy_kwargs={"precision": precision})


@pytest.mark.parametrize("policy", POLICIES)
def test_bf16_computes_the_same_function_to_bfloat16_accuracy(venv: FreshRecSB3VecEnv, policy: type) -> None:
    fp32, bf16 = model(venv, policy, "fp32"), model(venv, policy, "bf16")
    bf16.policy.load_state_dict(fp32.policy.state_dict())
    obs, _ = fp32.policy.obs_to_tensor(venv.reset())
    with torch.no_grad():
        b, scores = bf16.policy.score(obs), fp32.policy.score(obs)
    assert b.dtype == torch.float32  # the heads and slates in float32
    assert not torch.equal(b, scores)  # the extractor really ran in bfloat16 ...
    valid = obs["candidate_mask"] > 0.5
    # ... and its scores are fp32's to bfloat16's 8-bit mantissa (the head's small initial weights: an absolute bound)
    torch.testing.assert_close(b[valid], scores[valid], rtol=0.05, atol=2e-3)


@pytest.mark.parametrize("policy", POLICIES)
def test_bf16_log_probabilities_do_not_depend_on_the_batch(venv: FreshRecSB3VecEnv, policy: type) -> None:
    """PPO's ratio compares the rollout's log-probability (a batch of num_envs rows) with the update's (a
    minibatch): in bfloat16 too, a row's value must not depend on the rows around it."""
    m = model(venv, policy, "bf16")
    m.learn(32)
    obs, _ = m.policy.obs_to_tensor(venv.reset())
    with torch.no_grad():
        actions, values, log_prob = m.policy(obs, deterministic=True)
        for i in range(4):
            row = {k: v[i : i + 1] for k, v in obs.items()}
            v1, lp1, _ = m.policy.evaluate_actions(row, actions[i : i + 1])
            torch.testing.assert_close(lp1, log_prob[i : i + 1], rtol=0, atol=1e-5)
            torch.testing.assert_close(v1, values[i : i + 1], rtol=0, atol=1e-5)


def test_bf16_is_saved_with_the_model(tmp_path: Path, venv: FreshRecSB3VecEnv) -> None:
    m = model(venv, FreshRecTransformerPolicy, "bf16")
    m.learn(32)
    m.save(tmp_path / "m.zip")
    loaded = load_policy(tmp_path / "m.zip", device="cpu")
    assert loaded.precision == "bf16"
    obs = venv.reset()
    np.testing.assert_array_equal(m.predict(obs, deterministic=True)[0], loaded.predict(obs, deterministic=True)[0])


def test_unknown_precision_is_refused_by_name(venv: FreshRecSB3VecEnv) -> None:
    with pytest.raises(ValueError, match=r"precision = 'fp16': must be one of \['fp32', 'bf16'\]"):
        model(venv, FreshRecTransformerPolicy, "fp16")


@pytest.mark.parametrize(("avx512_bf16", "amx", "expected"), [(True, False, "bf16"), (False, True, "bf16"),
                                                               (False, False, "fp32"), (None, None, "fp32")])  # fmt: skip
def test_auto_precision_is_bf16_exactly_where_the_cpu_has_native_bfloat16(
    monkeypatch: pytest.MonkeyPatch, avx512_bf16: bool | None, amx: bool | None, expected: str
) -> None:
    """The CPU flags as torch reports them decide; a torch without the helpers (None) means no."""
    for name, flag in (("_is_avx512_bf16_supported", avx512_bf16), ("_is_amx_tile_supported", amx)):
        if flag is None:
            monkeypatch.delattr(torch.cpu, name, raising=False)
        else:
            monkeypatch.setattr(torch.cpu, name, lambda flag=flag: flag, raising=False)
    assert native_bf16("cpu") is (expected == "bf16")
    assert resolve_precision("auto", "cpu") == expected


def test_given_precisions_pass_and_others_are_refused() -> None:
    assert not native_bf16("meta")  # neither a CPU nor a GPU: no
    for given in ("fp32", "bf16"):
        assert resolve_precision(given, "cpu") == given
    with pytest.raises(ValueError, match=r"precision = 'half': must be 'auto' or one of"):
        resolve_precision("half", "cpu")
