"""Train and test RecBole 1.2.1's SASRec on ml-100k with the issue's peer config.

Runs inside the peer's own virtual environment (see ``setup_peer.sh``); it is
never imported by freshrec. Writes one JSON result file that
``python -m freshrec.experiments.bench_sequence_ml100k`` reuses, because the peer takes over an hour.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import sys
import time
from pathlib import Path

os.environ.setdefault("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")

import recbole
import torch
from recbole.config import Config
from recbole.data import create_dataset, data_preparation
from recbole.model.sequential_recommender import SASRec
from recbole.trainer import Trainer
from recbole.utils import init_logger, init_seed

# recbole's `sine` module switches anomaly detection on globally; it doubles epoch time.
torch.autograd.set_detect_anomaly(False)

PEER_CONFIG = {
    "model": "SASRec",
    "dataset": "ml-100k",
    "loss_type": "CE",
    "train_neg_sample_args": None,
    "MAX_ITEM_LIST_LENGTH": 50,
    "hidden_size": 64,
    "inner_size": 256,
    "n_layers": 2,
    "n_heads": 2,
    "hidden_dropout_prob": 0.5,
    "attn_dropout_prob": 0.5,
    "learner": "adam",
    "learning_rate": 0.001,
    "train_batch_size": 2048,
    "eval_args": {"split": {"LS": "valid_and_test"}, "order": "TO", "mode": "full"},
    "metrics": ["Hit", "NDCG", "MRR"],
    "topk": [10],
    "valid_metric": "NDCG@10",
    "stopping_step": 10,
    "epochs": 300,
    "seed": 2020,
    "reproducibility": True,
    "show_progress": False,
}


def main(out_path: Path) -> None:
    data_path = Path(recbole.__file__).parent / "dataset_example"
    config = Config(
        model="SASRec",
        dataset="ml-100k",
        config_dict={
            **PEER_CONFIG,
            "data_path": str(data_path),
            "checkpoint_dir": str(out_path.parent / "saved"),
        },
    )
    init_seed(config["seed"], config["reproducibility"])
    init_logger(config)
    started = time.perf_counter()
    dataset = create_dataset(config)
    train_data, valid_data, test_data = data_preparation(config, dataset)
    model = SASRec(config, train_data.dataset).to(config["device"])
    trainer = Trainer(config, model)

    epochs: list[dict[str, float]] = []
    last = [time.perf_counter()]

    def on_epoch(epoch_idx: int, valid_score: float) -> None:
        now = time.perf_counter()
        epochs.append({"epoch": epoch_idx, "valid_ndcg10": float(valid_score), "seconds": now - last[0]})
        last[0] = now
        print(f"epoch {epoch_idx} valid NDCG@10 {valid_score:.4f} ({now - started:.0f}s)", flush=True)

    _best_score, best_valid = trainer.fit(train_data, valid_data, saved=True, show_progress=False, callback_fn=on_epoch)
    fit_seconds = time.perf_counter() - started
    test = trainer.evaluate(test_data, load_best_model=True, show_progress=False)
    best_epoch = max(epochs, key=lambda e: e["valid_ndcg10"])["epoch"] if epochs else -1
    result = {
        "peer": "RecBole 1.2.1 SASRec",
        "config": PEER_CONFIG,
        "test": {k: float(v) for k, v in test.items()},
        "best_valid": {k: float(v) for k, v in best_valid.items()},
        "best_epoch": best_epoch,
        "stopped_epoch": epochs[-1]["epoch"] if epochs else -1,
        "epochs": epochs,
        "wall_seconds_to_converge": fit_seconds,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "torch_threads": torch.get_num_threads(),
        "machine": f"{platform.machine()} {os.cpu_count()} cores",
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(result, indent=2))
    print(json.dumps(result["test"]), f"best epoch {best_epoch}", f"{fit_seconds:.0f}s")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("experiments/results/recbole_sasrec_ml100k.json"))
