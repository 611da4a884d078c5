"""The online trainer: learns from the log, grows ID embeddings for new items, publishes validated
versions, keeps serving through errors and rollbacks, and runs in the background."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
import torch

from freshrec.data.records import Event, Item
from freshrec.engine.engine import Engine, EngineConfig
from freshrec.engine.policy import PolicyConfig
from freshrec.models.growth import with_new_items
from freshrec.training.online import OnlineConfig, OnlineTrainer

from .conftest import Trained


def stream(trained: Trained, users: int, length: int, cluster: int, t0: float = 1000.0) -> list[Event]:
    """Users who each walk through items of one cluster, in order."""
    items = trained.cluster_items(cluster)
    return [
        Event(f"s{u}", item_id=items[(u + step) % len(items)], timestamp=t0 + u * length + step)
        for u in range(users)
        for step in range(length)
    ]


def test_grown_model_scores_old_items_exactly_as_before_and_places_new_ones_by_text(trained: Trained) -> None:
    model = trained.model.model
    text = np.random.default_rng(0).normal(size=(2, model.config.text_dim)).astype(np.float32)
    grown = with_new_items(model, text, 2)
    histories = torch.tensor([[0, 3, 5, 7], [1, 2, 3, 4]])
    old_rows = model.config.num_items + 1
    assert torch.allclose(grown.score(histories)[:, :old_rows], model.score(histories), atol=1e-5)
    assert model.text_proj is not None
    with torch.no_grad():
        expected = model.text_proj(torch.from_numpy(text))
        assert torch.allclose(grown.item_vectors()[old_rows:], expected, atol=1e-6)
    with pytest.raises(ValueError, match="new_text"):
        with_new_items(model, None, 2)


def test_an_update_learns_new_items_publishes_a_version_and_makes_them_recommendable(
    trained: Trained, tmp_path: Path
) -> None:
    policy = PolicyConfig(trend_weight=0.0, new_items=False)  # new items only once a version has learned them
    engine = Engine(trained.model, trained.encoder, tmp_path, EngineConfig(policy=policy))
    engine.add_items(list(trained.dataset.items.values()))
    engine.ingest_many(stream(trained, users=20, length=10, cluster=0, t0=0.0))
    trainer = OnlineTrainer(engine, OnlineConfig(every_events=10, epochs=3, lr=3e-3))
    assert trainer.update() is None  # everything so far was already learned by the starting model
    fresh = Item("brand-new", text=trained.dataset.items[trained.cluster_items(2)[0]].text)
    engine.add_items([fresh])
    events = stream(trained, users=15, length=8, cluster=2)
    events = [Event(e.user_id, item_id="brand-new" if i % 4 == 0 else e.item_id, timestamp=e.timestamp)
              for i, e in enumerate(events)]  # fmt: skip
    engine.ingest_many(events)
    rows = engine.table.rows(["brand-new"])
    assert engine.table.is_new(rows).all()
    log = trainer.update()
    assert log is not None and log.new_items == 1 and log.events == len(events) and log.version == 2
    assert not engine.table.is_new(rows).any()  # the serving model now has an ID embedding for it
    version = engine.versions()[-1]
    assert version.events_seen == engine.log.last_seq() and version.stream_time == events[-1].timestamp
    assert {"HR@10", "NDCG@10", "HR@10_before", "NDCG@10_before", "valid_events"} <= set(version.metrics)
    assert (
        version.metrics["valid_events"] == 15
        and version.parent == 1
        and version.items == len(trained.model.item_ids) + 1
    )
    assert trainer.lag()["events"] == 0


def test_after_a_rollback_the_trainer_continues_from_the_serving_model(trained: Trained, tmp_path: Path) -> None:
    engine = Engine(trained.model, trained.encoder, tmp_path)
    engine.add_items([*trained.dataset.items.values(), Item("only-in-v2", text="a new item")])
    trainer = OnlineTrainer(engine, OnlineConfig(every_events=5, replay_ratio=0.0))
    engine.ingest_many([Event(f"a{u}", item_id=i, timestamp=float(t)) for u in range(3)
                        for t, i in enumerate(["only-in-v2", *trained.cluster_items(1)[:4]])])  # fmt: skip
    assert trainer.update() is not None and "only-in-v2" in engine.model.item_ids  # v2 learned the new item
    engine.rollback()
    assert "only-in-v2" not in engine.model.item_ids
    engine.ingest_many(stream(trained, users=5, length=6, cluster=3, t0=5000.0))
    log = trainer.update()
    # trained on from version 1, which lacks the item, so it is grown again (from its own v2 weights,
    # which already know it, nothing would be new); the held-out first-phase events bring it back
    assert log is not None and log.new_items == 1
    assert engine.versions()[-1].parent == 1


def test_background_trainer_publishes_while_requests_are_served(trained: Trained, tmp_path: Path) -> None:
    engine = Engine(trained.model, trained.encoder, tmp_path)
    engine.add_items(list(trained.dataset.items.values()))
    trainer = OnlineTrainer(engine, OnlineConfig(every_events=50, every_seconds=0.5, poll_seconds=0.01)).start()
    deadline = time.monotonic() + 60
    events = stream(trained, users=60, length=10, cluster=4)
    served = 0
    for start in range(0, len(events), 20):
        engine.ingest_many(events[start : start + 20])
        served += len(engine.recommend(events[start].user_id, 10))
    while len(trainer.updates) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    trainer.stop()
    assert not trainer.errors and len(trainer.updates) >= 2 and served == 10 * len(range(0, len(events), 20))
    assert engine.model_version == trainer.updates[-1].version
    summary = trainer.summary()
    assert summary["updates"] == len(trainer.updates) and summary["lag_seconds_max"] is not None
    with pytest.raises(ValueError, match="max_busy"):
        OnlineConfig(max_busy=0.0)


def test_forgetting_a_user_reaches_the_trainers_copy_of_their_history(trained: Trained, tmp_path: Path) -> None:
    engine = Engine(trained.model, trained.encoder, tmp_path)
    engine.add_items(list(trained.dataset.items.values()))
    trainer = OnlineTrainer(engine, OnlineConfig(every_events=5))
    engine.ingest_many(stream(trained, users=3, length=6, cluster=1))
    trainer.update()
    assert "s1" in trainer._histories
    assert engine.forget_user("s1") == 6
    assert "s1" not in trainer._histories and "s1" not in trainer._pending
