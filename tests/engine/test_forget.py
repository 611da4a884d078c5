"""Forgetting a user (a privacy request): nothing of them stays in the log, the state, the caches or
the snapshot, and the item counts they contributed are taken back."""

from __future__ import annotations

from freshrec.data.records import Event, EventKind
from freshrec.engine.engine import Engine
from freshrec.engine.state import SNAPSHOT

from .conftest import Trained

USER = "forget-me-7f3a"  # distinctive: its bytes must not appear anywhere on disk afterwards


def _files_mention(engine: Engine, needle: bytes) -> list[str]:
    return [p.name for p in engine.path.iterdir() if p.is_file() and needle in p.read_bytes()]


def test_forget_user_removes_every_trace_and_survives_restart(engine: Engine, trained: Trained) -> None:
    items = trained.cluster_items(2)[:6]
    others = trained.cluster_items(5)[:4]
    cold_before = [r.item_id for r in engine.recommend("never-seen", k=10)]
    for n, item in enumerate(others):
        engine.ingest(Event("bystander", item_id=item, timestamp=1_000.0 + n))
    bystander_popularity = dict(engine.state.popularity())
    bystander_trend = dict(engine.state.trending().accumulators())
    engine.snapshot()  # the user's data must also leave a snapshot written before the request
    engine.ingest_many([Event(USER, item_id=i, timestamp=2_000.0 + n) for n, i in enumerate(items)])
    engine.ingest(Event(USER, query="secret camping plans", kind=EventKind.SEARCH, timestamp=2_100.0))
    engine.ingest(Event(USER, item_id=others[0], kind=EventKind.IMPRESSION, timestamp=2_101.0))
    engine.snapshot()
    engine.recommend(USER, k=5)  # fills the user and query caches
    assert _files_mention(engine, USER.encode())

    assert engine.forget_user(USER) == len(items) + 2
    assert engine.state.history(USER) == [] and engine.state.search_intent(USER) is None
    assert engine.state.unengaged_impressions(USER) == {}
    assert engine.state.popularity() == bystander_popularity  # what the user added is taken back exactly
    trend = engine.state.trending().accumulators()
    assert trend.keys() == bystander_trend.keys()
    assert all(abs(trend[k] - v) <= 1e-9 * v for k, v in bystander_trend.items())
    assert engine.log.user_events(USER) == []
    assert (engine.path / SNAPSHOT).exists()
    assert _files_mention(engine, USER.encode()) == []
    assert _files_mention(engine, b"secret camping") == []
    assert [r.item_id for r in engine.recommend(USER, k=10)] == [r.item_id for r in engine.recommend("x", k=10)]

    engine.close()
    restarted = Engine(trained.model, trained.encoder, engine.path)
    assert restarted.state.history(USER) == [] and restarted.state.search_intent(USER) is None
    assert restarted.state.history("bystander") == others
    assert [r.item_id for r in restarted.recommend(USER, k=10)] == [r.item_id for r in restarted.recommend("x", k=10)]
    assert len(cold_before) == 10
    restarted.close()


def test_forget_unknown_user_changes_nothing(engine: Engine, trained: Trained) -> None:
    engine.ingest(Event("someone", item_id=trained.cluster_items(1)[0], timestamp=5.0))
    assert engine.forget_user("nobody") == 0
    assert engine.state.history("someone") == [trained.cluster_items(1)[0]]


def test_recommend_batch_equals_one_by_one(engine: Engine, trained: Trained) -> None:
    from freshrec.engine.engine import RecommendRequest

    for n, item in enumerate(trained.cluster_items(3)[:5]):
        engine.ingest(Event("a", item_id=item, timestamp=10.0 + n))
        engine.ingest(Event("b", item_id=trained.cluster_items(4)[n], timestamp=10.0 + n))
    engine.ingest(Event("a", query="something specific", kind=EventKind.SEARCH, timestamp=20.0))
    engine.ingest(Event("b", item_id=trained.cluster_items(4)[7], kind=EventKind.IMPRESSION, timestamp=21.0))
    engine.ingest(Event("d", query="cold searcher", kind=EventKind.SEARCH, timestamp=22.0))
    requests = [
        RecommendRequest("a", 5),
        RecommendRequest("b", 3, exclude_seen=False),
        RecommendRequest("c", 4, categories=("nope",)),
        RecommendRequest("a", 5, exclude=(trained.cluster_items(3)[9],)),
        RecommendRequest("c", 6),
        RecommendRequest("d", 6),
    ]
    expected = [
        engine.recommend(r.user_id, r.k, exclude_seen=r.exclude_seen, categories=r.categories, exclude=r.exclude)
        for r in requests
    ]
    engine._user_cache.clear()
    seq, answers = engine.recommend_batch(requests)
    assert seq == engine.log.last_seq()
    assert [[(x.item_id, x.reason) for x in a] for a in answers] == [
        [(x.item_id, x.reason) for x in e] for e in expected
    ]
    assert all(
        abs(x.score - y.score) < 1e-5 for a, e in zip(answers, expected, strict=True) for x, y in zip(a, e, strict=True)
    )
    assert answers[2] == [] and len(answers[5]) == 6
