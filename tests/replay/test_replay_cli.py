"""``freshrec replay`` end to end on tiny synthetic data: table, JSON, plot, every strategy."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from freshrec.cli import cli
from freshrec.replay.strategies import STRATEGIES


def test_replay_compares_every_strategy_and_writes_json_and_plot(tmp_path: Path) -> None:
    out = tmp_path / "replay"
    args = ["replay", "--dataset", "synthetic:tiny", "--encoder", "hashing:32", "--max-epochs", "4",
            "--retrain-every", "300", "--update-every", "100", "--trend-half-life", "86400", "--out", str(out)]  # fmt: skip
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    document = json.loads((out / "replay.json").read_text())
    assert document["schema"] == "freshrec.replay/1" and list(document["strategies"]) == list(STRATEGIES)
    for name, figures in document["strategies"].items():
        assert 0.0 <= figures["overall"]["HR@10"] <= 1.0 and figures["events_per_second"] > 0, name
        assert len(figures["over_time"]) == 10 and f"| {name} |" in result.output
    assert document["strategies"]["retrain"]["details"]["retrains"] == 2  # at 300 and 600 of ~800 events
    assert document["strategies"]["online"]["details"]["updates"] >= 1
    # per-event user state must beat a state frozen at the cut-off on data whose users drift
    hr = {name: figures["overall"]["HR@10"] for name, figures in document["strategies"].items()}
    assert hr["fresh"] > hr["static"]
    assert (out / "replay_over_time.png").stat().st_size > 0 and (out / "replay.md").exists()


def test_unknown_strategy_is_named() -> None:
    result = CliRunner().invoke(cli, ["replay", "--dataset", "synthetic:tiny", "--strategies", "static,psychic"])
    assert result.exit_code != 0 and "psychic" in result.output and "online+trend" in result.output
