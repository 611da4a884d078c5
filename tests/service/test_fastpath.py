"""The fast path for recommendations and single events answers exactly as the FastAPI routes do, and leaves
every request it cannot fully check (bad values, no or wrong key, a refused event) to the routes, so
refusals keep their usual bodies and nothing refused is applied."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from freshrec.engine.engine import RecommendRequest
from freshrec.service.app import create_app
from freshrec.service.fastpath import parse_request
from freshrec.service.routes import events, users
from freshrec.service.server import open_engine

from .conftest import READ, WRITE, Model, settings_for

PATH = "/v1/users/ann/recommendations"


@pytest.mark.parametrize(
    "query, expected",
    [
        (b"", RecommendRequest("ann", 10, True, None, ())),
        (b"k=3", RecommendRequest("ann", 3, True, None, ())),
        (b"k=100&exclude_seen=No&other=ignored", RecommendRequest("ann", 100, False, None, ())),
        (b"category=c1&category=c%202&exclude=i1", RecommendRequest("ann", 10, True, ("c1", "c 2"), ("i1",))),
    ],
)
def test_valid_requests_are_parsed(query: bytes, expected: RecommendRequest) -> None:
    assert parse_request(PATH, query) == expected


@pytest.mark.parametrize(
    "path, query",
    [
        (PATH, b"k=0"),
        (PATH, b"k=101"),
        (PATH, b"k=ten"),
        (PATH, b"k=1&k=2"),  # repeated: the route's rules decide
        (PATH, b"exclude_seen=maybe"),
        (PATH, b"category="),
        (PATH, b"category=%20"),
        (PATH, b"&".join([b"exclude=i"] * 201)),
        ("/v1/users/" + "u" * 257 + "/recommendations", b""),
        ("/v1/users//recommendations", b""),
        ("/v1/users/ann/recommendations/", b""),
        ("/v1/users/ann", b""),
    ],
)
def test_anything_else_goes_to_the_route(path: str, query: bytes) -> None:
    assert parse_request(path, query) is None


@pytest.fixture
def clients(model: Model, tmp_path: Path) -> Iterator[tuple[TestClient, TestClient]]:
    """Two apps on identical engines: with the fast path, and with everything through FastAPI."""
    made = []
    for fast in (True, False):
        settings = settings_for(model, tmp_path / f"data-{fast}", fast_path=fast)
        engine = open_engine(settings)
        engine.add_items(model.items)
        made.append(TestClient(create_app(settings, engine)))
    with made[0] as fast_client, made[1] as slow_client:
        yield fast_client, slow_client


def test_both_ways_answer_byte_for_byte_alike(
    clients: tuple[TestClient, TestClient], model: Model, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast, slow = clients
    events = [{"user_id": "ann", "item_id": i, "kind": "click"} for i in model.clusters[2][:4]]
    for client in clients:
        assert client.post("/v1/events/batch", headers={"X-API-Key": WRITE}, json={"events": events}).status_code == 200
    queries = [
        "", "k=3", "k=5&exclude_seen=false", "category=c2&category=c4&k=7", f"exclude={model.clusters[2][5]}",
        "k=0", "k=abc", "k=1&k=2", "category=", "exclude_seen=perhaps",
    ]  # fmt: skip
    for user in ("ann", "nobody"):
        for query in queries:
            for headers in ({"X-API-Key": READ}, {"X-API-Key": WRITE}, {"X-API-Key": "wrong-key-000000000000"}, {}):
                url = f"/v1/users/{user}/recommendations?{query}"
                a, b = fast.get(url, headers=headers), slow.get(url, headers=headers)
                assert (a.status_code, a.content) == (b.status_code, b.content), (url, headers)
                assert a.headers["content-type"] == b.headers["content-type"]
    metrics = fast.get("/metrics").text
    assert 'route="/v1/users/{user_id}/recommendations",status="200"' in metrics

    def route_used(*args: object) -> None:
        raise AssertionError("answered by the FastAPI route")

    monkeypatch.setattr(users, "recommendations_body", route_used)  # the route's, not the fast path's
    assert fast.get("/v1/users/ann/recommendations?k=2", headers={"X-API-Key": READ}).status_code == 200


def test_events_both_ways_alike_and_refused_ones_leave_no_trace(
    clients: tuple[TestClient, TestClient], model: Model, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast, slow = clients
    item = model.clusters[1][0]
    json_type = {"Content-Type": "application/json"}
    bodies = [
        {"user_id": "eve", "item_id": item, "kind": "click", "timestamp": 1.7e9},
        {"user_id": "eve", "kind": "search", "query": "lamps", "timestamp": 1.7e9 + 1},
        {"user_id": "eve", "item_id": "no-such-item", "kind": "click"},  # 409
        {"user_id": "eve", "item_id": item, "kind": "teleport"},  # 422
        {"user_id": "eve", "item_id": item, "kind": "click", "surprise": 1},  # 422: unknown field
        {"user_id": " ", "item_id": item, "kind": "view"},  # 422
    ]
    raw = [
        b"{not json",
        b"[]",
        b'{"user_id": "eve", "item_id": "' + item.encode() + b'", "kind": "view", "timestamp": 5}',
    ]
    for headers in ({"X-API-Key": WRITE}, {"X-API-Key": READ}, {}):
        for body in bodies:
            a, b = (
                fast.post("/v1/events", headers=headers, json=body),
                slow.post("/v1/events", headers=headers, json=body),
            )
            assert (a.status_code, a.content) == (b.status_code, b.content), (body, headers)
        for content in raw:
            a = fast.post("/v1/events", headers={**headers, **json_type}, content=content)
            b = slow.post("/v1/events", headers={**headers, **json_type}, content=content)
            assert (a.status_code, a.content) == (b.status_code, b.content), (content, headers)
    text = {"X-API-Key": WRITE, "Content-Type": "text/plain"}
    a, b = fast.post("/v1/events", headers=text, content=raw[2]), slow.post("/v1/events", headers=text, content=raw[2])
    assert (a.status_code, a.content) == (b.status_code, b.content)
    huge = {"X-API-Key": WRITE, **json_type}
    content = b'{"user_id": "' + b"x" * 2_000_000 + b'"}'  # over the 1 MiB body limit
    a, b = (
        fast.post("/v1/events", headers=huge, content=content),
        slow.post("/v1/events", headers=huge, content=content),
    )
    assert (a.status_code, a.content) == (b.status_code, b.content) and a.status_code == 413
    # the same events in the same order on both: the same log, so the same recommendations
    a = fast.get("/v1/users/eve/recommendations", headers={"X-API-Key": READ})
    b = slow.get("/v1/users/eve/recommendations", headers={"X-API-Key": READ})
    assert a.json() == b.json() and a.json()["seq"] > 0

    def route_used(*args: object) -> None:
        raise AssertionError("answered by the FastAPI route")

    monkeypatch.setattr(events, "ingest_events", route_used)  # the route's, not the fast path's
    assert fast.post("/v1/events", headers={"X-API-Key": WRITE}, json=bodies[0]).status_code == 200
    assert 'route="/v1/events",status="200"' in fast.get("/metrics").text
