"""The catalog: add or update items (recommendable as soon as this answers), remove them, similar items."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from freshrec.service.deps import Admin, Reader, Service, refusals
from freshrec.service.errors import ApiError
from freshrec.service.schemas import Accepted, FieldProblem, ItemBatch, ItemIds, Scored, Similar

router = APIRouter(prefix="/v1/items", tags=["items"])

ItemPath = Annotated[str, Path(min_length=1, max_length=256, description="the item's id")]


@router.put("", response_model=Accepted, responses=refusals(401, 403, 413, 422))
async def put_items(batch: ItemBatch, _: Admin, service: Service) -> Accepted:
    """Add items, or update those whose id exists (text, categories). Admin scope."""
    limit = service.settings.max_batch_items
    if len(batch.items) > limit:
        problem = FieldProblem(field="items", problem=f"{len(batch.items)} items; at most {limit} per request")
        raise ApiError(413, "batch too large; nothing was applied", [problem])
    seq = await service.call(service.engine.add_items, [item.record() for item in batch.items])
    return Accepted(accepted=len(batch.items), seq=seq)


@router.post("/remove", response_model=Accepted, responses=refusals(401, 403, 404, 413, 422))
async def remove_items(body: ItemIds, _: Admin, service: Service) -> Accepted:
    """Stop recommending these items; all must exist, else none is removed. Admin scope."""
    if len(body.item_ids) > service.settings.max_batch_items:
        problem = FieldProblem(field="item_ids", problem=f"at most {service.settings.max_batch_items} per request")
        raise ApiError(413, "batch too large; nothing was applied", [problem])
    return await _remove(service, list(dict.fromkeys(body.item_ids)), "item_ids")


@router.delete("/{item_id}", response_model=Accepted, responses=refusals(401, 403, 404, 422))
async def remove_item(item_id: ItemPath, _: Admin, service: Service) -> Accepted:
    """Stop recommending one item. Admin scope."""
    return await _remove(service, [item_id], "item_id")


async def _remove(service: Service, item_ids: list[str], field: str) -> Accepted:
    try:
        seq = await service.call(service.engine.remove_items, item_ids)
    except KeyError as error:
        problem = FieldProblem(field=field, problem=str(error.args[0]) if error.args else "unknown item")
        raise ApiError(404, "unknown item; nothing was removed", [problem]) from None
    return Accepted(accepted=len(item_ids), seq=seq)


@router.get("/{item_id}/similar", response_model=Similar, responses=refusals(401, 403, 404, 422))
async def similar_items(
    item_id: ItemPath, _: Reader, service: Service, k: Annotated[int, Query(ge=1, le=100)] = 10
) -> Similar:
    """Items closest to this one in the model's item space. Read scope."""
    try:
        found = await service.call(service.engine.similar_items, item_id, k)
    except KeyError as error:
        problem = FieldProblem(field="item_id", problem=str(error.args[0]) if error.args else "unknown item")
        raise ApiError(404, "no such item", [problem]) from None
    return Similar(item_id=item_id, items=[Scored(item_id=r.item_id, score=r.score, reason=r.reason) for r in found])
