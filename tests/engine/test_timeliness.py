"""Timeliness on the synthetic stream, where the right answers are known in advance."""

from __future__ import annotations

from freshrec.data.records import Event, EventKind, Item
from freshrec.engine.engine import Engine

from .conftest import Trained


def views(user: str, items: list[str], start: float = 1_000.0) -> list[Event]:
    return [Event(user, item_id=i, kind=EventKind.VIEW, timestamp=start + n) for n, i in enumerate(items)]


def share_in(engine: Engine, trained: Trained, user: str, cluster: int) -> float:
    top = engine.recommend(user, k=10)
    return sum(trained.cluster_of(r.item_id) == cluster for r in top) / len(top)


def test_interest_shift_shows_in_the_next_recommendation(engine: Engine, trained: Trained) -> None:
    a, b = trained.cluster_items(1), trained.cluster_items(2)
    engine.ingest_many(views("shifter", a[:8]))
    assert share_in(engine, trained, "shifter", 1) >= 0.6
    engine.ingest_many(views("shifter", b[:3], start=2_000.0))
    assert share_in(engine, trained, "shifter", 2) >= 0.6  # the very next request follows the move


def test_new_item_is_recommended_to_fitting_users_before_any_interaction(engine: Engine, trained: Trained) -> None:
    cluster = 4
    engine.ingest_many(views("fan", trained.cluster_items(cluster)[:6]))
    newcomer = Item("brand-new", text=f"{trained.truth.cluster_names[cluster]} zorblax", categories=("new",))
    engine.add_items([newcomer])
    assert "brand-new" in [r.item_id for r in engine.recommend("fan", k=10)]
    engine.ingest_many(views("other", trained.cluster_items(7)[:6]))
    assert "brand-new" not in [r.item_id for r in engine.recommend("other", k=10)]


def test_search_moves_recommendations_towards_the_query(engine: Engine, trained: Trained) -> None:
    engine.ingest_many(views("searcher", trained.cluster_items(0)[:6]))
    before = share_in(engine, trained, "searcher", 5)
    query = trained.truth.cluster_names[5]
    engine.ingest(Event("searcher", query=query, kind=EventKind.SEARCH, timestamp=5_000.0))
    after = engine.recommend("searcher", k=10)
    assert sum(trained.cluster_of(r.item_id) == 5 for r in after) >= 5 > before * 10
    assert any(r.reason == f"matches your search '{query}'" for r in after)


def test_burst_trends_within_the_half_life_and_decays_after(engine: Engine, trained: Trained) -> None:
    half_life = engine.config.trend_half_life
    item = trained.cluster_items(3)[-1]
    engine.ingest_many([Event(f"b{n}", item_id=item, timestamp=10_000.0 + n) for n in range(40)])
    assert "trending now" in {r.reason for r in engine.recommend("stranger", k=3)}
    assert engine.recommend("stranger", k=1)[0].item_id == item
    peak = engine.state.trending().value(item, now=engine.state.now)
    later = 10_000.0 + 3 * half_life
    engine.ingest(Event("clock", item_id=trained.cluster_items(0)[0], timestamp=later))
    assert engine.state.trending().value(item, now=engine.state.now) < peak / 7.9  # three halvings
