"""The main job end to end on a small run: table, report files, and held-out seeds only."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from freshrec.experiments import demo
from freshrec.experiments.seeds import EVAL_SEEDS, TRAIN_SEEDS, check_eval_seed


def test_demo_writes_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "report"
    demo.main(
        [
            "--out",
            str(out),
            "--ticks",
            "60",
            "--num-envs",
            "16",
            "--seeds",
            "2",
            "--encoder",
            "hashing:64",
            "--no-progress",
        ]
    )
    printed = capsys.readouterr().out
    assert "| ctr |" in printed and "random" in printed and "public-popular" in printed
    results = json.loads((out / "results.json").read_text())
    assert results["meta"]["seeds"] == list(EVAL_SEEDS[:2])
    for name in ("random", "public-popular"):
        runs = results["runs"][name]
        assert [r["seed"] for r in runs] == list(EVAL_SEEDS[:2])
        assert all(0.0 <= r["summary"]["ctr"] <= 1.0 for r in runs)
        assert all(not math.isnan(r["summary"]["precision@5"]) for r in runs)
    # Random slates spread exposure; public-popular concentrates it (a behaviour the table must show).
    gini = {name: results["runs"][name][0]["summary"]["exposure_gini"] for name in ("random", "public-popular")}
    assert gini["public-popular"] > gini["random"] + 0.2
    assert (out / "over_time.png").stat().st_size > 1000
    assert "mean ± 95% CI" in (out / "report.md").read_text()


def test_demo_rejects_bad_config() -> None:
    with pytest.raises(ValueError, match="ticks = 0"):
        demo.DemoConfig(ticks=0)
    with pytest.raises(ValueError, match="env_id"):
        demo.DemoConfig(env_id="freshrec/Nope-v0")


def test_eval_seeds_are_held_out() -> None:
    assert not set(EVAL_SEEDS) & set(TRAIN_SEEDS)
    with pytest.raises(ValueError, match="held-out"):
        check_eval_seed(EVAL_SEEDS[0])
    check_eval_seed(0)
