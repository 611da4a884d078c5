"""Per user: recommendations (micro-batched through the transformer) and forgetting (privacy requests)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse

from freshrec.engine.engine import RecommendRequest
from freshrec.service.deps import Admin, Reader, Service, refusals
from freshrec.service.fastpath import recommendations_body
from freshrec.service.schemas import Category, Forgotten, Identifier, Recommendations

router = APIRouter(prefix="/v1/users", tags=["users"])

UserPath = Annotated[str, Path(min_length=1, max_length=256, description="the user's id")]


@router.get("/{user_id}/recommendations", response_model=Recommendations, responses=refusals(401, 403, 422))
async def recommend(
    user_id: UserPath,
    _: Reader,
    service: Service,
    k: Annotated[int, Query(ge=1, le=100, description="how many items")] = 10,
    category: Annotated[
        list[Category], Query(max_length=50, description="only items in any of these (none: all)")
    ] = [],  # noqa: B006
    exclude: Annotated[list[Identifier], Query(max_length=200, description="item ids never to return")] = [],  # noqa: B006
    exclude_seen: Annotated[bool, Query(description="leave out items in the user's history")] = True,
) -> JSONResponse:
    """The user's top k now, each with its score and the reason that most drove it. Read scope.

    An unknown user gets the cold-start list (trending and popular items)."""
    request = RecommendRequest(user_id, k, exclude_seen, tuple(category) or None, tuple(exclude))
    assert service.batcher is not None
    seq, found = await service.batcher.recommend(request)
    # the hottest route: plain dicts straight to JSON (the Recommendations shape, as the spec says), as
    # the fast path (service/fastpath.py) answers valid requests from read keys before they get here
    return JSONResponse(recommendations_body(user_id, seq, found))


@router.delete("/{user_id}", response_model=Forgotten, responses=refusals(401, 403, 422))
async def forget_user(user_id: UserPath, _: Admin, service: Service) -> Forgotten:
    """Delete the user's events and state everywhere they are kept: the durable log (bytes scrubbed),
    the online state and its counts, the caches and the snapshot. Admin scope."""
    deleted = await service.call(service.engine.forget_user, user_id)
    return Forgotten(user_id=user_id, events_deleted=deleted)
