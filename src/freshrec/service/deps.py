"""What routes depend on: the running service and the caller's key, as ``Annotated`` aliases."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader

from freshrec.data.records import Event
from freshrec.engine.engine import Engine
from freshrec.service.batching import MicroBatcher
from freshrec.service.errors import ApiError
from freshrec.service.metrics import Metrics
from freshrec.service.schemas import ErrorBody, FieldProblem
from freshrec.service.security import HEADER, Caller, KeyRing
from freshrec.service.settings import Scope, ServiceSettings

T = TypeVar("T")


@dataclass
class Runtime:
    """The service's live parts. Every engine call runs in ``executor``'s single thread, so requests
    are applied in arrival order and the event loop never blocks on the model."""

    settings: ServiceSettings
    engine: Engine
    keys: KeyRing
    metrics: Metrics
    executor: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=1, thread_name_prefix="freshrec-engine")
    )
    batcher: MicroBatcher | None = None
    draining: bool = False  # shutting down: not ready for new traffic, still finishing what came in

    async def call(self, function: Callable[..., T], *args: Any) -> T:
        """Run an engine method in the engine worker (the executor while it is not running)."""
        if self.batcher is not None:
            return await self.batcher.call(function, *args)
        return await asyncio.get_running_loop().run_in_executor(self.executor, function, *args)

    async def ingest(self, events: Sequence[Event]) -> int:
        """``Engine.ingest_many`` in the engine worker (see ``MicroBatcher.ingest``)."""
        if self.batcher is not None:
            return await self.batcher.ingest(events)
        return await self.call(self.engine.ingest_many, events)


async def runtime(request: Request) -> Runtime:
    service: Runtime = request.app.state.runtime
    return service


_key_header = APIKeyHeader(name=HEADER, auto_error=False, description="API key; its scopes decide what it may do")


def require(scope: Scope) -> Callable[..., Awaitable[Caller]]:
    """A dependency (async: sync ones would each cost a thread hop) that lets through callers whose key has ``scope`` (401: no or unknown key; 403: scope)."""

    async def check(request: Request, key: Annotated[str | None, Security(_key_header)]) -> Caller:
        caller = request.app.state.runtime.keys.identify(key)
        if caller is None:
            problem = "missing" if not key else "not a valid key"
            raise ApiError(401, "authentication required", [FieldProblem(field=HEADER, problem=problem)],
                           headers={"WWW-Authenticate": "ApiKey"})  # fmt: skip
        if scope not in caller.scopes:
            problem = f"key '{caller.name}' lacks the '{scope.value}' scope"
            raise ApiError(403, "forbidden", [FieldProblem(field=HEADER, problem=problem)])
        return caller

    return check


Service = Annotated[Runtime, Depends(runtime)]
Reader = Annotated[Caller, Depends(require(Scope.READ))]
Writer = Annotated[Caller, Depends(require(Scope.WRITE))]
Admin = Annotated[Caller, Depends(require(Scope.ADMIN))]

_WHY = {
    401: "no key, or an unknown one",
    403: "the key lacks this route's scope",
    404: "no such item",
    409: "well-formed, but names items the catalog does not hold; nothing was applied",
    413: "body or batch too large",
    422: "malformed request: the body names each field and problem; nothing was applied",
}


def refusals(*codes: int, why: dict[int, str] | None = None) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for the error codes a route can give, all with the ErrorBody shape
    (``why`` overrides the usual descriptions)."""
    return {code: {"model": ErrorBody, "description": (why or {}).get(code, _WHY[code])} for code in codes}
