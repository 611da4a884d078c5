"""The engine worker: concurrent requests share engine calls, a failing request fails alone, writes and
calls run before the reads queued with them, and stopping answers everything already queued."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import pytest

from freshrec.data.records import Event
from freshrec.engine.engine import Recommendation, RecommendRequest
from freshrec.service.batching import MicroBatcher


class SlowEngine:
    """Answers each user with one item named after them, taking 5 ms per call; "boom" makes a call fail."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.threads: set[str] = set()

    def recommend_batch(self, requests: Sequence[RecommendRequest]) -> tuple[int, list[list[Recommendation]]]:
        self.batches.append([r.user_id for r in requests])
        self.threads.add(threading.current_thread().name)
        time.sleep(0.005)
        if any(r.user_id == "boom" for r in requests):
            raise ValueError("boom")
        return 7, [[Recommendation(f"for-{r.user_id}", 1.0, "test")] for r in requests]


async def _ask(batcher: MicroBatcher, users: list[str]) -> list[object]:
    calls = [batcher.recommend(RecommendRequest(u)) for u in users]
    return await asyncio.gather(*calls, return_exceptions=True)


def _batcher(engine: SlowEngine, **options: object) -> MicroBatcher:
    return MicroBatcher(engine, ThreadPoolExecutor(1), **options)  # type: ignore[arg-type]


def test_concurrent_requests_share_calls_and_each_gets_its_own_answer() -> None:
    engine = SlowEngine()

    async def main() -> list[object]:
        batcher = _batcher(engine)
        batcher.start()
        answers = await _ask(batcher, [f"u{n}" for n in range(40)])
        await batcher.stop()
        return answers

    answers = asyncio.run(main())
    assert answers == [(7, [Recommendation(f"for-u{n}", 1.0, "test")]) for n in range(40)]
    assert len(engine.batches) < 40 and max(len(b) for b in engine.batches) > 1
    assert sorted(u for b in engine.batches for u in b) == sorted(f"u{n}" for n in range(40))
    assert engine.threads == {"freshrec-engine-worker"}  # not the event loop's thread, not the executor's


def test_a_failing_request_fails_alone() -> None:
    engine = SlowEngine()

    async def main() -> list[object]:
        batcher = _batcher(engine, max_wait=0.02)  # long enough for all three to share a batch
        batcher.start()
        answers = await _ask(batcher, ["a", "boom", "b"])
        await batcher.stop()
        return answers

    a, boom, b = asyncio.run(main())
    assert engine.batches[0] == ["a", "boom", "b"]
    assert a == (7, [Recommendation("for-a", 1.0, "test")]) and b == (7, [Recommendation("for-b", 1.0, "test")])
    assert isinstance(boom, ValueError)


def test_stop_answers_what_is_queued_and_disabled_batching_answers_one_by_one() -> None:
    engine = SlowEngine()

    async def main() -> tuple[list[object], list[object]]:
        batcher = _batcher(engine)
        batcher.start()
        pending = asyncio.gather(*(batcher.recommend(RecommendRequest(f"q{n}")) for n in range(10)))
        await asyncio.sleep(0)  # all ten are queued
        await batcher.stop()
        queued = await pending
        alone = _batcher(engine, enabled=False)
        alone.start()
        answers = await _ask(alone, ["x", "y"])
        await alone.stop()
        return list(queued), answers

    queued, alone = asyncio.run(main())
    assert len(queued) == 10
    assert alone == [(7, [Recommendation("for-x", 1.0, "test")]), (7, [Recommendation("for-y", 1.0, "test")])]
    assert engine.batches[-2:] == [["x"], ["y"]]


def test_recommend_before_start_is_an_error() -> None:
    async def main() -> None:
        await _batcher(SlowEngine()).recommend(RecommendRequest("u"))

    with pytest.raises(RuntimeError, match="not running"):
        asyncio.run(main())


def test_calls_run_before_the_reads_queued_with_them() -> None:
    engine = SlowEngine()
    order: list[str] = []

    async def main() -> None:
        batcher = _batcher(engine, max_wait=0.02)
        batcher.start()
        reads = [batcher.recommend(RecommendRequest(f"r{n}")) for n in range(3)]
        call = batcher.call(lambda: order.append(f"call after {len(engine.batches)} batches"))
        await asyncio.gather(*reads, call)
        await batcher.stop()
        assert await batcher.call(order.append, "after stop") is None  # runs in the executor then

    asyncio.run(main())
    assert order == ["call after 0 batches", "after stop"] and engine.batches == [["r0", "r1", "r2"]]


class BrokenStatesEngine(SlowEngine):
    """Ingests fine, but taking users' histories afterwards fails (a bug elsewhere, simulated)."""

    def ingest_many(self, events: Sequence[object]) -> int:
        return 3

    def pending_states(self, users: Sequence[str]) -> None:
        raise RuntimeError("broken")


def test_an_ingested_write_is_answered_even_if_what_follows_it_fails() -> None:
    engine = BrokenStatesEngine()

    async def main() -> tuple[int, object]:
        batcher = _batcher(engine)
        batcher.start()
        seq = await batcher.ingest([Event("u", item_id="i", timestamp=1.0)])
        answer = await batcher.recommend(RecommendRequest("u"))
        await batcher.stop()
        return seq, answer

    assert asyncio.run(main()) == (3, (7, [Recommendation("for-u", 1.0, "test")]))
