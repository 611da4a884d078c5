"""oracle_boredom: the myopic oracle against itself ranking with other boredom weights, on training worlds."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from freshrec.experiments.oracle_boredom import METRICS, main, ratios, table


def test_ratios_divide_world_by_world() -> None:
    one = {"return": 10.0, "ctr": 0.5, "drift_recovery_steps": 12.0, "session_length": 20.0}
    two = {"return": 20.0, "ctr": 0.6, "drift_recovery_steps": 10.0, "session_length": 30.0}
    per_world = {
        "myopic-oracle": {1: one, 2: two},
        "oracle-boredom-0.9": {1: {**one, "return": 11.0}, 2: {**two, "return": 18.0}},
    }
    r = ratios(per_world)["oracle-boredom-0.9"]
    assert r["return"]["values"] == pytest.approx([1.1, 0.9])
    assert r["return"]["mean"] == pytest.approx(1.0) and r["return"]["above"] == 1
    assert r["ctr"]["values"] == [1.0, 1.0] and r["ctr"]["ci95"] == 0.0
    assert "| oracle-boredom-0.9 | 1.000 ± " in table(ratios(per_world), 2)


def test_the_worlds_own_weight_is_the_myopic_oracle(tmp_path: Path) -> None:
    out = tmp_path / "ob.json"
    result = main(["--weights", "0.3,0.9", "--seeds", "1,2", "--ticks", "40", "--num-envs", "16", "--burn-in", "10",
                   "--encoder", "hashing:64", "--runs-dir", str(tmp_path), "--no-progress", "--json", str(out)])  # fmt: skip
    assert json.loads(out.read_text())["ratios"].keys() == {"oracle-boredom-0.3", "oracle-boredom-0.9"}
    same = result["ratios"]["oracle-boredom-0.3"]
    for metric in ("return", "ctr", "session_length"):
        assert same[metric]["values"] == [1.0, 1.0], metric  # 0.3 is the default world's weight: same slates
    other = result["ratios"]["oracle-boredom-0.9"]["return"]["values"]
    assert all(math.isfinite(v) and v != 1.0 for v in other)
    assert result["per_world"]["myopic-oracle"].keys() == {"1", "2"}


def test_also_runs_other_diagnostics_without_weights(tmp_path: Path) -> None:
    result = main(["--weights", "", "--also", "oracle-rollout", "--seeds", "1,2", "--ticks", "20", "--num-envs", "8",
                   "--burn-in", "5", "--encoder", "hashing:64", "--runs-dir", str(tmp_path), "--no-progress"])  # fmt: skip
    assert result["ratios"].keys() == {"oracle-rollout"}
    assert len(result["ratios"]["oracle-rollout"]["return"]["values"]) == 2


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--seeds", "10001,2"], "held-out evaluation seed"),
        (["--seeds", "1"], "at least two worlds"),
        (["--weights", "0.3,-1"], "each must be in [0, 100]"),
        (["--weights", "a"], "comma-separated numbers"),
    ],
)
def test_bad_arguments_are_refused_by_name(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(argv)
    err = capsys.readouterr().err
    assert message in err, err


def test_from_report_reads_a_harness_run(tmp_path: Path) -> None:
    # A held-out run of the harness is summarised the same way, world by world, without running anything.
    def agent(ret: list[float]) -> dict[str, dict[str, list[float]]]:
        return {k: {"values": ret if k == "return" else [1.0, 1.0]} for k in METRICS}

    results = {"env": {"random": agent([1.0, 1.0]), "myopic-oracle": agent([10.0, 20.0]),
                       "oracle-boredom-0.45": agent([12.0, 19.0])}}  # fmt: skip
    path = tmp_path / "results.json"
    path.write_text(json.dumps({"meta": {"seeds": [10001, 10002]}, "results": results}))
    out = main(["--from-report", str(path), "--env-id", "env", "--json", str(tmp_path / "o.json")])
    assert out["ratios"].keys() == {"oracle-boredom-0.45"}  # random is not one of the oracles
    assert out["ratios"]["oracle-boredom-0.45"]["return"]["values"] == pytest.approx([1.2, 0.95])
    assert out["per_world"]["myopic-oracle"]["10002"]["return"] == 20.0
    with pytest.raises(SystemExit):
        main(["--from-report", str(path), "--env-id", "other"])
