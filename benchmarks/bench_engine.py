"""Real-time engine latencies on a 100k-item catalog with text and users with 50-item histories.

Each figure is compared with the simplest honest alternative measured in the same run:
- freshness (ingest -> a recommend that reflects it) vs rebuilding the user's state from the log;
- a new item (add_items with MiniLM text encoding -> recommendable) vs re-projecting the whole catalog;
- recommend latency (k=10, seen items, an exclude list and a category filter on) vs no user cache;
- durable ingest throughput, batched (``ingest_many``) vs one event per call.

Set-up: the model has random weights (latency does not depend on them); the bulk catalog's text
vectors come from the hashing encoder (384 dims) to keep set-up short, while every timed
``add_items`` runs the real all-MiniLM-L6-v2. Usage::

    .venv/bin/python benchmarks/bench_engine.py [--items 100000] [--users 1000]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from freshrec.data.records import Event, Item
from freshrec.engine.engine import Engine
from freshrec.models.sequential import TransformerRecommender
from freshrec.models.transformer import ModelConfig, SequenceRecommender
from freshrec.text.encoder import HashingEncoder, SentenceEncoder


def pct(samples: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(samples) * 1000.0, q))  # milliseconds


def summary(samples: list[float]) -> dict[str, float]:
    return {"p50_ms": pct(samples, 50), "p99_ms": pct(samples, 99), "n": len(samples)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=1_000)
    parser.add_argument("--history", type=int, default=50)
    parser.add_argument("--trials", type=int, default=300)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "engine.json")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    torch.manual_seed(0)
    ids = [f"i{i}" for i in range(args.items)]
    config = ModelConfig(num_items=args.items, hidden=64, layers=2, heads=2, max_len=args.history, text_dim=384)
    bulk = HashingEncoder(384)
    texts = [f"item {i} in group {i % 500} style {i % 37}" for i in range(args.items)]
    model = SequenceRecommender(
        config, torch.from_numpy(np.vstack([np.zeros((1, 384), np.float32), bulk.encode(texts)]))
    )
    folder = Path(tempfile.mkdtemp(prefix="freshrec-bench-"))
    engine = Engine(TransformerRecommender(model, ids), bulk, folder)
    report: dict[str, object] = {"items": args.items, "users": args.users, "history": args.history}

    tick = time.perf_counter()
    engine.add_items([Item(i, texts[n], (f"group{n % 500}",)) for n, i in enumerate(ids)])
    report["catalog_load_seconds"] = time.perf_counter() - tick

    # durable ingest: users with 50-item histories, batched per user, then one event per call
    events = [
        Event(f"u{u}", item_id=ids[int(j)], timestamp=1e9 + u * args.history + n)
        for u in range(args.users)
        for n, j in enumerate(rng.integers(0, args.items, args.history))
    ]
    tick = time.perf_counter()
    for start in range(0, len(events), args.history):
        engine.ingest_many(events[start : start + args.history])
    batched_rate = len(events) / (time.perf_counter() - tick)
    singles = [
        Event(f"s{n % 100}", item_id=ids[int(j)], timestamp=2e9 + n)
        for n, j in enumerate(rng.integers(0, args.items, 2_000))
    ]
    tick = time.perf_counter()
    for event in singles:
        engine.ingest(event)
    single_rate = len(singles) / (time.perf_counter() - tick)
    report["ingest_events_per_second"] = {"batched_50": batched_rate, "one_per_call": single_rate}

    # freshness: ingest returns -> a recommend that reflects the event (the new item is now 'seen')
    fresh, rebuild = [], []
    for trial in range(args.trials):
        user, item = f"u{trial % args.users}", ids[int(rng.integers(0, args.items))]
        engine.recommend(user, k=10)  # warm cache, as a live user would have
        engine.ingest(Event(user, item_id=item, timestamp=3e9 + trial))
        tick = time.perf_counter()
        top = engine.recommend(user, k=10)
        fresh.append(time.perf_counter() - tick)
        assert item not in [r.item_id for r in top] and engine.state.history(user)[-1] == item
        # alternative: rebuild this user's sequence from the durable log, then encode and score
        tick = time.perf_counter()
        history = [op.item_id for _, (kind, op) in engine.log.replay() if kind == "event" and op.user_id == user]  # type: ignore[union-attr]
        rows = engine.table.rows([h for h in history if h][-args.history :])
        with torch.no_grad():
            state = engine.model.model.user_vectors(
                torch.from_numpy(rows[None]), torch.from_numpy(engine.table.vectors[: len(engine.table)])
            )
        _ = engine.table.vectors[: len(engine.table)] @ state[0].numpy()
        rebuild.append(time.perf_counter() - tick)
        if trial >= 20:
            break  # the rebuild reads the whole log each time: 20 samples are plenty
    for trial in range(21, args.trials):
        user, item = f"u{trial % args.users}", ids[int(rng.integers(0, args.items))]
        engine.recommend(user, k=10)
        engine.ingest(Event(user, item_id=item, timestamp=3e9 + trial))
        tick = time.perf_counter()
        engine.recommend(user, k=10)
        fresh.append(time.perf_counter() - tick)
    report["freshness"] = {"engine": summary(fresh), "rebuild_from_log": summary(rebuild),
                           "ratio_p50": statistics.median(rebuild) / statistics.median(fresh)}  # fmt: skip

    # new item: add_items (real MiniLM encoding) -> recommendable; vs re-projecting the whole catalog
    engine.encoder = SentenceEncoder()
    engine.encoder.encode(["warm up"])
    added = []
    for trial in range(min(args.trials, 100)):
        tick = time.perf_counter()
        engine.add_items(
            [Item(f"new{trial}", f"brand new gadget number {trial} with a fresh design", (f"new{trial}",))]
        )
        top = engine.recommend(f"u{trial}", k=10, categories=[f"new{trial}"])
        added.append(time.perf_counter() - tick)
        assert f"new{trial}" in [r.item_id for r in top]
    # alternative: rebuild the item table from the catalog (with the fast bulk encoder: a lower bound,
    # since re-encoding 100k texts with MiniLM would take many minutes)
    minilm, engine.encoder = engine.encoder, bulk
    tick = time.perf_counter()
    engine._build_table()
    full = time.perf_counter() - tick
    engine.encoder = minilm
    report["new_item"] = {"engine": summary(added), "rebuild_item_table_ms": full * 1000,
                          "ratio_p50": full / statistics.median(added)}  # fmt: skip

    # recommend latency with filters on: cached users vs no cache
    cached, uncached = [], []
    for trial in range(args.trials):
        user = f"u{int(rng.integers(0, args.users))}"
        exclude = [ids[int(j)] for j in rng.integers(0, args.items, 5)]
        engine.recommend(user, k=10)
        tick = time.perf_counter()
        engine.recommend(user, k=10, exclude=exclude, categories=[f"group{trial % 500}", f"group{(trial + 1) % 500}"])
        cached.append(time.perf_counter() - tick)
        engine._user_cache.pop(user, None)
        tick = time.perf_counter()
        engine.recommend(user, k=10, exclude=exclude, categories=[f"group{trial % 500}"])
        uncached.append(time.perf_counter() - tick)
    batch_users = [f"u{u}" for u in range(min(args.users, 256))]
    engine._user_cache.clear()
    tick = time.perf_counter()
    engine.recommend_many(batch_users, k=10)
    batched = len(batch_users) / (time.perf_counter() - tick)
    engine._user_cache.clear()
    tick = time.perf_counter()
    for user in batch_users:
        engine.recommend(user, k=10)
    sequential = len(batch_users) / (time.perf_counter() - tick)
    report["recommend"] = {"cached_user": summary(cached), "uncached_user": summary(uncached),
                           "throughput_per_second": {"batched_cold": batched, "one_by_one_cold": sequential}}  # fmt: skip
    engine.close()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
