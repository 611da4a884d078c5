"""ml-100k leave-one-out benchmark of the sequence agents (text-aware transformer, its ID-only twin,
most-popular), side by side with RecBole 1.2.1's SASRec (the peer).

The peer takes over an hour, so it runs separately (``bash experiments/peer/recbole/setup_peer.sh``) and
this module reuses its last result file. Run from the repository root::

    .venv/bin/python -m freshrec.experiments.bench_sequence_ml100k [--out experiments/results/ml100k.json]

The evaluation document (``results.json``, see ``docs/results-json.md``) goes to ``--work``.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from freshrec.agents.sequence.base import Recommender
from freshrec.agents.sequence.parallel import fit_side_by_side
from freshrec.agents.sequence.pipeline import cached_encoder, prepare
from freshrec.agents.sequence.popularity import MostPopular
from freshrec.agents.sequence.suite import COLD_ITEM_MAX_TRAIN, Suite
from freshrec.agents.sequence.trainer import TrainConfig
from freshrec.agents.sequence.transformer import ModelConfig
from freshrec.experiments.cli import HelpFormatter
from freshrec.simulators.data.loaders import load_dataset

RESULTS = Path("experiments/results")  # relative to the repository root, where this runs
PEER = RESULTS / "recbole_sasrec_ml100k.json"
TEXT, ID_ONLY = "transformer+text", "transformer (ID only)"


def compare(suite_json: dict[str, Any], peer: dict[str, Any] | None, wall_seconds: float) -> dict[str, object]:
    """The headline figures, from the suite's results document and the peer's result file."""

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
    cold = f"test:cold-item(<={COLD_ITEM_MAX_TRAIN})"
    ours = {
        f"{m}_{'excluded' if ex else 'kept'}": metric(TEXT, exclude_seen=ex, name=m)
        for m in ("HR@10", "NDCG@10", "MRR@10")
        for ex in (True, False)
    }
    out: dict[str, object] = {
        "demo_wall_seconds": wall_seconds,  # the name of the retired `freshrec demo`, kept for old result files
        "training": training,
        "ours_test": ours,
        "text_vs_id_ndcg10": {
            "overall": [metric(TEXT), metric(ID_ONLY)],
            "cold_item": [metric(TEXT, cold), metric(ID_ONLY, cold)],
            "cold_item_users": suite_json["dataset"]["cold_item_users"],
        },
    }
    if peer:
        out["peer_test"] = peer["test"]
        out["peer_training"] = {k: peer[k] for k in ("best_epoch", "stopped_epoch", "wall_seconds_to_converge")}
        out["ratios_vs_peer"] = {
            "ndcg10_seen_excluded": ours["NDCG@10_excluded"] / peer["test"]["ndcg@10"],
            "ndcg10_seen_kept": ours["NDCG@10_kept"] / peer["test"]["ndcg@10"],
            "time_to_converge": peer["wall_seconds_to_converge"] / training[TEXT]["wall_seconds_to_converge"],
        }
    return out


def run_suite(
    dataset_spec: str,
    encoder: str,
    train_config: TrainConfig,
    model_config: ModelConfig | None = None,
    workers: int | None = None,
    progress: bool = True,
) -> Suite:
    """Train the ID-only and the text-aware transformer side by side, add most-popular, test all three."""
    dataset, _ = load_dataset(dataset_spec)
    prepared = prepare(dataset, cached_encoder(encoder), progress=progress)
    base = model_config or ModelConfig(num_items=1)
    configs = [replace(base, use_text=False), replace(base, use_text=True)]
    trained = fit_side_by_side(prepared, configs, train_config, workers, progress)
    interactions = dataset.interactions
    models: list[Recommender] = [MostPopular.fit(prepared.split.train, interactions.num_items)]
    models += [model for model, _ in trained]
    suite = Suite({"name": dataset.name, "interactions": len(interactions), "users": interactions.num_users,
                   "items": interactions.num_items, "evaluated_users": len(prepared.split.valid_users)})  # fmt: skip
    suite.training = {model.name: result.to_dict() for model, result in trained}
    return suite.run(models, prepared.split, prepared.text_vectors, progress=progress)


def main(argv: Sequence[str] | None = None) -> dict[str, object]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    parser.add_argument("--dataset", default="ml-100k", help="A data set name or path (see load_dataset).")
    parser.add_argument("--encoder", default="minilm", help="minilm, hashing[:DIM] or a model folder.")
    parser.add_argument("--epochs", type=int, default=TrainConfig.epochs, help="At most this many epochs.")
    parser.add_argument("--workers", type=int, default=None, help="Training processes (default: one per model).")
    parser.add_argument("--work", type=Path, default=Path("runs/bench_sequence_ml100k"), help="For results.json.")
    parser.add_argument("--peer", type=Path, default=PEER, help="The peer's result file (skipped when absent).")
    parser.add_argument("--out", type=Path, default=RESULTS / "ml100k.json", help="where the figures go")
    parser.add_argument("--quiet", action="store_true", help="No progress bars or printed results.")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    suite = run_suite(args.dataset, args.encoder, TrainConfig(epochs=args.epochs), workers=args.workers,
                      progress=not args.quiet)  # fmt: skip
    wall_seconds = time.perf_counter() - started
    suite.write_json(args.work / "results.json")
    peer = json.loads(args.peer.read_text()) if args.peer.exists() else None
    result = compare(suite.to_json(), peer, wall_seconds)
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    if not args.quiet:
        print(suite.table())
        print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
