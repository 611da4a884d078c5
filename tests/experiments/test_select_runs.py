"""select_runs: best models of training runs on fresh training-range worlds, grouped by experiment."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from freshrec.experiments.select_runs import format_table, main, summarise, used_seeds
from freshrec.experiments.train_agent import train
from freshrec.experiments.train_config import TrainConfig


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
                   "--json", str(out), "--baseline", "b"])  # fmt: skip
    assert json.loads(out.read_text())["experiments"].keys() == {"a", "b"}
    assert result["experiments"]["a"]["paired_seeds"] == [0]  # only seed 0 ran both
    assert result["experiments"]["a"]["runs"] == 2 and result["experiments"]["b"]["runs"] == 1
    for run in result["runs"].values():
        assert len(run["return"]) == 2 and all(r >= 0 for r in run["return"])
        assert all(0 <= r <= 1 for r in run["ranking_recall@10"])
    runs = {(r["experiment"], r["seed"]): r["ranking_recall@10"] for r in result["runs"].values()}
    paired = result["experiments"]["a"]["ranking_recall@10_minus_baseline"][0]
    assert paired == pytest.approx(sum(runs[("a", 0)]) / 2 - sum(runs[("b", 0)]) / 2)


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
    with pytest.raises(SystemExit):
        main([str(run), "--seeds", "9001", "--baseline", "nope"])
    assert "--baseline 'nope': no run of that experiment" in capsys.readouterr().err
    with pytest.raises(FileNotFoundError, match="no such folder"):
        main([str(tmp_path / "nothing_here")])
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no run folders"):
        main([str(tmp_path / "empty")])


def test_burned_in_training_worlds_count_as_used() -> None:
    config = TrainConfig(seed=0, total_steps=200_000, train_world_steps=65_536, train_burn_in=300).to_json()
    assert {0, 5_000, 2_500, 7_501, 7_502, 7_503, 7_504} <= used_seeds(config)
    assert 7_501 not in used_seeds({**config, "train_burn_in": 0})


def test_paired_difference_uses_the_shared_seeds_only() -> None:
    def run(experiment: str, seed: int, ret: float) -> dict[str, object]:
        # recall@10 = return / 10, so its paired differences are a tenth of the return's
        recall = {"ranking_recall@10": [ret / 10, ret / 10]}
        return {"experiment": experiment, "seed": seed, "return": [ret, ret], "ctr": [0.5, 0.5], **recall}

    per_run = {
        "b0": run("base", 0, 5.0), "b1": run("base", 1, 7.0), "b2": run("base", 2, 6.0),
        "n0": run("new", 0, 6.0), "n1": run("new", 1, 7.5), "n3": run("new", 3, 100.0),
    }  # fmt: skip
    table = summarise(per_run, "base")
    new = table["new"]
    assert new["paired_seeds"] == [0, 1] and new["better_seeds"] == 2
    mean, half = new["return_minus_baseline"]
    assert mean == 0.75 and half == pytest.approx(12.706 * 0.25, rel=1e-3)  # t(1) * sd([1, .5]) / sqrt(2)
    assert "paired_seeds" not in table["base"] and table["new"]["runs"] == 3
    assert "| new | 3 |" in format_table(table, "base") and "+0.75" in format_table(table, "base")
    assert "paired" not in format_table(summarise(per_run))
    r_mean, r_half = new["ranking_recall@10_minus_baseline"]
    assert r_mean == pytest.approx(0.075) and r_half == pytest.approx(half / 10)
    assert table["base"]["ranking_recall@10"][0] == pytest.approx(0.6)
    assert "+0.075" in format_table(table, "base")
    # A file written before recall@10 was kept: no such column value, no error.
    old = {k: {key: v for key, v in r.items() if key != "ranking_recall@10"} for k, r in per_run.items()}
    assert "ranking_recall@10" not in summarise(old, "base")["new"]
    assert "| – |" in format_table(summarise(old, "base"), "base")
    per_run["n0bis"] = run("new", 0, 9.0)
    with pytest.raises(ValueError, match="'new' has several runs of one training seed"):
        summarise(per_run, "base")
    assert summarise(per_run)["new"]["runs"] == 4  # unpaired, every run counts
