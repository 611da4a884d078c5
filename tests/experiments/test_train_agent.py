"""The train-agent script: end to end on a tiny config, determinism, and the kill-and-resume continuation."""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from stable_baselines3 import PPO
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from train_helpers import TINY, assert_same_params, scalars, tiny

from freshrec.agents.ppo.policy import resolve_precision
from freshrec.experiments.compare import window_tags
from freshrec.experiments.train_agent import main, train
from freshrec.experiments.train_config import TrainConfig


def test_end_to_end_writes_the_expected_files_and_tags(tmp_path: Path) -> None:
    result = main([*TINY, "--total-steps", "512", "--eval-every", "256", "--checkpoint-every", "256",
                   "--runs-dir", str(tmp_path), "--experiment", "e2e"])  # fmt: skip
    run = result.run_dir
    assert run.name.startswith("freshrec_DriftingUsers-v0__e2e__0__")
    assert (run / "config.json").exists() and result.model_path.exists()
    assert result.best_model_path == run / "best_model.zip" and result.best_model_path.exists()
    assert sorted(p.name for p in (run / "checkpoints").iterdir() if p.name.startswith("step")) == [
        "step_000000000256", "step_000000000512",
    ]  # fmt: skip
    tags = scalars(run)
    # A metric with nothing to measure in a tiny validation (say, no new item clicked yet) is NaN and not written.
    measured = [tag for tag, key in window_tags(5).items() if not math.isnan(result.validation[key])]
    assert "eval/ctr" in measured
    for tag in [
        *measured,
        "eval/return",
        "train/loss",
        "train/entropy_loss",
        "train/choice_loss",
        "rollout/ep_len_mean",
    ]:
        assert tag in tags, (tag, sorted(tags))
    assert tags["eval/ctr"] == [256, 512]
    assert 0.0 <= result.validation["ctr"] <= 1.0


@pytest.mark.parametrize("precision", ["auto", "fp32", "bf16"])
def test_train_twice_is_identical(tmp_path: Path, precision: str) -> None:
    a = train(tiny(tmp_path / "a", eval_every=0, precision=precision))
    b = train(tiny(tmp_path / "b", eval_every=0, precision=precision))
    assert_same_params(a.model_path, b.model_path)
    # The model keeps the precision it trained in ("auto" resolved on this machine), so it plays in it.
    used = PPO.load(a.model_path, device="cpu").policy.precision
    assert used == resolve_precision(precision, "cpu") and used in ("fp32", "bf16")


def test_kill_and_resume_continues_as_the_uninterrupted_run(tmp_path: Path) -> None:
    steps = ["--total-steps", "4096", "--eval-every", "1024", "--checkpoint-every", "256"]
    whole = main([*TINY, *steps, "--runs-dir", str(tmp_path / "whole")])
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    cmd = [sys.executable, "-m", "freshrec.experiments.train_agent", *TINY, *steps, "--runs-dir", str(tmp_path / "cut")]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not list((tmp_path / "cut").glob("*/checkpoints/step_000000001280")):
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else "run ended"
        assert time.monotonic() < deadline, "no checkpoint within 120 s"
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    run = next((tmp_path / "cut").iterdir())
    assert not (run / "final_model.zip").exists(), "the run finished before it was killed"
    resumed = main(["--resume", str(run), "--no-progress"])
    assert resumed.steps == 4096
    assert_same_params(whole.model_path, resumed.model_path)
    assert_same_params(whole.best_model_path, resumed.best_model_path)  # the same model selection
    # TensorBoard reads one value per step: the killed run's events after its checkpoint were purged.
    for tag, at in scalars(run).items():
        assert at == sorted(set(at)), (tag, at)
    assert scalars(run)["eval/ctr"] == [1024, 2048, 3072, 4096]


def test_resume_needs_a_checkpoint(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "empty"
    (run / "checkpoints").mkdir(parents=True)
    (run / "config.json").write_text(json.dumps(tiny(tmp_path).to_json()))
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        train(tiny(tmp_path, resume=str(run)))
    # Flags beside --resume are ignored (the run's own config continues it), and the user is told which.
    assert re.search(
        r"--resume continues .*empty with its own config; ignored: .*total_steps = ", capsys.readouterr().err
    )
    # From the command line, a flag given at its default value is named too (it was once compared to the defaults
    # and went unsaid); --no-progress, which a resume honours, is not.
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        main(["--resume", str(run), "--seed", "0", "--no-progress"])
    err = capsys.readouterr().err
    assert "ignored: seed = 0" in err and "progress" not in err.split("ignored:")[1]
    with pytest.raises(FileNotFoundError, match=r"resume = '.*nowhere': no run there \(a run folder holds config"):
        train(TrainConfig(resume=str(tmp_path / "nowhere")))


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [("seed", 10_001, "held-out"), ("policy", "cnn", "policy"), ("batch_size", 10_000, "batch_size"),
     ("device", "tpu", "device"), ("env_id", "nope", "env_id"), ("eval_every", -1, "eval_every"),
     ("eval_burn_in", -5, "eval_burn_in"), ("train_burn_in", -1, "train_burn_in"),
     ("train_world_steps", 0, "train_world_steps"), ("lr_schedule", "cosine", "lr_schedule"),
     ("choice_epochs", -1, "choice_epochs"), ("choice_coef", -0.5, "choice_coef"),
     ("relevance_coef", -1.0, "relevance_coef"), ("precision", "fp16", "precision = .fp16."),
     ("ctr_prior_scale", 0.0, "ctr_prior_scale")],
)  # fmt: skip
def test_bad_config_is_rejected_by_name(tmp_path: Path, field: str, value: object, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        tiny(tmp_path, **{field: value})


@pytest.mark.parametrize("policy", ["transformer", "mlp"])
@pytest.mark.parametrize(("flag", "field", "module"), [("--match-features", "match_features", "match"),
                                                       ("--topic-embeddings", "topic_embeddings", "topics"),
                                                       ("--topic-match", "topic_match", "topic_match"),
                                                       ("--reveal-relevance", "reveal_relevance", "relevance")])  # fmt: skip
def test_feature_flags_reach_the_policy(policy: str, flag: str, field: str, module: str) -> None:
    """--match-features builds the match map, --topic-embeddings the topic table, --topic-match the topic-match map
    and --reveal-relevance the relevance map (on an env that reveals it); off (the defaults) builds
    none, and a saved config reads back (one saved before the field existed reads as off)."""
    from freshrec.experiments.cli import parse_config
    from freshrec.experiments.train_agent import make_model, make_training_env
    from freshrec.experiments.train_config import TrainConfig

    small = ["--policy", policy, "--encoder", "hashing:64", "--num-envs", "8", "--n-steps", "8", "--batch-size", "64"]
    for flags, on in (([], False), ([flag], True)):
        cfg = parse_config(TrainConfig, [*flags, *small], None)
        assert getattr(cfg, field) is on
        extractor = make_model(cfg, make_training_env(cfg)).policy.features_extractor
        assert (getattr(extractor.embed, module) is not None) is on  # type: ignore[union-attr]
        assert getattr(TrainConfig.from_json(cfg.to_json()), field) is on
        old = {k: v for k, v in cfg.to_json().items() if k != field}
        assert getattr(TrainConfig.from_json(old), field) is False


def test_a_model_trained_with_revealed_relevance_reads_it_from_the_env_it_acts_in(tmp_path: Path) -> None:
    """--reveal-relevance trains on burned-in worlds that reveal it and validates through the harness's env, which
    does not: the agent reads the truth from that env as the oracle does, the same slates as on a revealing env."""
    from freshrec.agents.log import AgentSpec
    from freshrec.agents.ppo.agent import PolicyAgent, load_policy
    from freshrec.agents.registry import make_agent
    from freshrec.envs.vector import FreshRecVectorEnv

    result = train(tiny(tmp_path, reveal_relevance=True, train_burn_in=5, train_world_steps=256, eval_burn_in=5))
    assert 0.0 <= result.validation["ctr"] <= 1.0
    plain = FreshRecVectorEnv(num_envs=8, encoder="hashing:64")
    shown = FreshRecVectorEnv(num_envs=8, encoder="hashing:64", reveal_relevance=True)
    obs_plain, _ = plain.reset(seed=3)
    obs_shown, _ = shown.reset(seed=3)
    agent = make_agent("ppo-reveal", AgentSpec.from_env(plain), 0, plain, model=result.model_path)
    policy = load_policy(result.model_path, device="cpu")
    assert policy.features_extractor.embed.relevance.abs().sum() > 0  # type: ignore[union-attr]  # it was trained
    for _ in range(3):
        slates = agent.rank(obs_plain, 5, deterministic=True)
        np.testing.assert_array_equal(slates, PolicyAgent(policy).rank(obs_shown, 5, deterministic=True))
        obs_plain = plain.step(slates)[0]
        obs_shown = shown.step(slates)[0]
    with pytest.raises(ValueError, match="reveal_relevance=True"):
        PolicyAgent(policy).rank(obs_plain, 5, deterministic=True)


def test_the_relevance_loss_trains_on_revealing_worlds_and_the_agent_acts_on_public_signals(tmp_path: Path) -> None:
    """--relevance-coef trains on burned-in worlds that reveal the relevance (logging train/relevance_loss), but
    the policy does not read it: the saved model plays on an env that does not reveal it, with no env to read from."""
    from freshrec.agents.ppo.agent import PolicyAgent, load_policy
    from freshrec.envs.vector import FreshRecVectorEnv

    cfg = tiny(tmp_path, relevance_coef=2.0, train_burn_in=5, train_world_steps=256, eval_burn_in=5)
    assert cfg.world_kwargs() == {"encoder": "hashing:64", "reveal_relevance": True}
    result = train(cfg)
    assert "train/relevance_loss" in scalars(result.run_dir)
    policy = load_policy(result.model_path, device="cpu")
    assert "candidate_relevance" in policy.observation_space.spaces  # type: ignore[attr-defined]
    plain = FreshRecVectorEnv(num_envs=8, encoder="hashing:64")
    obs, _ = plain.reset(seed=3)
    agent = PolicyAgent(policy)
    assert not agent.reads_relevance and agent.rank(obs, 5, deterministic=True).shape == (8, 5)


def test_runs_started_in_the_same_second_get_their_own_folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two runs of one config in one second (the clock frozen here) get ``name`` and ``name-2``, not a crash."""
    from freshrec.experiments.checkpoints import new_run_dir

    assert [new_run_dir(tmp_path, "run").name for _ in range(3)] == ["run", "run-2", "run-3"]
    monkeypatch.setattr(time, "time", lambda: 1_796_000_000.0)
    a = train(tiny(tmp_path, total_steps=128, eval_every=0, checkpoint_every=0))
    b = train(tiny(tmp_path, total_steps=128, eval_every=0, checkpoint_every=0))
    assert b.run_dir == a.run_dir.with_name(a.run_dir.name + "-2") and b.model_path.exists()


def test_warm_start_fits_the_logged_choices(tmp_path: Path) -> None:
    from freshrec.envs.vector import FreshRecVectorEnv
    from freshrec.experiments.train_agent import make_model, make_training_env
    from freshrec.experiments.warm_start import collect_clicks, pretrain

    cfg = tiny(tmp_path, ctr_prior=False)  # no prior: the untrained scores are near uniform (checked below)
    model = make_model(cfg, make_training_env(cfg))
    env = FreshRecVectorEnv(num_envs=16, encoder="hashing:64")
    clicked_ids: list[np.ndarray] = []
    step = env.step

    def spy(slates: np.ndarray) -> tuple:  # type: ignore[type-arg]
        out = step(slates)
        clicked_ids.append(out[4]["clicked_item_id"][out[4]["clicked_item_id"] >= 0])
        return out

    env.step = spy  # type: ignore[method-assign]
    data, slates, slots = collect_clicks(env, 1, 60, progress=False)
    assert slots.size > 50 and set(np.unique(slots)) <= set(range(5))
    assert data["candidate_mask"].shape == (slots.size, 32)
    # The clicked slot's candidate is the item the env reported clicked (info["clicked_position"] is a slot).
    rows = np.arange(slots.size)
    shown = data["candidate_ids"][rows, slates[rows, slots]]
    np.testing.assert_array_equal(shown, np.concatenate(clicked_ids))
    losses = pretrain(model.policy, data, slates, slots, epochs=15, batch_size=64, progress=False)
    assert losses[-1] < losses[0] - 0.05  # it learns who clicks what (uniform over 5 slots is log 5 = 1.61)
    assert losses[0] == pytest.approx(np.log(5), abs=0.1)
    result = train(tiny(tmp_path, warm_start_ticks=30, warm_start_epochs=1, eval_every=0))
    assert "warm_start/loss" in scalars(result.run_dir)


def test_validation_can_start_from_the_harness_burned_in_world(tmp_path: Path) -> None:
    """With eval_burn_in, validation continues the world after the harness's logging policy, every time alike."""
    from freshrec.experiments.burn_in import burn_in
    from freshrec.experiments.train_agent import evaluate, make_model, make_training_env

    cfg = tiny(tmp_path, eval_burn_in=20)
    model = make_model(cfg, make_training_env(cfg))
    burned, again, fresh = evaluate(model, cfg), evaluate(model, cfg), evaluate(model, tiny(tmp_path))
    same = [k for k in burned if burned[k] == again[k] or (np.isnan(burned[k]) and np.isnan(again[k]))]
    assert same == list(burned)  # the burned-in start is copied, never consumed
    assert burned["ctr"] != fresh["ctr"] or burned["item_age"] != fresh["item_age"]
    start = burn_in(cfg.env_id, cfg.validation_seed(), cfg.eval_envs, 20, 0.2, {"encoder": cfg.encoder})
    env, _ = start.start()
    assert int(env.unwrapped.state.time) == 20  # the harness's start: 20 ticks already run


def test_training_can_move_through_burned_in_worlds(tmp_path: Path) -> None:
    """With train_burn_in, each block of train_world_steps runs on a new burned-in world of a training seed."""
    from freshrec.experiments.train_agent import TrainingCallback, make_model, make_training_env

    cfg = tiny(tmp_path, train_burn_in=7, train_world_steps=256, eval_every=0, checkpoint_every=0)
    seeds = {cfg.train_world_seed(k) for k in range(20)}
    assert len(seeds) == 20 and not seeds & {cfg.seed, cfg.validation_seed(), cfg.warm_start_seed()}
    model = make_model(cfg, make_training_env(cfg))
    schedule: dict[str, float] = {"eval": 0, "checkpoint": 0}
    times = []

    class Probe(TrainingCallback):
        def _on_rollout_start(self) -> None:
            super()._on_rollout_start()
            times.append(int(self.model.get_env().venv.env.state.time))  # type: ignore[union-attr]

    probe = Probe(cfg, tmp_path, schedule, time.perf_counter())
    model.learn(512, callback=probe)
    # rollouts of 128 steps: a new world (7 burned-in ticks) every 256 steps, i.e. every other rollout
    assert times == [7, 23, 7, 23]
    assert schedule["worlds"] == 2 and schedule["world"] == 512


@pytest.mark.parametrize(("choice_epochs", "choice_coef"), [(0, 0.0), (1, 0.0), (0, 1.0)])
def test_burned_in_training_resumes_as_the_uninterrupted_run(
    tmp_path: Path, choice_epochs: int, choice_coef: float
) -> None:
    # Worlds change at 0, 384 and 768 steps; resuming from the checkpoint at 512 must cross into the
    # third world exactly as the uninterrupted run did (with the choice phase: its minibatches too; with the
    # choice loss: the clicks of the rollouts after the resume).
    cfg = tiny(tmp_path, total_steps=1024, train_burn_in=5, train_world_steps=384, eval_every=0, checkpoint_every=256,
               choice_epochs=choice_epochs, choice_coef=choice_coef)  # fmt: skip
    whole = train(replace(cfg, runs_dir=tmp_path / "whole"))
    cut = train(replace(cfg, runs_dir=tmp_path / "cut"))
    for path in (cut.run_dir / "checkpoints").iterdir():
        if path.name.startswith("step") and int(path.name.split("_")[1]) > 512:
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    cut.model_path.unlink()
    (cut.run_dir / "checkpoints" / "latest").write_text("step_000000000512")
    resumed = train(replace(cfg, resume=str(cut.run_dir)))
    assert resumed.steps == 1024
    assert_same_params(whole.model_path, resumed.model_path)
    assert ("train/choice_loss" in scalars(whole.run_dir)) is bool(choice_epochs or choice_coef)


def test_choice_phase_fits_the_clicks_of_the_rollout(tmp_path: Path) -> None:
    """The auxiliary choice phase trains on the rollout just collected: each clicked step's slot holds the item
    the env reported clicked, and passes over them lower the slate-choice loss."""
    from freshrec.experiments.train_agent import TrainingCallback, make_model, make_training_env
    from freshrec.experiments.warm_start import choice_loss

    # A constant rate: under the linear schedule a learn() of one rollout updates (and leaves the rate) at 0.
    cfg = tiny(tmp_path, choice_epochs=40, choice_coef=0.0, train_burn_in=0, eval_every=0, checkpoint_every=0,
               lr_schedule="constant")  # fmt: skip
    model = make_model(cfg, make_training_env(cfg))
    reported: list[np.ndarray] = []

    class Probe(TrainingCallback):
        def _on_step(self) -> bool:
            reported.append(self._envs()[1].last_info["clicked_item_id"].copy())
            return super()._on_step()

    probe = Probe(cfg, tmp_path, {"eval": 0, "checkpoint": 0}, time.perf_counter())
    model.learn(cfg.num_envs * cfg.n_steps, callback=probe)  # one rollout and its update; its choice phase waits
    assert probe._pending is not None
    obs, actions, clicked = probe._pending
    rows = clicked >= 0  # (n_steps, n_envs)
    assert 10 < rows.sum() < rows.size
    slates = actions[rows].astype(np.int64)
    shown = np.take_along_axis(obs["candidate_ids"][rows], slates[np.arange(rows.sum()), clicked[rows]][:, None], 1)
    np.testing.assert_array_equal(shown[:, 0], np.stack(reported)[rows])
    data = {k: v[rows] for k, v in obs.items()}
    with torch.no_grad():
        before = float(choice_loss(model.policy, data, slates, clicked[rows]))  # type: ignore[arg-type]
    value_head = [p.detach().clone() for p in model.policy.value_net.parameters()]
    probe.choice_phase()
    with torch.no_grad():
        after = float(choice_loss(model.policy, data, slates, clicked[rows]))  # type: ignore[arg-type]
    assert after < before - 0.1 and probe._pending is None
    for a, b in zip(value_head, model.policy.value_net.parameters(), strict=True):
        assert torch.equal(a, b)  # the choice loss leaves the value head alone


def learning_rates(run_dir: Path) -> list[tuple[int, float]]:
    acc = EventAccumulator(str(run_dir))
    acc.Reload()
    return [(e.step, e.value) for e in acc.Scalars("train/learning_rate")]


def test_linear_lr_schedule_decays_to_zero_and_resumes_on_the_same_line(tmp_path: Path) -> None:
    cfg = tiny(tmp_path, total_steps=1024, eval_every=0, checkpoint_every=512, lr_schedule="linear")
    whole = train(replace(cfg, runs_dir=tmp_path / "whole"))
    lrs = learning_rates(whole.run_dir)
    assert [step for step, _ in lrs] == [256, 384, 512, 640, 768, 896, 1024]  # one update per 128-step rollout
    # SB3 logs the rate of each update, set from the progress at its start: 5e-4 * (1 - steps_before / 1024).
    for step, lr in lrs:
        assert lr == pytest.approx(5e-4 * (1 - (step - 128) / 1024), rel=1e-5), step
    constant = learning_rates(train(replace(cfg, runs_dir=tmp_path / "constant", lr_schedule="constant")).run_dir)
    assert [lr for _, lr in constant] == [pytest.approx(5e-4)] * len(lrs)
    cut = train(replace(cfg, runs_dir=tmp_path / "cut"))
    shutil.rmtree(cut.run_dir / "checkpoints" / "step_000000001024")
    cut.model_path.unlink()
    (cut.run_dir / "checkpoints" / "latest").write_text("step_000000000512")
    resumed = train(replace(cfg, resume=str(cut.run_dir)))
    assert_same_params(whole.model_path, resumed.model_path)
    assert learning_rates(resumed.run_dir) == lrs
