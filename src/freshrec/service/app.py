"""The FastAPI application around one engine: routers, error handlers, limits, metrics, lifespan."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from freshrec import __version__
from freshrec.engine.engine import Engine
from freshrec.service.batching import MicroBatcher
from freshrec.service.deps import Runtime
from freshrec.service.errors import BodyLimit, install_handlers
from freshrec.service.fastpath import FastPath
from freshrec.service.metrics import Metrics, RequestTimer
from freshrec.service.routes import events, health, items, models, users
from freshrec.service.security import KeyRing
from freshrec.service.settings import ServiceSettings
from freshrec.training.online import OnlineConfig, OnlineTrainer

DESCRIPTION = """Real-time recommendations from freshrec's text-aware transformer.

Every route under `/v1` needs an `X-API-Key` header whose key has the route's scope: **read**
(recommendations, similar items), **write** (events) or **admin** (items, model versions, forgetting users).
Every refusal is a 4xx whose body names each field and its problem; a refused batch applies nothing.
"""


def model_version(checkpoint: Path) -> str:
    """The checkpoint's file name and the start of its SHA-256: what the metrics report as the version."""
    digest = hashlib.sha256(checkpoint.read_bytes()).hexdigest()[:12] if checkpoint.is_file() else "unknown"
    return f"{checkpoint.name}@{digest}"


def create_app(settings: ServiceSettings, engine: Engine) -> FastAPI:
    """The app serving ``engine``; the engine is closed (after a final snapshot) when the app shuts down."""
    metrics = Metrics()
    service = Runtime(settings, engine, KeyRing(settings.api_keys), metrics)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        service.batcher = MicroBatcher(engine, service.executor, enabled=settings.batching,
                                       max_size=settings.batch_max_size, max_wait=settings.batch_max_wait_ms / 1000,
                                       observe=metrics.batch_size.observe)  # fmt: skip
        service.batcher.start()
        metrics.model.info({"version": model_version(settings.checkpoint)})
        metrics.watch_stream(lambda: engine.state.now)
        metrics.model_version.set_function(lambda: engine.model_version)
        trainer = None
        if settings.online_training:  # fine-tunes in this process and publishes versions (see README)
            trainer = OnlineTrainer(engine, OnlineConfig(every_events=settings.online_every_events)).start()
        yield
        if trainer is not None:
            trainer.stop()
        # uvicorn has stopped accepting and waited for in-flight requests; finish what is queued
        service.draining = True
        await service.batcher.stop()
        await service.call(engine.snapshot)  # a restart then replays nothing
        service.executor.shutdown(wait=True)
        engine.close()

    app = build(lifespan)
    app.state.runtime = service
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    if settings.fast_path:  # inside the timer, so that its requests are timed like the others
        routes = {getattr(r, "path", ""): r for r in (*users.router.routes, *events.router.routes)}
        app.add_middleware(FastPath, runtime=service, routes=routes)
    app.add_middleware(RequestTimer, metrics=metrics)
    return app


def build(lifespan: Any = None) -> FastAPI:
    """Routes and handlers without a running engine: enough for the OpenAPI spec."""
    app = FastAPI(title="freshrec", version=__version__, description=DESCRIPTION, lifespan=lifespan)
    for router in (events.router, users.router, items.router, models.router, health.router):
        app.include_router(router)
    install_handlers(app)
    return app


def openapi_spec() -> dict[str, Any]:
    """The API's OpenAPI document (committed as docs/openapi.json; a test keeps them equal)."""
    return build().openapi()
