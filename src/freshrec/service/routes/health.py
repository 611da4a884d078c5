"""Liveness, readiness and Prometheus metrics: no key needed (they carry no user data)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from freshrec.service.deps import Service
from freshrec.service.errors import ApiError
from freshrec.service.schemas import ErrorBody, Health

router = APIRouter(tags=["operations"])


@router.get("/health/live", response_model=Health)
async def live() -> Health:
    """The process answers."""
    return Health(status="alive")


@router.get("/health/ready", response_model=Health, responses={503: {"model": ErrorBody, "description": "draining"}})
async def ready(service: Service) -> Health:
    """The engine is loaded and the server takes new traffic (503 while shutting down)."""
    if service.draining:
        raise ApiError(503, "shutting down")
    return Health(status="ready")


@router.get("/metrics", include_in_schema=False)
async def metrics(service: Service) -> Response:
    return Response(generate_latest(service.metrics.registry), media_type=CONTENT_TYPE_LATEST)
