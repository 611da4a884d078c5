"""The real server (``freshrec serve`` in a subprocess, loopback): the Python client, key scopes, the
committed OpenAPI spec, forgetting a user across a restart, and a graceful shutdown."""

from __future__ import annotations

import json
import signal
import threading
import time
from pathlib import Path

import httpx
import pytest

from freshrec.data.records import Event, EventKind, Item
from freshrec.engine.log import EventLog
from freshrec.engine.state import SNAPSHOT
from freshrec.service.client import ApiError, Client

from .conftest import ADMIN, READ, WRITE, Model, Server

SPEC = Path(__file__).parents[2] / "docs" / "openapi.json"


def test_client_against_the_real_server(server: Server, model: Model) -> None:
    with Client(server.url, ADMIN) as admin, Client(server.url, WRITE) as writer, Client(server.url, READ) as reader:
        assert reader.ready()
        cold = reader.recommend("ann", k=5)
        assert len(cold) == 5 and all(r.reason in ("popular", "trending now") for r in cold)
        seq = writer.send_events(
            [
                Event("ann", item_id=i, kind=EventKind.CLICK, timestamp=1e9 + n)
                for n, i in enumerate(model.clusters[4][:5])
            ]
        )
        writer.send_event(Event("ann", query="something to read", kind=EventKind.SEARCH, timestamp=1e9 + 9))
        warm = reader.recommend("ann", k=5, exclude=[model.clusters[4][6]])
        assert [r.item_id for r in warm] != [r.item_id for r in cold] and seq > 0
        assert model.clusters[4][6] not in [r.item_id for r in warm]
        assert admin.put_items([Item("new-item", "a brand new thing", ("fresh",))]) > seq
        assert [r.item_id for r in reader.recommend("ann", categories=["fresh"])] == ["new-item"]
        assert reader.similar_items(model.clusters[4][0], k=3)[0].reason.startswith("similar to")
        with pytest.raises(ApiError) as refused:
            writer.send_events([Event("ann", item_id=model.clusters[4][0]), Event("ann", item_id="nope")])
        assert refused.value.status == 409 and refused.value.errors == [
            ("events[1].item_id", "unknown item (add it first)")
        ]
        admin.remove_items(["new-item"])
        assert reader.recommend("ann", categories=["fresh"]) == []
        with pytest.raises(ApiError) as missing:
            reader.similar_items("nope")
        assert missing.value.status == 404 and missing.value.errors[0][0] == "item_id"


def test_scopes_missing_and_wrong_keys(server: Server, model: Model) -> None:
    item = model.items[0].item_id
    admin_calls = [("PUT", "/v1/items", {"items": [{"item_id": "x"}]}), ("DELETE", f"/v1/items/{item}", None),
                   ("POST", "/v1/items/remove", {"item_ids": [item]}), ("DELETE", "/v1/users/ann", None)]  # fmt: skip
    write_calls = [("POST", "/v1/events", {"user_id": "a", "item_id": item, "kind": "view"})]
    read_calls = [("GET", "/v1/users/a/recommendations", None), ("GET", f"/v1/items/{item}/similar", None)]
    for method, path, body in admin_calls + write_calls + read_calls:
        for key, expected in ((None, 401), ("wrong-key-but-long-enough-0000", 401), ("", 401)):
            headers = {} if key is None else {"X-API-Key": key}
            response = httpx.request(method, server.url + path, json=body, headers=headers)
            assert response.status_code == expected, (method, path, key)
            assert response.json()["errors"][0]["field"] == "X-API-Key"
    forbidden = [(READ, c) for c in admin_calls + write_calls] + [(WRITE, c) for c in admin_calls + read_calls]
    forbidden += [(ADMIN, c) for c in write_calls + read_calls]
    for key, (method, path, body) in forbidden:
        response = httpx.request(method, server.url + path, json=body, headers={"X-API-Key": key})
        assert response.status_code == 403, (key, method, path)
    # nothing of the refused admin calls happened
    similar = httpx.get(f"{server.url}/v1/items/{item}/similar", headers={"X-API-Key": READ})
    assert similar.status_code == 200
    assert "x" not in [r["item_id"] for r in httpx.get(f"{server.url}/v1/users/a/recommendations",
                                                        params={"k": 100}, headers={"X-API-Key": READ}).json()["items"]]  # fmt: skip
    assert READ not in server.output() and ADMIN not in server.output()  # keys are never logged


def test_running_app_serves_the_committed_openapi_spec(server: Server) -> None:
    served = httpx.get(f"{server.url}/openapi.json").json()
    assert served == json.loads(SPEC.read_text()), "regenerate with: freshrec openapi --out docs/openapi.json"


def test_forget_user_leaves_nothing_after_restart(model: Model, tmp_path: Path) -> None:
    user = "forget-me-7f3a"
    server = Server(model, tmp_path / "data", env={"FRESHREC_SNAPSHOT_EVERY": "50"}).start()
    with Client(server.url, ADMIN) as admin, Client(server.url, WRITE) as writer, Client(server.url, READ) as reader:
        admin.put_items(model.items)  # 120 log entries: the state is snapshotted from here on
        writer.send_events([Event(user, item_id=i, timestamp=1e9 + n) for n, i in enumerate(model.clusters[1][:8])])
        writer.send_event(Event(user, query="my private search", kind=EventKind.SEARCH, timestamp=1e9 + 10))
        writer.send_events([Event("other", item_id=i, timestamp=1e9 + n) for n, i in enumerate(model.clusters[2][:3])])
        assert reader.recommend(user) != reader.recommend("never-seen")
        assert admin.forget_user(user) == 9
        assert reader.recommend(user) == reader.recommend("never-seen")
    server.stop()
    for path in (p for p in (tmp_path / "data").rglob("*") if p.is_file()):
        assert user.encode() not in path.read_bytes() and b"my private search" not in path.read_bytes(), path
    assert (tmp_path / "data" / SNAPSHOT).exists()
    log = EventLog(tmp_path / "data" / "events.sqlite")
    assert log.user_events(user) == [] and len(log.user_events("other")) == 3
    log.close()
    server.start()
    with Client(server.url, READ) as reader:
        assert reader.recommend(user) == reader.recommend("never-seen")  # cold start: nothing of them is left
        assert reader.recommend("other") != reader.recommend("never-seen")
    server.stop()


def test_graceful_shutdown_finishes_in_flight_requests(model: Model, tmp_path: Path) -> None:
    # each batch waits 400 ms for company: requests are surely in flight when SIGTERM arrives
    server = Server(model, tmp_path / "data", env={"FRESHREC_BATCH_MAX_WAIT_MS": "400"}).start()
    answers: list[int] = []

    def ask(user: str) -> None:
        response = httpx.get(f"{server.url}/v1/users/{user}/recommendations", headers={"X-API-Key": READ}, timeout=30)
        answers.append(response.status_code)

    threads = [threading.Thread(target=ask, args=(f"u{n}",)) for n in range(8)]
    for thread in threads:
        thread.start()
    time.sleep(0.2)
    server.signal(signal.SIGTERM)
    for thread in threads:
        thread.join(30)
    assert answers == [200] * 8
    assert server.wait(30) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal once it has shut down cleanly
    assert "Finished server process" in server.output()
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{server.url}/health/live", timeout=2)
    server.stop()
