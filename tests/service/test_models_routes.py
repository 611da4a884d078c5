"""Model versions over HTTP: the online trainer publishes, admins list, activate and roll back; nobody
else can; requests keep being answered across swaps."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from freshrec.service.app import create_app
from freshrec.service.server import open_engine

from .conftest import ADMIN, READ, WRITE, Model, settings_for

W, R, A = {"X-API-Key": WRITE}, {"X-API-Key": READ}, {"X-API-Key": ADMIN}


@pytest.fixture
def online_client(model: Model, tmp_path: Path) -> Iterator[TestClient]:
    settings = settings_for(model, tmp_path / "data", online_training=True, online_every_events=20)
    engine = open_engine(settings)
    engine.add_items(model.items)
    with TestClient(create_app(settings, engine)) as client:
        yield client


def test_online_training_publishes_versions_that_admins_can_activate_and_roll_back(
    online_client: TestClient, model: Model
) -> None:
    client = online_client
    assert client.get("/v1/models", headers=A).json() == {"active": 0, "versions": []}
    events = [{"user_id": f"u{n % 6}", "item_id": model.clusters[n % 3][n % 10], "kind": "click"} for n in range(60)]
    assert client.post("/v1/events/batch", headers=W, json={"events": events}).status_code == 200
    deadline = time.monotonic() + 60
    while client.get("/v1/models", headers=A).json()["active"] < 2 and time.monotonic() < deadline:
        assert client.get("/v1/users/u1/recommendations", headers=R).status_code == 200  # served meanwhile
        time.sleep(0.1)
    listing = client.get("/v1/models", headers=A).json()
    assert listing["active"] == 2 and [v["version"] for v in listing["versions"]] == [1, 2]
    newest = listing["versions"][-1]
    assert newest["parent"] == 1 and newest["events_seen"] > 0 and "HR@10" in newest["metrics"]
    assert "freshrec_model_version 2.0" in client.get("/metrics").text
    rolled = client.post("/v1/models/rollback", headers=A)
    assert rolled.status_code == 200 and rolled.json()["version"] == 1
    assert client.post("/v1/models/2/activate", headers=A).json()["version"] == 2
    missing = client.post("/v1/models/99/activate", headers=A)
    assert missing.status_code == 404 and missing.json()["errors"][0]["field"] == "version"
    for key in (R, W):  # no admin action with a read or write key
        assert client.get("/v1/models", headers=key).status_code == 403
        assert client.post("/v1/models/rollback", headers=key).status_code == 403
    assert client.post("/v1/models/rollback").status_code == 401


def test_rollback_with_nothing_to_roll_back_to_is_a_409(app_client: TestClient) -> None:
    answer = app_client.post("/v1/models/rollback", headers=A)
    assert answer.status_code == 409 and answer.json()["errors"][0]["field"] == "version"
