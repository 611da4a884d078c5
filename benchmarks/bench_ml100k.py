"""ml-100k leave-one-out benchmark: freshrec's text-aware transformer, its ID-only twin and most-popular,
side by side with RecBole 1.2.1's SASRec (the peer).

The peer takes over an hour, so it runs separately (``bash benchmarks/peer/setup_peer.sh``) and this
script reuses its last result file. Usage::

    .venv/bin/python benchmarks/bench_ml100k.py [--batch-size 64] [--lr 0.001] [--out benchmarks/results/ml100k.json]
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from dataclasses import asdict
from pathlib import Path

from freshrec.data.loaders import load_dataset
from freshrec.evaluation.suite import Suite
from freshrec.models.base import Recommender
from freshrec.models.popularity import MostPopular
from freshrec.models.transformer import ModelConfig
from freshrec.training.pipeline import cached_encoder, fit_transformer, prepare
from freshrec.training.trainer import TrainConfig

PEER = Path(__file__).parent / "results" / "recbole_sasrec_ml100k.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch-size", type=int, default=TrainConfig.batch_size)
    parser.add_argument("--lr", type=float, default=TrainConfig.lr)
    parser.add_argument("--patience", type=int, default=TrainConfig.patience)
    parser.add_argument("--seed", type=int, default=TrainConfig.seed)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "ml100k.json")
    args = parser.parse_args()

    dataset, _ = load_dataset("ml-100k")
    prepared = prepare(dataset, cached_encoder("minilm"))
    train_config = TrainConfig(batch_size=args.batch_size, lr=args.lr, patience=args.patience, seed=args.seed)
    models: list[Recommender] = [MostPopular.fit(prepared.split.train, dataset.interactions.num_items)]
    training = {}
    for use_text in (True, False):
        started = time.perf_counter()
        model, result = fit_transformer(prepared, ModelConfig(num_items=1, use_text=use_text), train_config)
        training[model.name] = {
            "best_epoch": result.best_epoch,
            "stopped_epoch": result.epochs[-1].epoch,
            "seconds_to_best": result.seconds_to_best,
            "wall_seconds_to_converge": time.perf_counter() - started,  # incl. the patience epochs
            "seconds_per_epoch": sum(e.seconds for e in result.epochs) / len(result.epochs),
            "best_valid": result.best_valid,
        }
        models.append(model)
    suite = Suite({"name": dataset.name, "interactions": len(dataset.interactions)})
    suite.run(models, prepared.split, prepared.text_vectors)
    print(suite.table())

    peer = json.loads(PEER.read_text()) if PEER.exists() else None
    text = suite.find("transformer+text")
    ours = {
        "excluded": text.metrics,
        "kept": suite.find("transformer+text", exclude_seen=False).metrics,
    }
    report: dict[str, object] = {
        "train_config": asdict(train_config),
        "model_config": asdict(ModelConfig(num_items=dataset.interactions.num_items)),
        "training": training,
        "results": suite.to_json()["results"],
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "peer": peer,
    }
    if peer:
        peer_ndcg = peer["test"]["ndcg@10"]
        report["ratios_vs_peer"] = {
            "ndcg10_seen_excluded": ours["excluded"]["NDCG@10"] / peer_ndcg,
            "ndcg10_seen_kept": ours["kept"]["NDCG@10"] / peer_ndcg,
            "time_to_converge": peer["wall_seconds_to_converge"]
            / training["transformer+text"]["wall_seconds_to_converge"],
        }
    id_only = suite.find("transformer (ID only)")
    cold = "test:cold-item(<=5)"
    report["text_vs_id"] = {
        "overall_ndcg10": (text.metrics["NDCG@10"], id_only.metrics["NDCG@10"]),
        "cold_item_ndcg10": (
            suite.find("transformer+text", cold).metrics["NDCG@10"],
            suite.find("transformer (ID only)", cold).metrics["NDCG@10"],
        ),
        "cold_item_users": suite.dataset["cold_item_users"],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    summary = {k: report[k] for k in ("training", "peak_rss_mb", "text_vs_id") if k in report}
    summary["ratios_vs_peer"] = report.get("ratios_vs_peer", "peer result missing: run benchmarks/peer/setup_peer.sh")
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
