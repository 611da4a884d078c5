"""Runs and configs saved by earlier versions: read with the behaviour they were made with."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from train_helpers import tiny

from freshrec.agents.ppo.agent import saved_item_encoding
from freshrec.experiments.checkpoints import latest_checkpoint, load_checkpoint
from freshrec.experiments.train_agent import train
from freshrec.experiments.train_config import TrainConfig


def test_a_checkpoint_saved_before_models_recorded_their_encoding_resumes_with_it(tmp_path: Path) -> None:
    """Resumed, such a model takes its run's env's encoding (the run's own config), so its final model has it."""
    run = train(tiny(tmp_path, total_steps=256, eval_every=0, checkpoint_every=256)).run_dir
    zipped = latest_checkpoint(run / "checkpoints") / "model.zip"
    with zipfile.ZipFile(zipped) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    data = json.loads(members["data"])
    assert data.pop("item_encoding") == {"encoder": "hashing:64", "text_dim": 16}
    members["data"] = json.dumps(data).encode()
    with zipfile.ZipFile(zipped, "w") as archive:
        for name, blob in members.items():
            archive.writestr(name, blob)
    assert saved_item_encoding(zipped) is None  # as an older model's
    model, _, _ = load_checkpoint(zipped.parent, device="cpu")
    assert model.item_encoding == {"encoder": "hashing:64", "text_dim": 16}


def test_a_config_saved_before_lr_schedule_existed_reads_as_constant(tmp_path: Path) -> None:
    saved = tiny(tmp_path).to_json()
    assert saved.pop("lr_schedule") == "linear"  # the default
    assert TrainConfig.from_json(saved).lr_schedule == "constant"


def test_a_config_saved_before_choice_coef_existed_reads_as_ppo_alone(tmp_path: Path) -> None:
    saved = tiny(tmp_path).to_json()
    assert saved.pop("choice_coef") == 4.0  # the default
    assert TrainConfig.from_json(saved).choice_coef == 0.0


def test_a_config_saved_before_precision_existed_reads_as_fp32(tmp_path: Path) -> None:
    saved = tiny(tmp_path).to_json()
    assert saved.pop("precision") == "auto"  # the default
    assert TrainConfig.from_json(saved).precision == "fp32"


def test_a_config_saved_before_ctr_prior_existed_reads_as_off_and_the_default_builds_it(tmp_path: Path) -> None:
    from freshrec.experiments.train_agent import make_model, make_training_env

    cfg = tiny(tmp_path)
    saved = cfg.to_json()
    assert saved.pop("ctr_prior") is True  # the default
    old = TrainConfig.from_json(saved)
    assert old.ctr_prior is False
    for config, on in ((cfg, True), (old, False)):
        policy = make_model(config, make_training_env(config)).policy
        assert policy.ctr_prior is on and (policy.ctr_scale is not None) is on  # type: ignore[attr-defined]


def test_a_config_saved_before_ctr_prior_scale_existed_reads_as_beta_1_and_the_default_starts_at_4(
    tmp_path: Path,
) -> None:
    from freshrec.experiments.train_agent import make_model, make_training_env

    cfg = tiny(tmp_path)
    saved = cfg.to_json()
    assert saved.pop("ctr_prior_scale") == 4.0  # the default
    old = TrainConfig.from_json(saved)
    assert old.ctr_prior_scale == 1.0
    for config, beta in ((cfg, 4.0), (old, 1.0)):
        policy = make_model(config, make_training_env(config)).policy
        assert policy.ctr_scale.item() == beta  # type: ignore[attr-defined,union-attr]
