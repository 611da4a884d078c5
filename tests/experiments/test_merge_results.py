"""Merging harness reports of the same worlds: checked on the agents they share, refused otherwise."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from freshrec.experiments.merge_results import join_worlds, main, merge

ENV, OTHER = "freshrec/DriftingUsers-v0", "freshrec/Stationary-v0"


def report(
    path: Path, table: dict[str, dict[str, list[float]]], seeds: list[int], models: tuple[str, ...] = ()
) -> Path:
    """A harness-shaped results.json: agent -> metric -> {"values": per-seed}, on ENV (and OTHER, empty)."""
    results = {
        name: {m: {"values": v, "mean": sum(v) / len(v)} for m, v in metrics.items()} for name, metrics in table.items()
    }
    data: dict[str, Any] = {"meta": {"seeds": seeds, "config": {"models": list(models)}}, "results": {ENV: results}}
    if path.stem == "with_other":
        data["results"][OTHER] = {}
    path.write_text(json.dumps(data))
    return path


def test_reports_of_the_same_worlds_merge_and_keep_every_metric(tmp_path: Path) -> None:
    a = report(tmp_path / "a.json", {"random": {"return": [1.0, 2.0]}, "ppo-0": {"return": [5.0, 6.0]}}, [1, 2])
    b = report(tmp_path / "with_other.json", {"random": {"return": [1.0, 2.0], "ctr": [0.1, 0.2]},
                                              "public-ctr": {"return": [7.0, 8.0]}}, [1, 2])  # fmt: skip
    merged = merge([a, b], [ENV])
    table = merged["results"][ENV]
    assert list(table) == ["random", "ppo-0", "public-ctr"]  # first seen first
    assert table["random"]["ctr"]["values"] == [0.1, 0.2]  # a metric only the later report recorded is kept
    assert merged["meta"]["merged_from"] == [str(a), str(b)] and merged["meta"]["seeds"] == [1, 2]
    assert list(merged["results"]) == [ENV]  # the second report's other env id is left out
    out = tmp_path / "m" / "results.json"
    main([str(a), str(b), "--out", str(out), "--env-ids", ENV])
    assert json.loads(out.read_text())["results"][ENV]["public-ctr"]["return"]["values"] == [7.0, 8.0]


def test_reports_of_other_worlds_are_refused_by_name(tmp_path: Path) -> None:
    a = report(tmp_path / "a.json", {"random": {"return": [1.0, 2.0]}}, [1, 2])
    differs = report(tmp_path / "b.json", {"random": {"return": [1.0, 2.5]}}, [1, 2])
    with pytest.raises(SystemExit, match=r"random differs between the two reports on return"):
        merge([a, differs])
    seeds = report(tmp_path / "c.json", {"random": {"return": [1.0, 2.0]}}, [1, 3])
    with pytest.raises(SystemExit, match=r"c.json ran seeds \[1, 3\]"):
        merge([a, seeds])
    with pytest.raises(SystemExit, match=r"the merge needs \[1, 2\] of \['freshrec/Stationary-v0'\]"):
        merge([a, a], [OTHER])
    m1 = report(tmp_path / "m1.json", {"ppo": {"return": [1.0, 2.0]}}, [1, 2], ("ppo=one.zip",))
    m2 = report(tmp_path / "m2.json", {"ppo": {"return": [1.0, 2.0]}}, [1, 2], ("ppo=two.zip",))
    with pytest.raises(SystemExit, match=r"\['ppo'\] play different model files"):
        merge([m1, m2])
    with pytest.raises(SystemExit, match="needs at least two reports"):
        merge([a])


def test_reports_of_other_worlds_join_into_one_over_all_of_them(tmp_path: Path) -> None:
    a = report(tmp_path / "a.json", {"random": {"return": [1.0, 2.0], "ctr": [0.1, 0.2]},
                                     "ppo": {"return": [5.0, 6.0]}}, [1, 2])  # fmt: skip
    b = report(tmp_path / "b.json", {"ppo": {"return": [7.0]}, "random": {"return": [3.0]}}, [3])
    joined = join_worlds([a, b])
    table = joined["results"][ENV]
    assert list(table) == ["random", "ppo"] and joined["meta"]["seeds"] == [1, 2, 3]
    assert table["ppo"]["return"]["values"] == [5.0, 6.0, 7.0]
    assert table["ppo"]["return"]["mean"] == pytest.approx(6.0)
    assert table["ppo"]["return"]["ci95"] == pytest.approx(4.303 / 3**0.5, rel=1e-3)  # t(0.975, 2) * sd 1 / sqrt 3
    assert "ctr" not in table["random"]  # recorded on two of the three worlds only: left out
    out = tmp_path / "j.json"
    main([str(a), str(b), "--join-worlds", "--out", str(out)])
    assert json.loads(out.read_text())["results"][ENV]["random"]["return"]["values"] == [1.0, 2.0, 3.0]


def test_joining_refuses_a_world_twice_and_other_agents(tmp_path: Path) -> None:
    a = report(tmp_path / "a.json", {"random": {"return": [1.0, 2.0]}}, [1, 2])
    again = report(tmp_path / "again.json", {"random": {"return": [1.0]}}, [2])
    with pytest.raises(SystemExit, match=r"again.json ran seeds \[2\] that an earlier report ran too"):
        join_worlds([a, again])
    other = report(tmp_path / "other.json", {"random": {"return": [1.0]}, "svd": {"return": [2.0]}}, [3])
    with pytest.raises(SystemExit, match=r"other.json holds agents \['random', 'svd'\]"):
        join_worlds([a, other])
    m1 = report(tmp_path / "m1.json", {"ppo": {"return": [1.0]}}, [1], ("ppo=one.zip",))
    m2 = report(tmp_path / "m2.json", {"ppo": {"return": [1.0]}}, [2], ("ppo=two.zip",))
    with pytest.raises(SystemExit, match=r"\['ppo'\] play different model files"):
        join_worlds([m1, m2])
