"""select_runs: best models of training runs on fresh training-range worlds, grouped by experiment."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from freshrec.experiments.select_runs import main, used_seeds
from freshrec.experiments.train_agent import TrainConfig, train


def tiny_run(runs: Path, experiment: str, seed: int) -> Path:
    cfg = TrainConfig(
        encoder="hashing:64", num_envs=8, n_steps=16, batch_size=64, n_epochs=1, eval_ticks=5, eval_envs=8,
        progress=False, runs_dir=runs, total_steps=256, eval_every=128, checkpoint_every=0, experiment=experiment,
        seed=seed, train_burn_in=0, eval_burn_in=0,
    )  # fmt: skip
    return train(cfg).run_dir


def test_groups_runs_by_experiment_on_the_given_worlds(tmp_path: Path) -> None:
    for experiment, seed in (("a", 0), ("a", 1), ("b", 0)):
        tiny_run(tmp_path, experiment, seed)
    out = tmp_path / "sel.json"
    result = main([str(tmp_path), "--seeds", "9001,9002", "--ticks", "60", "--num-envs", "8", "--burn-in", "3",
                   "--json", str(out)])  # fmt: skip
    assert json.loads(out.read_text())["experiments"].keys() == {"a", "b"}
    assert result["experiments"]["a"]["runs"] == 2 and result["experiments"]["b"]["runs"] == 1
    for run in result["runs"].values():
        assert len(run["return"]) == 2 and all(r >= 0 for r in run["return"])


def test_seeds_a_run_used_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = tiny_run(tmp_path, "a", 3)
    config = json.loads((run / "config.json").read_text())
    assert used_seeds(config) == {3, 5_003, 2_503}
    with pytest.raises(SystemExit):  # its validation world
        main([str(run), "--seeds", "5003", "--ticks", "5", "--num-envs", "8"])
    assert "trained or validated on world seed(s) [5003]" in capsys.readouterr().err
    with pytest.raises(ValueError, match="held-out"):
        main([str(run), "--seeds", "10001"])
    for bad, why in (("nine", "comma-separated integers"), (",", "at least one")):
        with pytest.raises(SystemExit):
            main([str(run), "--seeds", bad])
        assert why in capsys.readouterr().err
    with pytest.raises(FileNotFoundError, match="no such folder"):
        main([str(tmp_path / "nothing_here")])
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no run folders"):
        main([str(tmp_path / "empty")])


def test_burned_in_training_worlds_count_as_used() -> None:
    config = TrainConfig(seed=0, total_steps=200_000, train_world_steps=65_536, train_burn_in=300).to_json()
    assert {0, 5_000, 2_500, 7_501, 7_502, 7_503, 7_504} <= used_seeds(config)
    assert 7_501 not in used_seeds({**config, "train_burn_in": 0})
