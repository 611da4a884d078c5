"""The hottest route, ``GET /v1/users/{user_id}/recommendations``, answered below the framework.

FastAPI spends about a quarter of a millisecond of the event loop on each request: resolving
dependencies, building parameter models, wrapping the response. On two cores that time is taken
from the engine thread, which shares the interpreter lock with the loop. This ASGI middleware
answers the requests it can check completely itself, by the route's own rules: the key has the read
scope, and every parameter is well-formed. Everything else goes on to FastAPI unchanged: a missing
key, a bad value, a repeated scalar parameter. Refusals therefore get the usual 4xx bodies, and the
route, its parameters and its OpenAPI entry stay declared in ``routes/users.py``. A test checks that
both ways give byte-identical answers.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any
from urllib.parse import parse_qsl

from pydantic import Field, TypeAdapter, ValidationError
from starlette.types import ASGIApp, Receive, Scope, Send

from freshrec.engine.engine import Recommendation, RecommendRequest
from freshrec.service.schemas import Category, Identifier
from freshrec.service.security import HEADER
from freshrec.service.settings import Scope as KeyScope

ROUTE = "/v1/users/{user_id}/recommendations"
MAX_K, MAX_CATEGORIES, MAX_EXCLUDE, MAX_USER_ID = 100, 50, 200, 256  # as declared on the route
_K = re.compile(r"[0-9]{1,3}")
_TRUE, _FALSE = {"1", "on", "t", "true", "y", "yes"}, {"0", "off", "f", "false", "n", "no"}  # pydantic's words
_CATEGORIES = TypeAdapter(Annotated[list[Category], Field(max_length=MAX_CATEGORIES)])
_EXCLUDE = TypeAdapter(Annotated[list[Identifier], Field(max_length=MAX_EXCLUDE)])
_KEY_HEADER = HEADER.lower().encode("latin-1")


def recommendations_body(user_id: str, seq: int, found: list[Recommendation]) -> dict[str, Any]:
    """The ``Recommendations`` response as plain data (what both ways of answering send)."""
    items = [{"item_id": r.item_id, "score": r.score, "reason": r.reason} for r in found]
    return {"user_id": user_id, "seq": seq, "items": items}


def render(content: dict[str, Any]) -> bytes:
    """JSON exactly as Starlette's ``JSONResponse`` writes it."""
    return json.dumps(content, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")).encode()


def parse_request(path: str, query_string: bytes) -> RecommendRequest | None:
    """The request, if ``path`` is the route and every parameter is valid; None: let FastAPI decide."""
    parts = path.split("/")
    if len(parts) != 5 or parts[:3] != ["", "v1", "users"] or parts[4] != "recommendations":
        return None
    user_id = parts[3]
    if not 1 <= len(user_id) <= MAX_USER_ID:
        return None
    params: dict[str, list[str]] = {}
    for name, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):  # as Starlette does
        params.setdefault(name, []).append(value)
    k, exclude_seen = 10, True
    if "k" in params:
        if len(params["k"]) != 1 or not _K.fullmatch(params["k"][0]) or not 1 <= int(params["k"][0]) <= MAX_K:
            return None
        k = int(params["k"][0])
    if "exclude_seen" in params:
        word = params["exclude_seen"][0].lower() if len(params["exclude_seen"]) == 1 else ""
        if word not in _TRUE | _FALSE:
            return None
        exclude_seen = word in _TRUE
    try:
        categories = _CATEGORIES.validate_python(params.get("category", []))
        exclude = _EXCLUDE.validate_python(params.get("exclude", []))
    except ValidationError:
        return None
    return RecommendRequest(user_id, k, exclude_seen, tuple(categories) or None, tuple(exclude))


class FastRecommendations:
    """ASGI middleware: answers valid recommendation requests from read keys itself (see module doc).

    ``runtime`` is the service's ``Runtime`` (its keys and batcher); ``route`` the FastAPI route object,
    put in the scope so that the request timer labels these requests as it labels the others."""

    def __init__(self, app: ASGIApp, runtime: Any, route: Any) -> None:
        self.app, self.runtime, self.route = app, runtime, route

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = None
        if scope["type"] == "http" and scope["method"] == "GET" and not scope.get("root_path"):
            request = parse_request(scope["path"], scope["query_string"])
        if request is None or not self._may_read(scope):
            await self.app(scope, receive, send)
            return
        scope["route"] = self.route
        seq, found = await self.runtime.batcher.recommend(request)
        body = render(recommendations_body(request.user_id, seq, found))
        headers = [(b"content-length", str(len(body)).encode()), (b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _may_read(self, scope: Scope) -> bool:
        key = next((value for name, value in scope["headers"] if name == _KEY_HEADER), None)
        caller = self.runtime.keys.identify(key.decode("latin-1")) if key is not None else None
        return caller is not None and KeyScope.READ in caller.scopes
