"""The main job end to end on tiny synthetic data, through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from freshrec.cli import cli


def test_demo_writes_a_complete_report(tmp_path: Path) -> None:
    out = tmp_path / "report"
    result = CliRunner().invoke(
        cli, ["demo", "--dataset", "synthetic:tiny", "--encoder", "hashing:64", "--out", str(out), "--max-epochs", "8"]
    )
    assert result.exit_code == 0, result.output
    for name in ("report.md", "results.json", "examples.json", "training_curve.png", "metrics_by_model.png"):
        assert (out / name).stat().st_size > 0, name
    results = json.loads((out / "results.json").read_text())
    models = {r["model"] for r in results["results"]}
    assert models == {"most-popular", "transformer (ID only)", "transformer+text"}
    text = next(r for r in results["results"] if r["model"] == "transformer+text" and r["split"] == "test")
    popular = next(r for r in results["results"] if r["model"] == "most-popular" and r["split"] == "test")
    # the synthetic users follow clusters and successors: the sequence model must beat popularity
    assert text["metrics"]["NDCG@10"] > popular["metrics"]["NDCG@10"]
    assert "HR@10" in result.output and "because of" in result.output
    examples = json.loads((out / "examples.json").read_text())
    assert len(examples) == 3 and all(len(e["recommendations"]) == 5 for e in examples)
    assert (out / "models" / "text.pt").exists() and (out / "models" / "id.pt").exists()
    replay = json.loads((out / "replay.json").read_text())
    assert list(replay["strategies"]) == ["static", "fresh", "online", "online+trend", "popular", "markov"]
    assert (out / "replay_over_time.png").stat().st_size > 0
    assert "Replay: what timeliness is worth" in (out / "report.md").read_text()
    assert "| online+trend |" in result.output


def test_train_evaluate_recommend_commands_work_together(tmp_path: Path) -> None:
    runner = CliRunner()
    checkpoint = tmp_path / "model.pt"
    data = ["--dataset", "synthetic:tiny"]
    trained = runner.invoke(
        cli, ["train", *data, "--encoder", "hashing:32", "--out", str(checkpoint), "--epochs", "3", "--hidden", "16"]
    )
    assert trained.exit_code == 0, trained.output
    out = tmp_path / "results.json"
    evaluated = runner.invoke(
        cli, ["evaluate", *data, "--encoder", "hashing:32", "--checkpoint", str(checkpoint), "--json", str(out)]
    )
    assert evaluated.exit_code == 0, evaluated.output
    assert {r["model"] for r in json.loads(out.read_text())["results"]} == {"most-popular", "transformer+text"}
    recommended = runner.invoke(cli, ["recommend", *data, "--checkpoint", str(checkpoint), "--user", "u3", "-k", "4"])
    assert recommended.exit_code == 0, recommended.output
    assert len([line for line in recommended.output.splitlines() if "because of" in line]) == 4
    unknown = runner.invoke(cli, ["recommend", *data, "--checkpoint", str(checkpoint), "--user", "nobody"])
    assert unknown.exit_code != 0 and "nobody" in unknown.output


def test_bad_data_file_reports_file_line_and_field(tmp_path: Path) -> None:
    events = tmp_path / "events.csv"
    events.write_text("user_id,item_id,timestamp\nu1,i1,100\nu1,i2,yesterday\n")
    result = CliRunner().invoke(cli, ["data", "info", "--dataset", str(events)])
    assert result.exit_code != 0
    assert "events.csv:3" in result.output and "timestamp" in result.output and "yesterday" in result.output
    skipped = CliRunner().invoke(cli, ["data", "info", "--dataset", str(events), "--skip-bad-rows"])
    assert skipped.exit_code == 0 and "skipped 1" in skipped.output
