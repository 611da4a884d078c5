"""``relevance_probe``: PPO's network fitted to the hidden relevance from public inputs, then played as a PPO model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from freshrec.experiments import relevance_probe
from freshrec.experiments.relevance_probe import ProbeConfig, agreement, cross_entropy_bounds


def test_agreement_counts_the_oracles_picks_among_ours() -> None:
    relevance = np.array([[0.9, 0.8, 0.1, 0.0], [0.1, 0.2, 0.3, 0.4]])
    mask = np.array([[1, 1, 1, 1], [1, 1, 1, 0]])
    # Row 0: ours {0, 2} against the oracle's {0, 1}: one of two. Row 1: candidate 3 is masked, so the oracle
    # takes {2, 1} and ours {2, 1}: both.
    scores = np.array([[5.0, 0.0, 4.0, 1.0], [0.0, 1.0, 2.0, 9.0]])
    assert agreement(scores, relevance, mask, 2) == pytest.approx(0.75)
    assert agreement(relevance, relevance, mask, 2) == 1.0


def test_cross_entropy_bounds() -> None:
    """The floor is the labels' mean binary entropy; a constant at the labels' own mean does no better than it
    only when every label is that mean. Masked candidates are left out."""
    same = np.full((2, 3), 0.2)
    mask = np.ones((2, 3))
    b = cross_entropy_bounds(same, mask, same, mask)
    h = -(0.2 * np.log(0.2) + 0.8 * np.log(0.8))
    assert b["floor"] == pytest.approx(h) and b["constant"] == pytest.approx(h)
    spread = np.array([[0.0, 1.0, 0.5]])
    b = cross_entropy_bounds(spread, np.array([[1, 1, 0]]), spread, np.array([[1, 1, 0]]))
    assert b["floor"] == pytest.approx(0.0) and b["constant"] == pytest.approx(np.log(2))


def test_the_probe_learns_the_relevance_and_plays_as_a_ppo_model(tmp_path: Path) -> None:
    """On a world it never saw, the fitted scores agree with the oracle's picks clearly more than before fitting
    and than random slates; the saved model loads through the registry and plays its top K."""
    from freshrec.agents.log import AgentSpec
    from freshrec.agents.registry import make_agent
    from freshrec.envs.vector import FreshRecVectorEnv

    tiny = ["--encoder", "hashing:64", "--worlds", "2", "--ticks", "20", "--num-envs", "16", "--burn-in", "5",
            "--epochs", "4", "--runs-dir", str(tmp_path), "--no-progress"]  # fmt: skip
    run_dir = relevance_probe.main(tiny)
    report = json.loads((run_dir / "probe.json").read_text())
    assert report["steps"] == 2 * 20 * 16 and report["worlds"] == [8001, 8002] and report["world_apart"] == 8003
    before, after = report["apart_before"], report["apart_after"]
    assert after["cross_entropy"] < before["cross_entropy"]
    assert after["topk_agreement"] > max(before["topk_agreement"], report["apart_random_topk_agreement"]) + 0.1
    assert report["train_loss"][-1] < report["train_loss"][0]
    bounds = report["apart_cross_entropy_bounds"]
    assert bounds["floor"] < after["cross_entropy"] and 0.0 < report["apart_explained"] < 1.0

    # Another model's agreement on the same world apart (same seed: the same data): this probe's own, exactly, as
    # its deterministic slates are the top K of its scores.
    again = json.loads((relevance_probe.main([*tiny, "--also", str(run_dir / "model.zip")]) / "probe.json").read_text())
    assert again["apart_also_topk_agreement"] == {str(run_dir / "model.zip"): after["topk_agreement"]}

    env = FreshRecVectorEnv(num_envs=4, encoder="hashing:64")
    obs, _ = env.reset(seed=1)
    agent = make_agent("ppo-probe", AgentSpec.from_env(env), 0, env, model=run_dir / "model.zip")
    slates = agent.act(obs, deterministic=True)
    assert slates.shape == (4, 5) and all(len(set(s.tolist())) == 5 for s in slates)


def test_dagger_rounds_collect_on_the_probes_own_states_and_refit(tmp_path: Path) -> None:
    """Each round adds worlds after the one kept apart, played by the probe itself and labelled by the oracle."""
    tiny = ["--encoder", "hashing:64", "--worlds", "2", "--ticks", "10", "--num-envs", "8", "--burn-in", "3",
            "--epochs", "2", "--dagger-rounds", "2", "--dagger-worlds", "1", "--dagger-epochs", "1",
            "--runs-dir", str(tmp_path), "--no-progress"]  # fmt: skip
    report = json.loads((relevance_probe.main(tiny) / "probe.json").read_text())
    rounds = report["dagger"]
    assert [r["worlds"] for r in rounds] == [[8004], [8005]] and report["world_apart"] == 8003
    assert [r["steps"] for r in rounds] == [3 * 80, 4 * 80] and report["steps"] == 4 * 80
    assert all(len(r["train_loss"]) == 1 and 0.0 <= r["own_states_before_refit"]["topk_agreement"] <= 1 for r in rounds)
    assert rounds[-1]["apart_after"] == report["apart_after"]  # the saved probe is the last round's


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("seed", 10_001),
        ("worlds", 0),
        ("ticks", 0),
        ("epsilon", 1.5),
        ("learning_rate", 0.0),
        ("env_id", "nope"),
        ("also", ("no/such/model.zip",)),
        ("dagger_rounds", -1),
        ("dagger_worlds", 0),
        ("dagger_epochs", 0),
    ],
)
def test_bad_config_is_rejected_by_name(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=field if field != "seed" else "held-out"):
        ProbeConfig(**{field: value})  # type: ignore[arg-type]


def test_worlds_that_would_reach_the_validation_worlds_are_refused() -> None:
    ProbeConfig(seed=991)  # worlds 8992-9000 and the one apart: clear of 9001
    with pytest.raises(ValueError, match="9001"):
        ProbeConfig(seed=992)
    with pytest.raises(ValueError, match="9001"):
        ProbeConfig(seed=900, dagger_rounds=25)  # DAgger's worlds run on into them
