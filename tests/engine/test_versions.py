"""Model versions: publish, list, roll back, survive a restart; swaps are atomic for concurrent requests."""

from __future__ import annotations

import copy
import threading
import time
from pathlib import Path

import pytest
import torch

from freshrec.data.records import Event
from freshrec.engine.engine import Engine
from freshrec.engine.versions import ModelRegistry, ModelVersion
from freshrec.models.sequential import TransformerRecommender

from .conftest import Trained


def perturbed(model: TransformerRecommender, seed: int) -> TransformerRecommender:
    """The same model with every weight nudged: scores differ, so we can tell which model answered."""
    other = copy.deepcopy(model.model)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in other.parameters():
            parameter.add_(0.5 * torch.randn(parameter.shape, generator=generator))
    return TransformerRecommender(other, list(model.item_ids), model.encoder_name)


def meta(events_seen: int = 0) -> ModelVersion:
    return ModelVersion(0, time.time(), events_seen, 0.0, {"HR@10": 0.5})


def test_publish_keeps_the_starting_model_and_rollback_returns_to_it(trained: Trained, engine: Engine) -> None:
    engine.ingest(Event("u", item_id=trained.cluster_items(0)[0], timestamp=1.0))
    before = engine.recommend("u", 10)
    version = engine.publish(perturbed(trained.model, 1), meta(engine.log.last_seq()))
    assert [v.version for v in engine.versions()] == [1, 2] and engine.model_version == version.version == 2
    assert engine.versions()[0].note == "initial model" and version.metrics == {"HR@10": 0.5}
    assert engine.recommend("u", 10) != before  # the new model serves
    assert engine.rollback().version == 1 and engine.model_version == 1
    assert engine.recommend("u", 10) == before  # scores included: the same weights serve again
    with pytest.raises(LookupError):
        engine.rollback()


def test_activate_any_stored_version_and_unknown_versions_are_named(trained: Trained, engine: Engine) -> None:
    engine.publish(perturbed(trained.model, 1), meta())
    engine.publish(perturbed(trained.model, 2), meta())
    assert engine.activate(2).version == 2 and engine.model_version == 2
    with pytest.raises(KeyError, match="version=99"):
        engine.activate(99)


def test_a_restarted_engine_serves_the_active_version(trained: Trained, tmp_path: Path) -> None:
    checkpoint = tmp_path / "start.pt"
    trained.model.save(checkpoint)
    catalog = list(trained.dataset.items.values())
    engine = Engine.open(checkpoint, tmp_path / "engine", catalog, encoder=trained.encoder)
    engine.ingest(Event("u", item_id=trained.cluster_items(1)[0], timestamp=1.0))
    engine.publish(perturbed(trained.model, 3), meta())
    expected = engine.recommend("u", 10)
    engine.close()
    reopened = Engine.open(checkpoint, tmp_path / "engine", catalog, encoder=trained.encoder)
    assert reopened.model_version == 2 and reopened.recommend("u", 10) == expected
    reopened.close()


def test_registry_prunes_old_checkpoints_but_never_the_serving_one(trained: Trained, tmp_path: Path) -> None:
    registry = ModelRegistry(tmp_path, keep=3)
    for _ in range(5):
        registry.publish(trained.model, meta())
    assert [v.version for v in registry.versions()] == [3, 4, 5]
    assert sorted(p.name for p in tmp_path.glob("*.pt")) == ["v000003.pt", "v000004.pt", "v000005.pt"]
    assert registry.rollback().version == 4
    with pytest.raises(ValueError, match="keep"):
        ModelRegistry(tmp_path / "x", keep=1)


def test_requests_during_swaps_see_the_old_or_the_new_model_never_a_mix(trained: Trained, engine: Engine) -> None:
    users = [f"u{i}" for i in range(8)]
    for i, user in enumerate(users):
        items = trained.cluster_items(i % 10)[:5]
        engine.ingest_many([Event(user, item_id=item, timestamp=float(t)) for t, item in enumerate(items)])
    models = [trained.model, perturbed(trained.model, 7)]
    answers = []
    for model in models:  # what each model alone answers
        engine.swap_model(model, 0)
        answers.append({u: engine.recommend(u, 10) for u in users})
    seen: list[tuple[str, list[object]]] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def ask() -> None:
        while not stop.is_set():
            for user in users:
                try:
                    seen.append((user, list(engine.recommend(user, 10))))
                except BaseException as error:  # a failed request fails the test
                    errors.append(error)

    threads = [threading.Thread(target=ask) for _ in range(3)]
    for thread in threads:
        thread.start()
    for swap in range(20):
        engine.swap_model(models[swap % 2], swap)
    stop.set()
    for thread in threads:
        thread.join()
    assert not errors and len(seen) > 20
    assert all(result in (answers[0][user], answers[1][user]) for user, result in seen)
    assert len(engine.swap_seconds) == 22 and max(engine.swap_seconds) < 0.5
