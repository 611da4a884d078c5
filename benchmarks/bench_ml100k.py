"""ml-100k leave-one-out benchmark: the main job (`freshrec demo`: text-aware transformer, its ID-only
twin, most-popular) side by side with RecBole 1.2.1's SASRec (the peer).

The peer takes over an hour, so it runs separately (``bash benchmarks/peer/setup_peer.sh``) and this
script reuses its last result file. One run also gives the README's demo timing. Usage::

    .venv/bin/python benchmarks/bench_ml100k.py [--out benchmarks/results/ml100k.json]
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

from freshrec.demo import DemoConfig, run_demo
from freshrec.evaluation.suite import COLD_ITEM_MAX_TRAIN

RESULTS = Path(__file__).parent / "results"
PEER = RESULTS / "recbole_sasrec_ml100k.json"


def compare(suite_json: dict, peer: dict | None, demo_seconds: float) -> dict[str, object]:  # type: ignore[type-arg]
    """The figures the issue asks for, from the demo's results and the peer's result file."""

    def metric(model: str, split: str = "test", exclude_seen: bool = True, name: str = "NDCG@10") -> float:
        for row in suite_json["results"]:
            if (row["model"], row["split"], row["exclude_seen"]) == (model, split, exclude_seen):
                return float(row["metrics"][name])
        raise KeyError((model, split, exclude_seen))

    training = {
        name: {
            "best_epoch": run["best_epoch"],
            "stopped_epoch": run["epochs"][-1]["epoch"],
            "seconds_to_best": run["seconds_to_best"],
            "wall_seconds_to_converge": run["seconds_total"],  # incl. the patience epochs after the best
            "seconds_per_epoch": sum(e["seconds"] for e in run["epochs"]) / len(run["epochs"]),
        }
        for name, run in suite_json["training"].items()
    }
    text, cold = "transformer+text", f"test:cold-item(<={COLD_ITEM_MAX_TRAIN})"
    ours = {
        f"{m}_{'excluded' if ex else 'kept'}": metric(text, exclude_seen=ex, name=m)
        for m in ("HR@10", "NDCG@10", "MRR@10")
        for ex in (True, False)
    }
    out: dict[str, object] = {
        "demo_wall_seconds": demo_seconds,
        "training": training,
        "ours_test": ours,
        "text_vs_id_ndcg10": {
            "overall": [metric(text), metric("transformer (ID only)")],
            "cold_item": [metric(text, cold), metric("transformer (ID only)", cold)],
            "cold_item_users": suite_json["dataset"]["cold_item_users"],
        },
    }
    if peer:
        out["peer_test"] = peer["test"]
        out["peer_training"] = {k: peer[k] for k in ("best_epoch", "stopped_epoch", "wall_seconds_to_converge")}
        out["ratios_vs_peer"] = {
            "ndcg10_seen_excluded": ours["NDCG@10_excluded"] / peer["test"]["ndcg@10"],
            "ndcg10_seen_kept": ours["NDCG@10_kept"] / peer["test"]["ndcg@10"],
            "time_to_converge": peer["wall_seconds_to_converge"] / training[text]["wall_seconds_to_converge"],
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--report", type=Path, default=Path("report"), help="Where the demo writes its report.")
    parser.add_argument("--out", type=Path, default=RESULTS / "ml100k.json")
    args = parser.parse_args()
    started = time.perf_counter()
    run_demo(DemoConfig(out=args.report))
    demo_seconds = time.perf_counter() - started
    suite_json = json.loads((args.report / "results.json").read_text())
    peer = json.loads(PEER.read_text()) if PEER.exists() else None
    result = compare(suite_json, peer, demo_seconds)
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
