"""The engine's contract: bad input, filters, demotion, similar items, diversity, snapshots."""

from __future__ import annotations

from pathlib import Path

import pytest

from freshrec.data.errors import RecordError
from freshrec.data.records import Event, EventKind, Item
from freshrec.engine.engine import Engine, EngineConfig, Recommendation
from freshrec.engine.policy import PolicyConfig

from .conftest import Trained


def test_event_on_unknown_item_is_refused_with_the_field_named_and_nothing_logged(engine: Engine) -> None:
    before = engine.log.last_seq()
    batch = [Event("u", item_id="i1", timestamp=1.0), Event("u", item_id="nope", timestamp=2.0)]
    with pytest.raises(RecordError) as error:
        engine.ingest_many(batch)
    assert error.value.field == "events[1].item_id" and error.value.value == "nope"
    assert engine.log.last_seq() == before and engine.state.history("u") == []  # all or nothing


def test_unknown_items_can_be_auto_registered(trained: Trained, tmp_path: Path) -> None:
    engine = Engine(trained.model, trained.encoder, tmp_path, EngineConfig(auto_register_items=True))
    engine.ingest(Event("u", item_id="surprise", timestamp=1.0))
    assert "surprise" in engine.state.items() and engine.state.history("u") == ["surprise"]


def test_malformed_requests_name_the_problem(engine: Engine) -> None:
    with pytest.raises(ValueError, match="k=-1"):
        engine.recommend("u", k=-1)
    with pytest.raises(RecordError, match="query"):
        Event("u", query="  ", kind=EventKind.SEARCH, timestamp=1.0)
    with pytest.raises(RecordError, match="timestamp"):
        Event("u", item_id="i1", timestamp=float("nan"))
    with pytest.raises(KeyError, match="unknown items"):
        engine.remove_items(["never-added"])
    with pytest.raises(KeyError, match="item_id"):
        engine.similar_items("never-added")


def test_filters_exclude_seen_removed_listed_and_other_categories(engine: Engine, trained: Trained) -> None:
    seen = trained.cluster_items(1)[:5]
    engine.ingest_many([Event("f", item_id=i, timestamp=float(n)) for n, i in enumerate(seen)])
    first = [r.item_id for r in engine.recommend("f", k=5)]
    assert not set(first) & set(seen)
    engine.remove_items([first[0]])
    second = [r.item_id for r in engine.recommend("f", k=5, exclude=[first[1]])]
    assert first[0] not in second and first[1] not in second
    wanted = trained.truth.cluster_names[6]
    only = engine.recommend("f", k=5, categories=[wanted])
    assert only and all(trained.cluster_of(r.item_id) == 6 for r in only)
    assert set(seen) <= {r.item_id for r in engine.recommend("f", k=300, exclude_seen=False)}


def test_items_shown_without_engagement_are_demoted(engine: Engine, trained: Trained) -> None:
    engine.ingest_many([Event("d", item_id=i, timestamp=float(n)) for n, i in enumerate(trained.cluster_items(2)[:5])])
    top = engine.recommend("d", k=3)[0].item_id
    engine.ingest_many([Event("d", item_id=top, kind=EventKind.IMPRESSION, timestamp=10.0 + n) for n in range(4)])
    assert top not in [r.item_id for r in engine.recommend("d", k=3)]


def test_unknown_user_gets_popular_items(engine: Engine, trained: Trained) -> None:
    favourite = trained.cluster_items(8)[0]
    engine.ingest_many([Event(f"p{n}", item_id=favourite, timestamp=float(n)) for n in range(5)])
    recs = engine.recommend("first-time-visitor", k=3)
    assert recs[0].item_id == favourite and recs[0].reason in ("trending now", "popular")


def test_similar_items_share_the_cluster(engine: Engine, trained: Trained) -> None:
    item = trained.cluster_items(3)[0]
    similar = engine.similar_items(item, k=5)
    assert item not in [r.item_id for r in similar]
    assert sum(trained.cluster_of(r.item_id) == 3 for r in similar) >= 4


def test_diversity_rerank_spreads_the_list(trained: Trained, tmp_path: Path) -> None:
    def clusters_in_top(diversity: float, folder: str) -> int:
        engine = Engine(
            trained.model, trained.encoder, tmp_path / folder, EngineConfig(PolicyConfig(diversity=diversity))
        )
        engine.add_items(list(trained.dataset.items.values()))
        engine.ingest_many(
            [Event("m", item_id=i, timestamp=float(n)) for n, i in enumerate(trained.cluster_items(0)[:6])]
        )
        return len({trained.cluster_of(r.item_id) for r in engine.recommend("m", k=10)})

    assert clusters_in_top(0.7, "diverse") > clusters_in_top(0.0, "plain")


def same(a: list[Recommendation], b: list[Recommendation]) -> bool:
    """Same items, order and reasons; scores equal up to float summation order (batched projections)."""
    return [(r.item_id, r.reason) for r in a] == [(r.item_id, r.reason) for r in b] and all(
        abs(x.score - y.score) < 1e-6 for x, y in zip(a, b, strict=True)
    )


def test_reopening_replays_the_log_and_a_snapshot_gives_the_same_state(engine: Engine, trained: Trained) -> None:
    engine.ingest_many([Event("r", item_id=i, timestamp=float(n)) for n, i in enumerate(trained.cluster_items(5)[:4])])
    engine.ingest(Event("r", query="camping tent", kind=EventKind.SEARCH, timestamp=9.0))
    engine.add_items([Item("late", text="camping tent ultralight")])
    expected = engine.recommend("r", k=10)
    engine.close()
    replayed = Engine(trained.model, trained.encoder, engine.path)
    assert same(replayed.recommend("r", k=10), expected)
    replayed.snapshot()
    replayed.ingest(Event("r", item_id="late", timestamp=20.0))
    after = replayed.recommend("r", k=10)
    replayed.close()
    restored = Engine(trained.model, trained.encoder, engine.path)  # snapshot + the one entry after it
    assert same(restored.recommend("r", k=10), after)
    assert restored.state.applied_seq == restored.log.last_seq()


def test_recommend_many_equals_one_by_one(engine: Engine, trained: Trained) -> None:
    for user, cluster in (("x", 1), ("y", 2), ("z", 3)):
        items = trained.cluster_items(cluster)[: 3 + cluster]  # different lengths: padding in the batch
        engine.ingest_many([Event(user, item_id=i, timestamp=float(n)) for n, i in enumerate(items)])
    batched = engine.recommend_many(["x", "y", "z", "nobody"], k=5)
    engine._user_cache.clear()
    single = [engine.recommend(u, k=5) for u in ("x", "y", "z", "nobody")]
    assert all(same(a, b) for a, b in zip(batched, single, strict=True))


def test_large_catalog_engine_uses_the_approximate_index_and_agrees(trained: Trained, tmp_path: Path) -> None:
    from freshrec.engine.retrieval import FaissIndex

    def opened(folder: str, approximate_above: int) -> Engine:
        engine = Engine(trained.model, trained.encoder, tmp_path / folder)
        engine.add_items(list(trained.dataset.items.values()))
        engine.close()  # reopen: the index kind is chosen from the catalog size at open
        return Engine(
            trained.model, trained.encoder, tmp_path / folder, EngineConfig(approximate_above=approximate_above)
        )

    exact, approximate = opened("exact", 10**9), opened("approx", 100)
    assert isinstance(approximate.index, FaissIndex) and exact.index is None
    for item in trained.cluster_items(2)[:5]:
        a = {r.item_id for r in approximate.similar_items(item, k=10)}
        b = {r.item_id for r in exact.similar_items(item, k=10)}
        assert len(a & b) >= 8


def test_open_from_a_checkpoint_and_catalog_gives_a_ready_engine(trained: Trained, tmp_path: Path) -> None:
    checkpoint = tmp_path / "model.pt"
    trained.model.save(checkpoint)
    catalog = list(trained.dataset.items.values())
    engine = Engine.open(checkpoint, tmp_path / "state", catalog)  # encoder rebuilt from the checkpoint's name
    engine.ingest(Event("o", item_id=catalog[0].item_id, timestamp=1.0))
    assert len(engine.recommend("o", k=5)) == 5
    first_seq = engine.log.last_seq()
    engine.close()
    again = Engine.open(checkpoint, tmp_path / "state", catalog)  # same catalog: nothing re-added
    assert again.log.last_seq() == first_seq and again.state.history("o") == [catalog[0].item_id]


def test_unknown_state_backend_is_named(trained: Trained, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"unknown backend 'memcached'.*embedded"):
        Engine(trained.model, trained.encoder, tmp_path, EngineConfig(state_url="memcached://x"))
