"""``paired``: two recipes run by run on the same worlds, and the checks that they were the same worlds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from freshrec.experiments import paired

ENV = "freshrec/DriftingUsers-v0"


def report(path: Path, agents: dict[str, list[float]], seeds: tuple[int, ...] = (10001, 10002)) -> Path:
    """A harness-shaped results.json: each agent's per-world return, and CTR at a tenth of it."""
    table: dict[str, Any] = {
        name: {"return": {"values": vals}, "ctr": {"values": [v / 10 for v in vals]}} for name, vals in agents.items()
    }
    path.write_text(json.dumps({"meta": {"seeds": list(seeds)}, "results": {ENV: table}}))
    return path


def test_ratios_are_per_world_then_per_pair(tmp_path: Path) -> None:
    a = report(tmp_path / "a.json", {"svd": [4.0, 6.0], "new0": [2.0, 9.0], "new1": [6.0, 6.0]})
    b = report(tmp_path / "b.json", {"svd": [4.0, 6.0], "old0": [1.0, 3.0], "old1": [6.0, 12.0]})
    out = paired.main([str(a), "--agents", "new0,new1", "--against", str(b), "--baseline-agents", "old0,old1",
                       "--metrics", "return,ctr", "--json", str(tmp_path / "p.json")])  # fmt: skip
    ret = out["rows"][0]
    # pair 0: (2/1 + 9/3) / 2 = 2.5; pair 1: (6/6 + 6/12) / 2 = 0.75
    assert ret["ratios"] == pytest.approx([2.5, 0.75])
    assert ret["mean"] == pytest.approx(1.625) and ret["above_1"] == 1 and ret["pairs"] == 2
    assert ret["means"][0] == pytest.approx((5.5, 2.0))
    assert out["rows"][1]["ratios"] == pytest.approx([2.5, 0.75])  # CTR is a tenth of the return in both
    assert out["checked"] == ["svd"]
    assert json.loads((tmp_path / "p.json").read_text())["rows"][0]["ratios"] == pytest.approx([2.5, 0.75])


def test_one_report_pairs_within_itself(tmp_path: Path) -> None:
    a = report(tmp_path / "a.json", {"x": [2.0, 2.0], "y": [1.0, 4.0]})
    out = paired.main([str(a), "--agents", "x", "--baseline-agents", "y", "--metrics", "return"])
    assert out["rows"][0]["ratios"] == pytest.approx([1.25])


def test_reports_of_different_worlds_are_refused(tmp_path: Path) -> None:
    a = report(tmp_path / "a.json", {"svd": [4.0, 6.0], "new0": [2.0, 9.0]})
    b = report(tmp_path / "b.json", {"svd": [4.0, 6.5], "old0": [1.0, 3.0]})
    with pytest.raises(SystemExit, match="svd differs between the two reports on return"):
        paired.main(
            [str(a), "--agents", "new0", "--against", str(b), "--baseline-agents", "old0", "--metrics", "return"]
        )
    c = report(tmp_path / "c.json", {"old0": [1.0, 3.0]}, seeds=(10001, 10003))
    with pytest.raises(SystemExit):
        paired.main(
            [str(a), "--agents", "new0", "--against", str(c), "--baseline-agents", "old0", "--metrics", "return"]
        )


def test_bad_names_are_refused_by_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = report(tmp_path / "a.json", {"x": [2.0, 2.0], "y": [1.0, 4.0]})
    with pytest.raises(SystemExit):
        paired.main([str(a), "--agents", "x,nope", "--baseline-agents", "y,y", "--metrics", "return"])
    assert "'nope' is not in its reports" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        paired.main([str(a), "--agents", "x", "--baseline-agents", "y,y"])
    assert "pair them one to one" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        paired.main([str(a), "--agents", "x", "--baseline-agents", "y", "--metrics", "ndcg@5"])
    assert "has no ndcg@5" in capsys.readouterr().err


def test_reports_in_parts_are_read_as_one(tmp_path: Path) -> None:
    """A harness run split in two parts (the same worlds, the baselines in both) pairs as one report."""
    a1 = report(tmp_path / "a1.json", {"svd": [4.0, 6.0], "new0": [2.0, 9.0]})
    a2 = report(tmp_path / "a2.json", {"svd": [4.0, 6.0], "new1": [6.0, 6.0]})
    b = report(tmp_path / "b.json", {"svd": [4.0, 6.0], "old0": [1.0, 3.0], "old1": [6.0, 12.0]})
    args = ["--agents", "new0,new1", "--against", str(b), "--baseline-agents", "old0,old1", "--metrics", "return"]
    out = paired.main([str(a1), str(a2), *args])
    assert out["rows"][0]["ratios"] == pytest.approx([2.5, 0.75]) and out["checked"] == ["svd"]
    bad = report(tmp_path / "a3.json", {"svd": [4.0, 7.0], "new1": [6.0, 6.0]})
    with pytest.raises(SystemExit, match="svd differs"):
        paired.main([str(a1), str(bad), *args])
    other = report(tmp_path / "a4.json", {"new1": [6.0, 6.0]}, seeds=(10001, 10002, 10003))
    with pytest.raises(SystemExit, match="ran seeds"):
        paired.main([str(a1), str(other), *args])


def with_models(path: Path, models: dict[str, str]) -> Path:
    """``path``'s report, recording the ``--models`` its harness run played, as the harness does."""
    data = json.loads(path.read_text())
    data["meta"]["config"] = {"models": [f"{name}={file}" for name, file in models.items()]}
    path.write_text(json.dumps(data))
    return path


def test_two_models_under_one_name_are_two_agents_not_other_worlds(tmp_path: Path) -> None:
    """A trained agent differing between the reports is a different model when the reports say so, and is
    then left out of the check (and listed); under the same model file it still means other worlds."""
    a = report(tmp_path / "a.json", {"svd": [4.0, 6.0], "ppo-drift": [3.0, 3.0], "new0": [2.0, 9.0]})
    b = report(tmp_path / "b.json", {"svd": [4.0, 6.0], "ppo-drift": [5.0, 1.0], "old0": [1.0, 3.0]})
    args = [str(a), "--agents", "new0", "--against", str(b), "--baseline-agents", "old0", "--metrics", "return"]
    with pytest.raises(SystemExit, match="ppo-drift differs"):  # nothing recorded: nothing tells them apart
        paired.main(args)
    with_models(a, {"ppo-drift": "runs/x/best_model.zip", "new0": "runs/n/best_model.zip"})
    with_models(b, {"ppo-drift": "runs/x/best_model.zip", "old0": "runs/o/best_model.zip"})
    with pytest.raises(SystemExit, match="ppo-drift differs"):  # one model, two results: other worlds
        paired.main(args)
    with_models(b, {"ppo-drift": "runs/y/best_model.zip", "old0": "runs/o/best_model.zip"})
    out = paired.main(args)
    assert out["checked"] == ["svd"] and out["not_checked_other_models"] == ["ppo-drift"]
    assert out["rows"][0]["ratios"] == pytest.approx([2.5])
    # svd still guards the worlds
    report(tmp_path / "b.json", {"svd": [4.0, 7.0], "ppo-drift": [5.0, 1.0], "old0": [1.0, 3.0]})
    with_models(b, {"ppo-drift": "runs/y/best_model.zip", "old0": "runs/o/best_model.zip"})
    with pytest.raises(SystemExit, match="svd differs"):
        paired.main(args)


def test_merged_reports_keep_their_parts_models() -> None:
    """A report merged from parts (which may themselves be merged) names the models of every part."""
    inner = {"parts": [{"config": {"models": ["t0=runs/t0.zip"]}}, {"config": {"models": ["t1=runs/t1.zip"]}}]}
    meta = {"parts": [{"config": {"models": ["m0=runs/m0.zip", "t0=runs/first.zip"]}}, inner]}
    assert paired.models_of(meta) == {"m0": "runs/m0.zip", "t0": "runs/first.zip", "t1": "runs/t1.zip"}
    assert paired.models_of({"seeds": [1]}) == {}
