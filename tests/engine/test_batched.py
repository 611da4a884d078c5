"""Batched ranking: the bfloat16 prefilter gives exactly the float32 answers (its error bound holds, and a
request it cannot certify is scored in full), and the catalog statistics it relies on stay in step."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from freshrec.data.records import Event, EventKind, Item
from freshrec.engine import batched
from freshrec.engine.engine import Engine, EngineConfig, Recommendation, RecommendRequest

from .conftest import Trained


def _engine(trained: Trained, path: Path, prefilter: bool) -> Engine:
    engine = Engine(trained.model, trained.encoder, path, EngineConfig(prefilter=prefilter))
    engine.add_items(list(trained.dataset.items.values()))
    for n, item in enumerate(trained.cluster_items(3)[:6]):
        engine.ingest(Event("a", item_id=item, timestamp=10.0 + n))
        engine.ingest(Event("b", item_id=trained.cluster_items(4)[n], timestamp=10.0 + n))
        engine.ingest(Event("e", item_id=trained.cluster_items(n)[0], timestamp=10.0 + n))
    engine.ingest(Event("a", query="something specific", kind=EventKind.SEARCH, timestamp=20.0))
    engine.ingest(Event("b", item_id=trained.cluster_items(4)[7], kind=EventKind.IMPRESSION, timestamp=21.0))
    engine.ingest(Event("d", query="cold searcher", kind=EventKind.SEARCH, timestamp=22.0))
    engine.add_items([Item("brand-new", "a brand new item about clusters", ("fresh",))])
    return engine


REQUESTS = [
    RecommendRequest("a", 5),
    RecommendRequest("b", 3, exclude_seen=False),
    RecommendRequest("c", 4, categories=("nope",)),
    RecommendRequest("a", 5, exclude=("i1", "i2")),
    RecommendRequest("c", 6),
    RecommendRequest("d", 6),
    RecommendRequest("e", 20),
    RecommendRequest("e", 1, categories=("fresh",)),
]


def _same(got: list[list[Recommendation]], expected: list[list[Recommendation]]) -> None:
    assert [[(r.item_id, r.reason) for r in a] for a in got] == [[(r.item_id, r.reason) for r in a] for a in expected]
    for a, e in zip(got, expected, strict=True):
        assert all(abs(x.score - y.score) < 1e-5 for x, y in zip(a, e, strict=True))


@pytest.fixture
def pair(trained: Trained, tmp_path: Path) -> Iterator[tuple[Engine, Engine]]:
    exact, prefiltered = _engine(trained, tmp_path / "exact", False), _engine(trained, tmp_path / "low", True)
    yield exact, prefiltered
    exact.close()
    prefiltered.close()


def test_prefilter_answers_equal_the_exact_ones(pair: tuple[Engine, Engine], monkeypatch: pytest.MonkeyPatch) -> None:
    exact, prefiltered = pair
    certified: list[bool] = []
    real = batched._prefiltered

    def counting(*args: object) -> list[object]:
        answers = real(*args)  # type: ignore[arg-type]
        certified.extend(a is not None for a in answers)
        return answers  # type: ignore[return-value]

    monkeypatch.setattr(batched, "_prefiltered", counting)
    _, expected = exact.recommend_batch(REQUESTS)
    _, got = prefiltered.recommend_batch(REQUESTS)
    _same(got, expected)
    assert any(certified)  # the bfloat16 pass really answered some
    assert got[2] == [] and [r.item_id for r in got[7]] == ["brand-new"]


@pytest.mark.parametrize("extra, error", [(0, batched.LOW_PRECISION_ERROR), (32, 1e3)])
def test_uncertified_requests_fall_back_to_the_exact_pass(
    pair: tuple[Engine, Engine], monkeypatch: pytest.MonkeyPatch, extra: int, error: float
) -> None:
    """No spare candidates, or an error bound so loose nothing can be certified: still the exact answers."""
    exact, prefiltered = pair
    monkeypatch.setattr(batched, "EXTRA_CANDIDATES", extra)
    monkeypatch.setattr(batched, "LOW_PRECISION_ERROR", error)
    _, expected = exact.recommend_batch(REQUESTS)
    _, got = prefiltered.recommend_batch(REQUESTS)
    _same(got, expected)


def test_low_precision_error_stays_within_its_bound() -> None:
    """The bound assumes float32 accumulation in torch's bfloat16 product: checked on this machine's kernel,
    with vectors of very different norms and a catalog-sized product."""
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(20_000, 64)).astype(np.float32) * rng.lognormal(0, 1.5, size=(20_000, 1)).astype(
        np.float32
    )
    states = rng.normal(size=(8, 64)).astype(np.float32) * np.array([[1e-3], [1], [30], [1], [1], [5], [0.1], [1]])
    states = states.astype(np.float32)
    estimate = (torch.from_numpy(states).bfloat16() @ torch.from_numpy(vectors).bfloat16().T).float().numpy()
    exact = states.astype(np.float64) @ vectors.astype(np.float64).T
    bound = batched.LOW_PRECISION_ERROR * np.outer(np.linalg.norm(states, axis=1), np.linalg.norm(vectors, axis=1))
    assert np.all(np.abs(estimate - exact) <= bound)


def test_catalog_moments_and_low_precision_copy_stay_in_step(trained: Trained, tmp_path: Path) -> None:
    engine = Engine(trained.model, trained.encoder, tmp_path / "engine", EngineConfig(prefilter=True))
    items = list(trained.dataset.items.values())
    engine.add_items(items[:200])
    table = engine.table
    table.moments(), table.low_precision()  # made now, then kept up to date by every change below
    engine.add_items([*items[200:], Item("new-1", "fresh text"), Item(items[0].item_id, "changed text")])
    engine.remove_items([items[5].item_id, "new-1"])
    engine.add_items([Item("new-2", "more text")] * 2)  # the same new item twice in one call

    def fresh() -> tuple[int, np.ndarray, np.ndarray]:
        live = np.flatnonzero(table.alive[1 : len(table)]) + 1
        vectors = table.vectors[live].astype(np.float64)
        return len(live), vectors.sum(axis=0), vectors.T @ vectors

    kept = table.moments()
    count, total, outer = fresh()
    assert kept.count == count
    np.testing.assert_allclose(kept.total, total, atol=1e-9)
    np.testing.assert_allclose(kept.outer, outer, atol=1e-9)
    low, bound = table.low_precision()
    assert torch.equal(low[: len(table)], torch.from_numpy(table.vectors[: len(table)]).bfloat16())
    assert bound >= float(np.linalg.norm(table.vectors[: len(table)], axis=1).max())
    engine.close()


def test_prepared_states_are_kept_only_if_nothing_changed_meanwhile(trained: Trained, tmp_path: Path) -> None:
    engine = Engine(trained.model, trained.encoder, tmp_path / "engine")
    engine.add_items(list(trained.dataset.items.values()))
    items = trained.cluster_items(2)
    engine.ingest_many([Event("u", item_id=i, timestamp=float(n)) for n, i in enumerate(items[:4])])
    engine.prepare_users(["u", "nobody"])  # a user without history has no state to compute
    prepared = engine._user_cache["u"]
    assert set(engine._user_cache) == {"u"}
    engine._user_cache.clear()
    np.testing.assert_allclose(prepared, engine._user_vector("u", engine._history_rows("u")), atol=1e-6)

    engine._user_cache.clear()
    pending = engine.pending_states(["u"])
    assert pending is not None
    engine.ingest(Event("u", item_id=items[5], timestamp=10.0))  # their history moved on meanwhile
    engine.adopt_states(pending, pending.compute())
    assert "u" not in engine._user_cache

    pending = engine.pending_states(["u"])
    assert pending is not None
    engine.add_items([Item(items[0], "new text for an item in the history")])  # item vectors changed
    engine.adopt_states(pending, pending.compute())
    assert "u" not in engine._user_cache
    engine.prepare_users(["u"])
    assert "u" in engine._user_cache
    engine.close()


def test_trend_accumulators_beyond_float32_range(trained: Trained, tmp_path: Path) -> None:
    """Accumulators grow as 2^(t / half-life) between rebases, far past float32's range: the batch must
    scale them down before narrowing them (it once turned every score into NaN here)."""
    engine = Engine(trained.model, trained.encoder, tmp_path / "engine", EngineConfig(trend_half_life=60.0))
    engine.add_items(list(trained.dataset.items.values()))
    items = trained.cluster_items(1)
    engine.ingest(Event("a", item_id=items[0], timestamp=0.0))
    engine.ingest(Event("a", item_id=items[1], timestamp=60.0 * 300))  # 2^300 times the first one's weight
    assert engine.table.trend.max() > 1e38
    requests = [RecommendRequest("a", 5), RecommendRequest("cold", 5)]
    _, got = engine.recommend_batch(requests)
    _same(got, [engine.recommend(r.user_id, r.k) for r in requests])
    assert all(len(answer) == 5 for answer in got)
    engine.close()
