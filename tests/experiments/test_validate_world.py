"""The validation table: the real calibration window against the simulated log, on the planted MovieLens folder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from movielens_fixture import planted_folder

from freshrec.experiments.validate_world import ROWS, main, verdict
from freshrec.simulators.data.loaders import load_dataset


def test_the_table_compares_the_calibration_window_with_a_simulation(tmp_path: Path) -> None:
    out = tmp_path / "validation.json"
    result = main(["--data", str(planted_folder()), "--out", str(out), "--quiet"])
    assert json.loads(out.read_text()) == json.loads(json.dumps(result))
    assert out.with_suffix(".md").read_text().count("\n") == len(ROWS) + 2
    rows = {row["key"]: row for row in result["rows"]}
    assert list(rows) == [key for key, _ in ROWS]
    dataset, _ = load_dataset(planted_folder())
    assert rows["interactions"]["real"] == int(0.8 * len(dataset.interactions))  # exactly the calibration window
    for key, row in rows.items():
        if key.startswith("interest_shift"):  # no planted user has two windows of 50 ratings: nothing to compare
            assert np.isnan(row["real"])
        else:
            assert np.isfinite(row["real"]) and np.isfinite(row["simulated"]), key
    for key in ("gini", "top10_share", "new_item_uptake"):
        assert 0.0 <= rows[key]["real"] <= 1.0 and 0.0 <= rows[key]["simulated"] <= 1.0
    assert result["simulation"]["sessions"] == result["calibration"]["log_sessions"]["value"]


def test_verdicts_say_how_far_off() -> None:
    assert verdict(1.1) == "close (within 25%)"
    assert verdict(0.4) == "under by x2.5"
    assert verdict(3.0) == "over by x3.0"
    assert verdict(float("nan")) == "n/a"
