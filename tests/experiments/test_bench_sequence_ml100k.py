"""The sequence benchmark runs end to end on tiny synthetic data and reports against a peer file."""

from __future__ import annotations

import json
from pathlib import Path

from freshrec.experiments.bench_sequence_ml100k import main

PEER = {
    "test": {"hit@10": 0.1, "ndcg@10": 0.05, "mrr@10": 0.04},
    "best_epoch": 3,
    "stopped_epoch": 5,
    "wall_seconds_to_converge": 100.0,
}


def test_benchmark_writes_the_summary_and_the_evaluation_document(tmp_path: Path) -> None:
    peer = tmp_path / "peer.json"
    peer.write_text(json.dumps(PEER))
    out = tmp_path / "summary.json"
    argv = ["--dataset", "synthetic:tiny", "--encoder", "hashing:16", "--epochs", "2", "--workers", "1",
            "--work", str(tmp_path / "work"), "--peer", str(peer), "--out", str(out), "--quiet"]  # fmt: skip
    result = main(argv)
    assert json.loads(out.read_text()) == json.loads(json.dumps(result))
    assert set(result["training"]) == {"transformer (ID only)", "transformer+text"}  # type: ignore[arg-type]
    assert result["peer_test"] == PEER["test"]
    ratios = result["ratios_vs_peer"]
    assert isinstance(ratios, dict) and ratios["ndcg10_seen_excluded"] >= 0.0
    document = json.loads((tmp_path / "work" / "results.json").read_text())
    assert document["format"] == "freshrec.evaluation/1"
    assert {r["model"] for r in document["results"]} == {"most-popular", "transformer (ID only)", "transformer+text"}
