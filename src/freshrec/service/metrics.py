"""Prometheus metrics, in a registry of the app's own (several apps in one process never collide).

Labels never carry user or item ids (unbounded, and personal): latency is labelled by route template.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class Metrics:
    """The service's figures; ``freshness`` and ``stream_lag`` read the engine when scraped."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.latency = Histogram(
            "freshrec_http_request_duration_seconds",
            "Time from request to response, per route template, method and status.",
            ["route", "method", "status"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.events = Counter(
            "freshrec_events_ingested", "Events durably logged and applied, per kind.", ["kind"], registry=self.registry
        )
        self.event_ack = Histogram(
            "freshrec_freshness_lag_seconds",
            "Time from an event post's arrival to its being in the durable log and in every later answer.",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.stream_lag = Gauge(
            "freshrec_stream_lag_seconds",
            "Wall clock minus the newest event timestamp the state has applied.",
            registry=self.registry,
        )
        self.batch_size = Histogram(
            "freshrec_recommend_batch_size",
            "Recommendation requests answered by one engine call (micro-batching).",
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
            registry=self.registry,
        )
        self.model = Info("freshrec_model", "The checkpoint the service started from.", registry=self.registry)
        self.model_version = Gauge(
            "freshrec_model_version",
            "The model version serving now (0: the checkpoint, before any version was published).",
            registry=self.registry,
        )

    def watch_stream(self, newest_event_time: Callable[[], float]) -> None:
        self.stream_lag.set_function(lambda: time.time() - newest_event_time())


class RequestTimer:
    """ASGI middleware: records each HTTP request's latency under its route template."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start, status = time.perf_counter(), 500

        async def tap(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, tap)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.latency.labels(route, scope["method"], str(status)).observe(time.perf_counter() - start)
