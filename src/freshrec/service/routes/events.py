"""Events in: one or a batch. A 2xx means every event is in the durable log and in every later answer."""

from __future__ import annotations

import time
from collections.abc import Sequence

from fastapi import APIRouter

from freshrec.data.errors import RecordError
from freshrec.data.records import Event
from freshrec.service.deps import Runtime, Service, Writer, refusals
from freshrec.service.errors import ApiError
from freshrec.service.schemas import Accepted, EventBatch, EventIn, FieldProblem, ItemEvent

router = APIRouter(prefix="/v1", tags=["events"])


@router.post("/events", response_model=Accepted, responses=refusals(401, 403, 409, 413, 422))
async def post_event(event: EventIn, _: Writer, service: Service) -> Accepted:
    """Send one event (view, click, cart, purchase, rating, search with query text, impression)."""
    return await ingest_events(service, [event], prefix=None)


@router.post("/events/batch", response_model=Accepted, responses=refusals(401, 403, 409, 413, 422))
async def post_events(batch: EventBatch, _: Writer, service: Service) -> Accepted:
    """Send a batch of events: accepted whole or refused whole, with every refused entry named."""
    limit = service.settings.max_batch_events
    if len(batch.events) > limit:
        problem = FieldProblem(field="events", problem=f"{len(batch.events)} events; at most {limit} per request")
        raise ApiError(413, "batch too large; nothing was applied", [problem])
    return await ingest_events(service, batch.events, prefix="events")


async def ingest_events(service: Runtime, events: Sequence[EventIn], prefix: str | None) -> Accepted:
    """Validate, check against the catalog and ingest: accepted whole, or refused whole with an ``ApiError``
    naming every refused entry (nothing applied). The fast path (``service/fastpath.py``) calls it too."""
    arrived = time.perf_counter()
    received_at = time.time()

    def name(position: int, field: str) -> str:
        return field if prefix is None else f"{prefix}[{position}].{field}"

    records: list[Event] = []
    malformed: list[FieldProblem] = []
    unknown: list[FieldProblem] = []
    catalog = service.engine.state.items()
    for position, event in enumerate(events):
        try:
            records.append(event.record(received_at))
        except RecordError as error:
            malformed.append(FieldProblem(field=name(position, error.field), problem=error.reason))
            continue
        if isinstance(event, ItemEvent) and event.item_id not in catalog and not service.settings.auto_register_items:
            unknown.append(FieldProblem(field=name(position, "item_id"), problem="unknown item (add it first)"))
    if malformed or unknown:  # 409: well-formed, but naming items the catalog does not hold
        problems = malformed + unknown
        detail = f"{len(problems)} of {len(events)} events refused; nothing was applied"
        raise ApiError(422 if malformed else 409, detail, problems)
    try:
        seq = await service.ingest(records)
    except RecordError as error:  # the engine re-checks under its lock (an item may have gone meanwhile)
        field = error.field if prefix is not None else error.field.split(".", 1)[-1]
        problem = FieldProblem(field=field, problem=error.reason)
        raise ApiError(409, f"{field}: {error.reason}; nothing was applied", [problem]) from None
    metrics = service.metrics
    for record in records:
        metrics.events.labels(record.kind.value).inc()
    metrics.event_ack.observe(time.perf_counter() - arrived)
    return Accepted(accepted=len(records), seq=seq)
