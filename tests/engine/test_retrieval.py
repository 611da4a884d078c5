"""The approximate index against the exact reference, including incremental adds and removals."""

from __future__ import annotations

import numpy as np
import pytest

from freshrec.engine.retrieval import ExactIndex, FaissIndex, VectorIndex


def clustered(n: int, dim: int = 16, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(8, dim))
    return (centres[rng.integers(0, 8, n)] + 0.3 * rng.normal(size=(n, dim))).astype(np.float32)


def assert_same_results(approximate: np.ndarray, exact: np.ndarray, vectors: np.ndarray, query: np.ndarray) -> None:
    """Same rows with the same scores; near-ties may swap (float32 sums in a different order)."""
    assert set(approximate.tolist()) == set(exact.tolist())
    np.testing.assert_allclose(vectors[approximate - 1] @ query, vectors[exact - 1] @ query, rtol=1e-5, atol=1e-5)


def filled(index: VectorIndex, vectors: np.ndarray) -> VectorIndex:
    index.upsert(np.arange(1, len(vectors) + 1), vectors)
    return index


@pytest.mark.parametrize("n", [5, 60, 2_000])
def test_approximate_equals_exact_when_every_list_is_probed(n: int) -> None:
    vectors = clustered(n)
    exact = filled(ExactIndex(16), vectors)
    approximate = filled(FaissIndex(16, lists=8, nprobe=8), vectors)
    for query in clustered(20, seed=1):
        assert_same_results(approximate.search(query, 10), exact.search(query, 10), vectors, query)


def test_incremental_adds_and_removals_match_the_reference() -> None:
    vectors = clustered(1_000)
    exact, approximate = ExactIndex(16), FaissIndex(16, lists=8, nprobe=8)
    for index in (exact, approximate):
        index.upsert(np.arange(1, 801), vectors[:800])
        index.upsert(np.arange(801, 1001), vectors[800:])  # new items after training: no rebuild
        index.remove(np.arange(1, 1001, 3))
        index.upsert(np.array([2]), vectors[500:501])  # an update replaces the old vector
    assert len(exact) == len(approximate)
    current = vectors.copy()
    current[1] = vectors[500]  # row 2 was updated
    for query in clustered(20, seed=2):
        assert_same_results(approximate.search(query, 10), exact.search(query, 10), current, query)


def test_fewer_probes_still_recall_most_of_the_exact_top_10() -> None:
    vectors = clustered(20_000, dim=32)
    exact = filled(ExactIndex(32), vectors)
    approximate = filled(FaissIndex(32, lists=64, nprobe=8), vectors)
    queries = clustered(50, dim=32, seed=3)
    recall = np.mean([len(set(approximate.search(q, 10)) & set(exact.search(q, 10))) / 10 for q in queries])
    assert recall >= 0.9
