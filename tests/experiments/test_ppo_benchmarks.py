"""The PPO benchmarks run end to end on tiny settings (their figures come from full runs, not from here)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from freshrec.experiments import bench_ppo, time_to_beat
from freshrec.experiments.train_agent import TrainConfig, train


def test_bench_ppo_writes_rates(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    result = bench_ppo.main(["--variants", "mlp", "--rounds", "1", "--encoder", "hashing:64", "--json", str(out)])
    assert result["median_steps_per_second"]["mlp"] > 0
    assert json.loads(out.read_text())["rounds"]["mlp"]


def test_time_to_beat_evaluates_every_checkpoint(tmp_path: Path) -> None:
    run = train(
        TrainConfig(encoder="hashing:64", num_envs=8, n_steps=16, batch_size=64, total_steps=256, eval_every=0,
                    checkpoint_every=128, runs_dir=tmp_path / "runs", progress=False)
    ).run_dir  # fmt: skip
    out = tmp_path / "ttb.json"
    result = time_to_beat.main(
        [
            "--run",
            str(run),
            "--seeds",
            "1",
            "--ticks",
            "20",
            "--num-envs",
            "16",
            "--runs-dir",
            str(tmp_path),
            "--json",
            str(out),
        ]
    )
    assert [r["step"] for r in result["checkpoints"]] == [128, 256]
    assert all(r["elapsed_seconds"] > 0 for r in result["checkpoints"])
    assert result["best_cf_svd"] in time_to_beat.CF_SVD
    assert json.loads(out.read_text())["seeds"] == 1


def test_goals_are_paired_per_seed_ratios() -> None:
    from freshrec.experiments.ppo_goals import goals

    def agent(
        ret: list[float], recall: list[float], recovery: list[float], first: list[float]
    ) -> dict[str, dict[str, list[float]]]:
        return {"return": {"values": ret}, "recall@5": {"values": recall}, "drift_recovery_steps": {"values": recovery},
                "new_item_first_click": {"values": first}}  # fmt: skip

    table = {
        "ppo": agent([6.0, 9.0], [0.6, 0.9], [10.0, 10.0], [1.0, 1.0]),
        "svd": agent([3.0, 3.0], [0.3, 0.3], [30.0, 30.0], [2.0, 2.0]),
        "item-knn": agent([2.0, 2.0], [0.2, 0.2], [20.0, 40.0], [5.0, 5.0]),
        "sequence-transformer": agent([5.0, 10.0], [0.5, 0.5], [1.0, 1.0], [1.0, 1.0]),
        "random": agent([1.0, 1.0], [0.1, 0.1], [1.0, 1.0], [1.0, 1.0]),
        "myopic-oracle": agent([11.0, 11.0], [1.0, 1.0], [1.0, 1.0], [1.0, 1.0]),
    }
    rows = {r["goal"].split(" (")[0]: r for r in goals(table, "ppo")}  # type: ignore[arg-type]
    assert rows["return / best CF-SVD"]["mean"] == 2.5  # (6/3 + 9/3) / 2, svd best by return
    assert rows["recall@5 / best CF-SVD"]["mean"] == 2.5 and rows["recall@5 / best CF-SVD"]["met"]
    # Recovery: item-knn's mean (30) ties svd's and comes first; per seed 10/20 and 10/40.
    assert rows["drift recovery / best CF-SVD"]["mean"] == pytest.approx((10 / 20 + 10 / 40) / 2)
    assert rows["new items' first click"]["mean"] == -1.0  # svd is the fastest CF/SVD (2 ticks)
    assert rows["return / sequence-transformer"]["mean"] == pytest.approx((6 / 5 + 9 / 10) / 2)
    assert rows["(return - random) /"]["mean"] == pytest.approx((0.5 + 0.8) / 2)
    assert not rows["(return - random) /"]["met"]
