"""Routes in-process: what each answers, and that every bad request is a 4xx naming field and problem."""

from __future__ import annotations

from fastapi.testclient import TestClient

from .conftest import ADMIN, READ, WRITE, Model

W, R, A = {"X-API-Key": WRITE}, {"X-API-Key": READ}, {"X-API-Key": ADMIN}


def recommended(client: TestClient, user: str, **params: object) -> list[str]:
    response = client.get(f"/v1/users/{user}/recommendations", params=params, headers=R)  # type: ignore[arg-type]
    assert response.status_code == 200, response.text
    return [r["item_id"] for r in response.json()["items"]]


def test_events_change_the_next_recommendations(app_client: TestClient, model: Model) -> None:
    cold = recommended(app_client, "ann")
    items = model.clusters[2][:5]
    response = app_client.post("/v1/events/batch", headers=W,
                               json={"events": [{"user_id": "ann", "item_id": i, "kind": "click"} for i in items]})  # fmt: skip
    assert response.status_code == 200 and response.json()["accepted"] == 5
    seq = response.json()["seq"]
    answer = app_client.get("/v1/users/ann/recommendations", params={"k": 5}, headers=R).json()
    assert answer["seq"] >= seq and len(answer["items"]) == 5
    assert all(set(r) == {"item_id", "score", "reason"} for r in answer["items"])
    warm = [r["item_id"] for r in answer["items"]]
    assert warm != cold[:5] and not set(warm) & set(items)  # seen items are excluded by default
    assert sum(i in model.clusters[2] for i in warm) >= 3  # the user's cluster dominates


def test_search_impression_single_event_and_filters(app_client: TestClient, model: Model) -> None:
    assert app_client.post("/v1/events", headers=W,
                           json={"user_id": "bo", "kind": "search", "query": "camping tent"}).status_code == 200  # fmt: skip
    shown = model.clusters[1][0]
    assert app_client.post("/v1/events", headers=W, json={"user_id": "bo", "kind": "impression",
                                                           "item_id": shown, "timestamp": 1.7e9}).status_code == 200  # fmt: skip
    only = recommended(app_client, "bo", k=4, category=["c3"], exclude=[model.clusters[3][0]])
    assert only and all(i in model.clusters[3] for i in only) and model.clusters[3][0] not in only
    similar = app_client.get(f"/v1/items/{shown}/similar", params={"k": 3}, headers=R)
    assert similar.status_code == 200 and len(similar.json()["items"]) == 3
    assert similar.json()["items"][0]["reason"].startswith("similar to")


def test_items_add_update_remove(app_client: TestClient, model: Model) -> None:
    new = {"item_id": "fresh-1", "text": "brand new thing", "categories": ["brand-new"]}
    assert app_client.put("/v1/items", headers=A, json={"items": [new]}).status_code == 200
    assert recommended(app_client, "cy", category=["brand-new"]) == ["fresh-1"]
    assert app_client.delete("/v1/items/fresh-1", headers=A).status_code == 200
    assert recommended(app_client, "cy", category=["brand-new"]) == []
    gone = app_client.post("/v1/items/remove", headers=A, json={"item_ids": [model.items[0].item_id, "nope"]})
    assert gone.status_code == 404 and gone.json()["errors"][0]["field"] == "item_ids"
    assert model.items[0].item_id in recommended(app_client, "cy", k=100, exclude_seen=False)  # none removed


def test_bad_input_names_field_and_problem_and_applies_nothing(app_client: TestClient, model: Model) -> None:
    good = {"user_id": "dee", "item_id": model.items[0].item_id, "kind": "view"}
    cases = {
        "events[1].kind": {"events": [good, {**good, "kind": "stare"}]},
        "events[0].timestamp": {"events": [{**good, "timestamp": "yesterday"}]},
        "events[2].query": {"events": [good, good, {"user_id": "dee", "kind": "search"}]},
        "events[0].query": {"events": [{**good, "query": "both"}]},
        "events[0].user_id": {"events": [{**good, "user_id": "   "}]},
        "events[0].colour": {"events": [{**good, "colour": "red"}]},
        "events": {"events": []},
    }
    for field, body in cases.items():
        response = app_client.post("/v1/events/batch", headers=W, json=body)
        assert response.status_code == 422, (field, response.text)
        assert field in [e["field"] for e in response.json()["errors"]], (field, response.json())
        assert all(e["problem"] for e in response.json()["errors"])
    both_bad = app_client.post("/v1/events/batch", headers=W,
                               json={"events": [{**good, "item_id": "x1"}, good, {**good, "item_id": "x2"}]})  # fmt: skip
    assert both_bad.status_code == 409  # well-formed, but the catalog lacks these items
    assert [e["field"] for e in both_bad.json()["errors"]] == ["events[0].item_id", "events[2].item_id"]
    assert (
        app_client.post("/v1/events", headers=W, json={**good, "item_id": "x1"}).json()["errors"][0]["field"]
        == "item_id"
    )
    assert app_client.post("/v1/events", headers=W, json={**good, "value": False}).status_code == 422
    assert recommended(app_client, "dee") == recommended(app_client, "never-seen")  # nothing was applied
    broken = app_client.post("/v1/events", headers={**W, "Content-Type": "application/json"}, content=b'{"user_id": ')
    assert broken.status_code == 422 and broken.json()["errors"][0]["field"] == "body"
    assert (
        app_client.get("/v1/users/dee/recommendations", params={"k": 0}, headers=R).json()["errors"][0]["field"] == "k"
    )
    missing = app_client.get(f"/v1/items/{'no-such'}/similar", headers=R)
    assert missing.status_code == 404 and missing.json()["errors"][0]["field"] == "item_id"
    assert app_client.get("/v1/nowhere", headers=R).status_code == 404


def test_size_limits_are_413(app_client: TestClient, model: Model) -> None:
    event = {"user_id": "eve", "item_id": model.items[0].item_id, "kind": "view"}
    too_many = app_client.post("/v1/events/batch", headers=W, json={"events": [event] * 51})
    assert too_many.status_code == 413 and too_many.json()["errors"][0]["field"] == "events"
    too_big = app_client.put("/v1/items", headers=A, json={"items": [{"item_id": "big", "text": "x" * 9_000}] * 8})
    assert too_big.status_code == 413 and too_big.json()["errors"][0]["field"] == "body"
    assert recommended(app_client, "eve") == recommended(app_client, "never-seen")


def test_metrics_and_health(app_client: TestClient, model: Model) -> None:
    app_client.post(
        "/v1/events", headers=W, json={"user_id": "fay", "item_id": model.items[0].item_id, "kind": "click"}
    )
    recommended(app_client, "fay")
    assert app_client.get("/health/live").json() == {"status": "alive"}
    assert app_client.get("/health/ready").json() == {"status": "ready"}
    text = app_client.get("/metrics").text
    assert 'freshrec_events_ingested_total{kind="click"} 1.0' in text
    assert 'route="/v1/users/{user_id}/recommendations"' in text and "fay" not in text
    assert 'freshrec_model_info{version="tiny.pt@' in text
    assert "freshrec_freshness_lag_seconds_count 1.0" in text and "freshrec_stream_lag_seconds" in text
