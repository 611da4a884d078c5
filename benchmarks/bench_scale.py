"""Scale: wall time and peak memory of one training epoch on synthetic data of ML-1M size
(6,040 users, 3,706 items, 1M events) at hidden size 64 and history 200, on this machine's cores.

Usage::

    .venv/bin/python benchmarks/bench_scale.py [--size ml-1m] [--loss full sampled] [--encoder minilm]
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

import torch

from freshrec.data.sequences import leave_one_out, training_windows
from freshrec.data.synthetic import generate_preset
from freshrec.models.transformer import ModelConfig, SequenceRecommender
from freshrec.training.pipeline import cached_encoder, encode_items
from freshrec.training.trainer import TrainConfig, seed_everything, train_epoch


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def one_epoch(windows: torch.Tensor, model: SequenceRecommender, config: TrainConfig) -> tuple[float, int]:
    """Seconds for one training epoch (the trainer's own loop), and the number of targets trained."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    lengths = (windows > 0).sum(dim=1)
    started = time.perf_counter()
    train_epoch(model, optimizer, windows, lengths, config, torch.Generator().manual_seed(config.seed))
    targets = int(((windows[:, 1:] > 0) & (windows[:, :-1] > 0)).sum())
    return time.perf_counter() - started, targets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="ml-1m")
    parser.add_argument("--loss", nargs="+", default=["full", "sampled"])
    parser.add_argument("--encoder", default="minilm")
    parser.add_argument("--batch-size", type=int, default=TrainConfig.batch_size)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "scale.json")
    args = parser.parse_args()

    tick = time.perf_counter()
    dataset, _ = generate_preset(args.size)
    generate_seconds = time.perf_counter() - tick
    split = leave_one_out(dataset.interactions)
    windows = torch.from_numpy(training_windows(split.train, 200))
    tick = time.perf_counter()
    text = torch.from_numpy(encode_items(dataset.item_texts(), cached_encoder(args.encoder)))
    encode_seconds = time.perf_counter() - tick
    report: dict[str, object] = {
        "data": dataset.summary(),
        "generate_seconds": generate_seconds,
        "encode_seconds": encode_seconds,
        "windows": len(windows),
        "threads": torch.get_num_threads(),
        "epochs": {},
    }
    for loss in args.loss:
        seed_everything(0)
        config = ModelConfig(num_items=dataset.interactions.num_items, hidden=64, max_len=200, text_dim=text.shape[1])
        model = SequenceRecommender(config, text)
        seconds, targets = one_epoch(windows, model, TrainConfig(batch_size=args.batch_size, loss=loss))  # type: ignore[arg-type]
        report["epochs"][loss] = {"seconds": seconds, "targets": targets, "targets_per_second": targets / seconds}  # type: ignore[index]
        print(f"{loss}: one epoch {seconds:.1f}s, {targets:,} targets ({targets / seconds:,.0f}/s)", flush=True)
    report["peak_rss_mb"] = peak_rss_mb()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
