"""The engine worker: one thread runs every engine call, and concurrent recommendation requests share one.

Calls go into a thread-safe queue that the worker drains: each round it takes whatever is waiting,
runs the writes and other calls first, in arrival order, then answers all the recommendation requests
(at most ``max_size`` per engine call; after the first, others get up to ``max_wait`` to join) with
``Engine.recommend_batch``. While a round runs, new requests queue up, so batches grow by themselves
with load: one batched forward pass over every user whose history changed, and one product over the
catalog, instead of one each.

Why one thread for everything: a request that a client sends after another's answer is queued after
it, so it sees its effect (an event, then the recommendations that reflect it). A second thread
taking the engine's lock for writes was starved by back-to-back batches (event p99 82 ms, against 26 ms).
The worker starts the next round the moment the last is done and hands the answers to the event loop
once per round; the loop never has to run for the next batch to start.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from freshrec.data.records import Event
from freshrec.engine.engine import Engine, Recommendation, RecommendRequest
from freshrec.engine.user_states import PendingStates

log = logging.getLogger(__name__)
T = TypeVar("T")
PREPARE_USERS = 16  # writes touching at most this many users get their states computed before the answer
Answer = tuple[int, list[Recommendation]]  # (log sequence number reflected, the list)


@dataclass
class _Read:
    request: RecommendRequest
    future: asyncio.Future[Any]


@dataclass
class _Write:
    events: Sequence[Event]
    future: asyncio.Future[Any]


@dataclass
class _Call:
    function: Callable[..., Any]
    args: tuple[Any, ...]
    future: asyncio.Future[Any]


class MicroBatcher:
    """``await batcher.recommend(request)`` and ``await batcher.call(engine.method, ...)``.

    ``enabled=False`` answers each recommendation request with an engine call of its own (the baseline
    the benchmark compares with). Before ``start`` and after ``stop``, calls run in ``executor``."""

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
        self._queue: queue.SimpleQueue[_Read | _Write | _Call | None] = queue.SimpleQueue()  # None: stop
        self._thread: threading.Thread | None = None
        # users' new states after their events, computed beside the worker and adopted by it
        self._prepare: ThreadPoolExecutor | None = None
        self._prepared: queue.SimpleQueue[tuple[PendingStates, np.ndarray]] = queue.SimpleQueue()

    def start(self) -> None:
        if self._thread is None:
            self._prepare = ThreadPoolExecutor(max_workers=1, thread_name_prefix="freshrec-prepare")
            self._thread = threading.Thread(target=self._run, name="freshrec-engine-worker", daemon=True)
            self._thread.start()

    async def stop(self) -> None:
        """Stop after running everything already queued (graceful shutdown)."""
        if self._thread is not None:
            self._queue.put(None)
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, self._thread.join)
            if self._prepare is not None:
                await loop.run_in_executor(None, self._prepare.shutdown)  # its answers still go out
            self._thread = self._prepare = None

    async def recommend(self, request: RecommendRequest) -> Answer:
        if self._thread is None:
            raise RuntimeError("the batcher is not running (start() it first)")
        future: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self._queue.put(_Read(request, future))
        return await future

    async def ingest(self, events: Sequence[Event]) -> int:
        """``Engine.ingest_many`` in the worker. The answer comes once the events' users (up to
        ``PREPARE_USERS`` of them) also have their new states, computed in another thread beside the
        worker's next round, so that the recommendations asked for next need no forward pass."""
        if self._thread is None:
            return await self.call(self.engine.ingest_many, events)
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._queue.put(_Write(events, future))
        return await future

    async def call(self, function: Callable[..., T], *args: Any) -> T:
        """``function(*args)`` in the worker, after what was queued before it."""
        loop = asyncio.get_running_loop()
        if self._thread is None:
            return await loop.run_in_executor(self.executor, function, *args)
        future: asyncio.Future[T] = loop.create_future()
        self._queue.put(_Call(function, args, future))
        return await future

    def _run(self) -> None:
        """The worker: one round after another until told to stop."""
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is None:
                return
            jobs, deadline = [first], time.perf_counter() + self.max_wait
            while True:
                try:
                    left = deadline - time.perf_counter()
                    reads = isinstance(jobs[-1], _Read)
                    job = self._queue.get(timeout=left) if left > 0 and reads else self._queue.get_nowait()
                except queue.Empty:
                    break
                if job is None:  # run what came before the stop, then end
                    stopping = True
                    break
                jobs.append(job)
            try:
                self._round(jobs)
            except Exception as error:  # a bug, not a bad request: fail this round's requests, keep serving
                log.exception("the engine worker's round failed")
                _hand_back([(job.future, error) for job in jobs])  # (those already answered keep their answer)

    def _round(self, jobs: list[_Read | _Write | _Call]) -> None:
        """Writes and calls first (their answers go out at once), then the reads, batched."""
        while not self._prepared.empty():
            self.engine.adopt_states(*self._prepared.get_nowait())
        settled: list[tuple[asyncio.Future[Any], Any]] = []
        for job in jobs:
            if isinstance(job, _Write):
                settled += self._write(job)
            elif isinstance(job, _Call):
                try:
                    settled.append((job.future, job.function(*job.args)))
                except Exception as error:
                    settled.append((job.future, error))
        _hand_back(settled)
        reads = [job for job in jobs if isinstance(job, _Read)]
        size = self.max_size if self.enabled else 1
        for start in range(0, len(reads), size):
            batch = reads[start : start + size]
            self.observe(len(batch))
            answers = self._answer([read.request for read in batch])
            _hand_back(list(zip((read.future for read in batch), answers, strict=True)))

    def _write(self, job: _Write) -> list[tuple[asyncio.Future[Any], Any]]:
        """Ingest; the answer now, or once the users' states are computed (then it is sent from there)."""
        try:
            seq = self.engine.ingest_many(job.events)
        except Exception as error:
            return [(job.future, error)]
        users = list(dict.fromkeys(event.user_id for event in job.events))
        try:
            pending = self.engine.pending_states(users) if len(users) <= PREPARE_USERS else None
        except Exception:  # the events are in: answer them; the next recommendation computes the states
            log.exception("taking users' histories after their events failed")
            pending = None
        if pending is None or self._prepare is None:
            return [(job.future, seq)]
        self._prepare.submit(self._compute, pending, job.future, seq)
        return []

    def _compute(self, pending: PendingStates, future: asyncio.Future[Any], seq: int) -> None:
        """In the prepare thread: the forward pass, handed to the worker before the write is answered."""
        try:
            self._prepared.put((pending, pending.compute()))
        except Exception:  # the events are in; the next recommendation computes the states itself
            log.exception("computing users' states after their events failed")
        _hand_back([(future, seq)])

    def _answer(self, requests: list[RecommendRequest]) -> list[Answer | BaseException]:
        """If the batch fails, each request is retried alone so that only the one that caused it fails."""
        try:
            seq, answers = self.engine.recommend_batch(requests)
            return [(seq, answer) for answer in answers]
        except Exception:
            results: list[Answer | BaseException] = []
            for request in requests:
                try:
                    seq, answers = self.engine.recommend_batch([request])
                    results.append((seq, answers[0]))
                except Exception as error:
                    results.append(error)
            return results


def _hand_back(settled: list[tuple[asyncio.Future[Any], Any]]) -> None:
    """Results to their futures, in the event loop's thread: one wake-up for them all."""
    if settled:
        settled[0][0].get_loop().call_soon_threadsafe(_settle, settled)


def _settle(settled: list[tuple[asyncio.Future[Any], Any]]) -> None:
    for future, result in settled:
        if future.done():  # the client went away and the request was cancelled
            continue
        if isinstance(result, BaseException):
            future.set_exception(result)
        else:
            future.set_result(result)
