"""SIGKILL in the middle of a load of event posts: every acknowledged event survives, and the restarted
server recommends exactly what a replay of the log gives."""

from __future__ import annotations

import random
import shutil
import signal
import threading
import time
from pathlib import Path

import httpx

from freshrec.engine.engine import Engine
from freshrec.engine.log import EventLog

from .conftest import ADMIN, READ, WRITE, Model, Server


def test_sigkill_during_event_load_loses_no_acknowledged_event(model: Model, tmp_path: Path) -> None:
    server = Server(model, tmp_path / "data").start()
    with httpx.Client(base_url=server.url, headers={"X-API-Key": ADMIN}) as admin:
        body = {
            "items": [{"item_id": i.item_id, "text": i.text, "categories": list(i.categories)} for i in model.items]
        }
        assert admin.put("/v1/items", json=body, timeout=30).status_code == 200
    acknowledged: list[tuple[str, str, float]] = []
    stop = threading.Event()
    ids = [i.item_id for i in model.items]

    def load(worker: int) -> None:
        rng, n = random.Random(worker), 0
        with httpx.Client(base_url=server.url, headers={"X-API-Key": WRITE}, timeout=10) as client:
            while not stop.is_set():
                size = 1 if n % 2 else 5
                events = [
                    (f"w{worker}-u{(n + j) % 4}", rng.choice(ids), 1e9 + worker * 1e6 + n + j / 10) for j in range(size)
                ]
                payload = [{"user_id": u, "item_id": i, "kind": "click", "timestamp": t} for u, i, t in events]
                try:
                    if size == 1:
                        response = client.post("/v1/events", json=payload[0])
                    else:
                        response = client.post("/v1/events/batch", json={"events": payload})
                except httpx.TransportError:
                    return  # the server is gone
                assert response.status_code == 200, response.text
                acknowledged.extend(events)
                n += 1

    workers = [threading.Thread(target=load, args=(w,)) for w in range(6)]
    for worker in workers:
        worker.start()
    deadline = time.monotonic() + 20
    while len(acknowledged) < 600 and time.monotonic() < deadline:
        time.sleep(0.02)
    server.signal(signal.SIGKILL)  # mid-load: no shutdown, no snapshot, no flush
    assert server.wait(30) == -signal.SIGKILL
    stop.set()
    for worker in workers:
        worker.join(30)
    server.stop()
    assert len(acknowledged) >= 600

    log = EventLog(tmp_path / "data" / "events.sqlite")
    logged = {(op.user_id, op.item_id, op.timestamp) for _, (kind, op) in log.replay() if kind == "event"}  # type: ignore[union-attr]
    log.close()
    assert set(acknowledged) <= logged, f"{len(set(acknowledged) - logged)} acknowledged events lost"

    # the reference: a fresh engine that replays a copy of the log (no snapshot), in this process
    replay_dir = tmp_path / "replay"
    replay_dir.mkdir()
    for path in (tmp_path / "data").glob("events.sqlite*"):
        shutil.copy(path, replay_dir / path.name)
    reference = Engine.open(model.checkpoint, replay_dir)
    users = sorted({user for user, _, _ in acknowledged})
    server.start()
    with httpx.Client(base_url=server.url, headers={"X-API-Key": READ}) as reader:
        for user in users:
            served = reader.get(f"/v1/users/{user}/recommendations", params={"k": 10}).json()["items"]
            expected = reference.recommend(user, k=10)
            assert [r["item_id"] for r in served] == [r.item_id for r in expected], user
            assert [r["reason"] for r in served] == [r.reason for r in expected], user
            # the server ranks through the batched path, in float32: equal up to rounding
            assert all(abs(r["score"] - e.score) < 1e-5 for r, e in zip(served, expected, strict=True))
    reference.close()
    server.stop()
