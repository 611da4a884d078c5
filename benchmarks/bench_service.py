"""HTTP service latency and throughput: a 100k-item catalog with text, users with 50-item histories,
80% recommendation requests and 20% event posts, at concurrency 1, 16 and 64, with micro-batching on
and off (the same figures, as ratios).

The server is the real one (``freshrec serve`` in a subprocess, one uvicorn worker); the load
generator is a small asyncio client with keep-alive connections on loopback, in this process, so
both share the machine's cores, as a co-located client would. Each virtual client owns some users;
after it posts an event for a user its next request is that user's recommendations, and the answer
must reflect the event (its ``seq`` is at least the event's): the time from the event's 2xx to that
answer is the freshness sample. Every recommendation answer is checked against the latest
acknowledged event of its user, and must hold the k = 10 items asked for.

Set-up as in bench_engine.py: random model weights (latency does not depend on them), catalog text
vectors from the hashing encoder (384 dims). Usage::

    .venv/bin/python benchmarks/bench_service.py [--items 100000] [--users 1000] [--seconds 8]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from freshrec.data.records import Event, Item
from freshrec.engine.engine import Engine
from freshrec.models.sequential import TransformerRecommender
from freshrec.models.transformer import ModelConfig, SequenceRecommender
from freshrec.text.encoder import HashingEncoder

KEY = "bench-key-0123456789abcdef0123"
LENGTH = re.compile(rb"content-length: *(\d+)", re.IGNORECASE)


def pct(samples: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(samples) * 1000.0, q)) if samples else float("nan")


def summary(samples: list[float]) -> dict[str, float]:
    return {"p50_ms": pct(samples, 50), "p99_ms": pct(samples, 99), "n": len(samples)}


def build(folder: Path, items: int, users: int, history: int) -> Path:
    """A checkpoint and a data folder holding the catalog and every user's history (snapshotted)."""
    rng = np.random.default_rng(0)
    torch.manual_seed(0)
    ids = [f"i{i}" for i in range(items)]
    config = ModelConfig(num_items=items, hidden=64, layers=2, heads=2, max_len=history, text_dim=384)
    bulk = HashingEncoder(384)
    texts = [f"item {i} in group {i % 500} style {i % 37}" for i in range(items)]
    model = SequenceRecommender(
        config, torch.from_numpy(np.vstack([np.zeros((1, 384), np.float32), bulk.encode(texts)]))
    )
    wrapped = TransformerRecommender(model, ids, bulk.name)
    checkpoint = folder / "model.pt"
    wrapped.save(checkpoint)
    engine = Engine(wrapped, bulk, folder / "data")
    engine.add_items([Item(i, texts[n], (f"group{n % 500}",)) for n, i in enumerate(ids)])
    for u in range(users):
        picks = rng.integers(0, items, history)
        engine.ingest_many(
            [Event(f"u{u}", item_id=ids[int(j)], timestamp=1e9 + u * history + n) for n, j in enumerate(picks)]
        )
    engine.snapshot()
    engine.close()
    return checkpoint


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(
    checkpoint: Path, data: Path, batching: bool, wait_ms: float
) -> tuple[subprocess.Popen[bytes], int, float]:
    port = free_port()
    env = {**os.environ, "FRESHREC_API_KEYS": json.dumps([{"name": "bench", "key": KEY, "scopes": ["read", "write"]}]),
           "FRESHREC_CHECKPOINT": str(checkpoint), "FRESHREC_DATA_DIR": str(data), "FRESHREC_PORT": str(port),
           "FRESHREC_BATCHING": str(batching).lower(), "FRESHREC_CACHE": str(data.parent / "cache"),
           "FRESHREC_BATCH_MAX_WAIT_MS": str(wait_ms)}  # fmt: skip
    tick = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-c", "from freshrec.cli import main; main()", "serve"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    while True:
        assert process.poll() is None, "server died"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return process, port, time.perf_counter() - tick
        except OSError:
            time.sleep(0.2)


@dataclass
class Tally:
    recommend: list[float] = field(default_factory=list)
    events: list[float] = field(default_factory=list)
    freshness: list[float] = field(default_factory=list)
    stale: int = 0  # answers that did not reflect their user's latest acknowledged event
    short: int = 0  # answers with fewer than the k=10 items asked for (the catalog always has more)
    errors: int = 0


async def client(port: int, worker: int, users: int, items: int, until: float, warm: float, tally: Tally) -> None:
    rng = random.Random(worker)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    latest: dict[str, int] = {}  # user -> seq of their latest acknowledged event
    stamp = 2e9 + worker * 1e7

    async def call(data: bytes) -> tuple[int, bytes]:
        writer.write(data)
        head = await reader.readuntil(b"\r\n\r\n")
        match = LENGTH.search(head)
        body = await reader.readexactly(int(match.group(1))) if match else b""
        return int(head[9:12]), body

    follow: tuple[str, float, int] | None = None  # (user, time of the event's 2xx, its seq)
    while time.perf_counter() < until:
        if follow is None and rng.random() < 0.25:  # 0.25 of the free steps, each followed by a read: 20% of requests
            user, stamp = f"u{rng.randrange(users)}", stamp + 1
            body = json.dumps(
                {"user_id": user, "item_id": f"i{rng.randrange(items)}", "kind": "click", "timestamp": stamp}
            ).encode()
            request = (b"POST /v1/events HTTP/1.1\r\nHost: bench\r\nX-API-Key: " + KEY.encode() +
                       b"\r\nContent-Type: application/json\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)  # fmt: skip
            tick = time.perf_counter()
            status, answer = await call(request)
            done = time.perf_counter()
            if status != 200:
                tally.errors += 1
                continue
            seq = json.loads(answer)["seq"]
            latest[user] = seq
            follow = (user, done, seq)
            if tick >= warm:
                tally.events.append(done - tick)
            continue
        user = follow[0] if follow else f"u{rng.randrange(users)}"
        request = (
            f"GET /v1/users/{user}/recommendations?k=10 HTTP/1.1\r\nHost: bench\r\nX-API-Key: {KEY}\r\n\r\n".encode()
        )
        tick = time.perf_counter()
        status, answer = await call(request)
        done = time.perf_counter()
        if status != 200:
            tally.errors += 1
            follow = None
            continue
        parsed = json.loads(answer)
        if parsed["seq"] < latest.get(user, 0):
            tally.stale += 1
        if len(parsed["items"]) != 10:
            tally.short += 1
        if tick >= warm:
            tally.recommend.append(done - tick)
            if follow is not None:
                tally.freshness.append(done - follow[1])
        follow = None
    writer.close()


async def load(port: int, concurrency: int, seconds: float, users: int, items: int) -> dict[str, object]:
    tally = Tally()
    start, cpu = time.perf_counter(), time.process_time()
    warm, until = start + 1.0, start + 1.0 + seconds
    await asyncio.gather(*(client(port, w, users, items, until, warm, tally) for w in range(concurrency)))
    load_cpu = (time.process_time() - cpu) / (time.perf_counter() - start)  # cores the load generator itself used
    return {
        "load_generator_cores": load_cpu,
        "concurrency": concurrency,
        "recommend": summary(tally.recommend),
        "events": summary(tally.events),
        "freshness": summary(tally.freshness),
        "recommend_per_second": len(tally.recommend) / seconds,
        "requests_per_second": (len(tally.recommend) + len(tally.events)) / seconds,
        "event_share": len(tally.events) / max(1, len(tally.recommend) + len(tally.events)),
        "stale_answers": tally.stale,
        "short_answers": tally.short,
        "errors": tally.errors,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=1_000)
    parser.add_argument("--history", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=8.0, help="measured seconds per run (after 1 s warm-up)")
    parser.add_argument("--concurrency", default="1,16,64")
    parser.add_argument("--max-wait-ms", type=float, default=0.0, help="the server's batch_max_wait_ms")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "service.json")
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    folder = Path(tempfile.mkdtemp(prefix="freshrec-bench-service-"))
    tick = time.perf_counter()
    checkpoint = build(folder, args.items, args.users, args.history)
    report: dict[str, object] = {"items": args.items, "users": args.users, "history": args.history,
                                 "seconds_per_run": args.seconds, "cpus": os.cpu_count(), "batch_max_wait_ms": args.max_wait_ms,
                                 "setup_seconds": time.perf_counter() - tick}  # fmt: skip
    for batching in (True, False):
        process, port, started = start_server(checkpoint, folder / "data", batching, args.max_wait_ms)
        runs = []
        for concurrency in (int(c) for c in args.concurrency.split(",")):
            result = asyncio.run(load(port, concurrency, args.seconds, args.users, args.items))
            print(json.dumps({"batching": batching, **result}), flush=True)
            runs.append(result)
        process.send_signal(signal.SIGTERM)
        process.wait(60)
        report["batching_on" if batching else "batching_off"] = {"server_start_seconds": started, "runs": runs}
    on, off = report["batching_on"]["runs"], report["batching_off"]["runs"]  # type: ignore[index]
    report["ratio_on_over_off"] = [
        {"concurrency": a["concurrency"],
         "throughput": a["recommend_per_second"] / b["recommend_per_second"],
         "p99": a["recommend"]["p99_ms"] / b["recommend"]["p99_ms"],
         "p50": a["recommend"]["p50_ms"] / b["recommend"]["p50_ms"]}
        for a, b in zip(on, off, strict=True)
    ]  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report["ratio_on_over_off"], indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
