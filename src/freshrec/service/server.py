"""Run the app on uvicorn: one process (the engine is in-process state), graceful on SIGTERM/SIGINT."""

from __future__ import annotations

import importlib.util

import uvicorn

from freshrec.engine.engine import Engine, EngineConfig
from freshrec.service.app import create_app
from freshrec.service.settings import ServiceSettings


def open_engine(settings: ServiceSettings) -> Engine:
    """The engine for ``settings``: the checkpoint's model over the state kept in ``data_dir``."""
    config = EngineConfig(
        state_url=settings.state_url,
        auto_register_items=settings.auto_register_items,
        snapshot_every=settings.snapshot_every,
    )
    return Engine.open(settings.checkpoint, settings.data_dir, config=config)


def serve(settings: ServiceSettings, engine: Engine | None = None) -> None:
    """Load the engine (fails fast on a bad checkpoint), then serve until SIGTERM or SIGINT, which stop
    new connections, let in-flight requests finish (up to ``graceful_timeout_s``) and snapshot."""
    app = create_app(settings, engine if engine is not None else open_engine(settings))
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        workers=1,
        loop="uvloop" if importlib.util.find_spec("uvloop") else "asyncio",
        http="httptools" if importlib.util.find_spec("httptools") else "h11",
        access_log=settings.access_log,
        timeout_graceful_shutdown=settings.graceful_timeout_s,
        server_header=False,
    )
    uvicorn.Server(config).run()
