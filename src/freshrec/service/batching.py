"""Micro-batching: concurrent recommendation requests share one engine call.

Each request waits on a future; one consumer task takes the first waiting request, gives others up
to ``max_wait`` to join (at most ``max_size`` in all), and answers them with one
``Engine.recommend_batch`` in the engine thread. While that call runs, new requests queue up, so
batches grow by themselves with load: one batched forward pass over every user whose history changed,
and one thread hop, instead of one each.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Executor

from freshrec.engine.engine import Engine, Recommendation, RecommendRequest

Answer = tuple[int, list[Recommendation]]  # (log sequence number reflected, the list)


class MicroBatcher:
    """``await batcher.recommend(request)``; ``enabled=False`` answers each request alone (the baseline)."""

    def __init__(
        self,
        engine: Engine,
        executor: Executor,
        *,
        enabled: bool = True,
        max_size: int = 64,
        max_wait: float = 0.001,
        observe: Callable[[int], None] = lambda size: None,
    ) -> None:
        self.engine, self.executor = engine, executor
        self.enabled, self.max_size, self.max_wait, self.observe = enabled, max_size, max_wait, observe
        self._queue: asyncio.Queue[tuple[RecommendRequest, asyncio.Future[Answer]]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self.enabled and self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._consume(), name="freshrec-batcher")

    async def stop(self) -> None:
        """Stop after answering everything already queued (graceful shutdown)."""
        if self._task is not None:
            await self._queue.join()
            self._task.cancel()
            self._task = None

    async def recommend(self, request: RecommendRequest) -> Answer:
        loop = asyncio.get_running_loop()
        if not self.enabled:
            self.observe(1)
            seq, answers = await loop.run_in_executor(self.executor, self.engine.recommend_batch, [request])
            return seq, answers[0]
        future: asyncio.Future[Answer] = loop.create_future()
        await self._queue.put((request, future))
        return await future

    async def _consume(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self._queue.get()]
            if self.max_wait > 0 and self._queue.qsize() + 1 < self.max_size:
                await asyncio.sleep(self.max_wait)
            while len(batch) < self.max_size and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            self.observe(len(batch))
            try:
                await loop.run_in_executor(self.executor, self._answer, batch)
            finally:
                for _ in batch:
                    self._queue.task_done()

    def _answer(self, batch: list[tuple[RecommendRequest, asyncio.Future[Answer]]]) -> None:
        """In the engine thread. If the batch fails, each request is retried alone so that only the
        one that caused it gets the error."""
        try:
            seq, answers = self.engine.recommend_batch([request for request, _ in batch])
            results: list[Answer | BaseException] = [(seq, answer) for answer in answers]
        except Exception:
            results = []
            for request, _ in batch:
                try:
                    seq, answers = self.engine.recommend_batch([request])
                    results.append((seq, answers[0]))
                except Exception as error:
                    results.append(error)
        futures = [future for _, future in batch]
        futures[0].get_loop().call_soon_threadsafe(_settle, futures, results)  # one wake-up for the batch


def _settle(futures: list[asyncio.Future[Answer]], results: list[Answer | BaseException]) -> None:
    for future, result in zip(futures, results, strict=True):
        if future.done():  # the client went away and the request was cancelled
            continue
        if isinstance(result, BaseException):
            future.set_exception(result)
        else:
            future.set_result(result)
