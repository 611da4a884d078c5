"""The two hottest routes, ``GET /v1/users/{user_id}/recommendations`` and ``POST /v1/events``,
answered below the framework.

FastAPI spends about a quarter of a millisecond of the event loop on each request: resolving
dependencies, building parameter models, wrapping the response. On two cores that time is taken
from the engine thread, which shares the interpreter lock with the loop. This ASGI middleware
answers the requests it can check completely itself, by the routes' own rules: the key has the
route's scope, every parameter is well-formed, the event validates and is accepted. Everything else
goes on to FastAPI unchanged (an event's body is handed on as it came): a missing key, a bad value, a
repeated scalar parameter, a refused event (nothing of which was applied). Refusals therefore get the
usual 4xx bodies, and the routes, their parameters and their OpenAPI entries stay declared in
``routes/``. A test checks that both ways give byte-identical answers.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any
from urllib.parse import parse_qsl

from pydantic import Field, TypeAdapter, ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from freshrec.engine.engine import Recommendation, RecommendRequest
from freshrec.service.errors import ApiError
from freshrec.service.routes.events import ingest_events
from freshrec.service.schemas import Category, EventIn, Identifier
from freshrec.service.security import HEADER
from freshrec.service.settings import Scope as KeyScope

ROUTE = "/v1/users/{user_id}/recommendations"
MAX_K, MAX_CATEGORIES, MAX_EXCLUDE, MAX_USER_ID = 100, 50, 200, 256  # as declared on the route
_K = re.compile(r"[0-9]{1,3}")
_TRUE, _FALSE = {"1", "on", "t", "true", "y", "yes"}, {"0", "off", "f", "false", "n", "no"}  # pydantic's words
_CATEGORIES = TypeAdapter(Annotated[list[Category], Field(max_length=MAX_CATEGORIES)])
_EXCLUDE = TypeAdapter(Annotated[list[Identifier], Field(max_length=MAX_EXCLUDE)])
_KEY_HEADER = HEADER.lower().encode("latin-1")
_EVENT: TypeAdapter[Any] = TypeAdapter(EventIn)
EVENTS = "/v1/events"


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
    try:  # (the common request has neither: no validation then)
        categories = _CATEGORIES.validate_python(params["category"]) if "category" in params else []
        exclude = _EXCLUDE.validate_python(params["exclude"]) if "exclude" in params else []
    except ValidationError:
        return None
    return RecommendRequest(user_id, k, exclude_seen, tuple(categories) or None, tuple(exclude))


class FastPath:
    """ASGI middleware: answers valid recommendation requests from read keys, and valid single events from
    write keys, itself (see the module doc).

    ``runtime`` is the service's ``Runtime`` (its settings, keys and engine worker); ``routes`` maps each
    path template to its FastAPI route object, put in the scope so that the request timer labels these
    requests as it labels the others."""

    def __init__(self, app: ASGIApp, runtime: Any, routes: dict[str, Any]) -> None:
        self.app, self.runtime, self.routes = app, runtime, routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("root_path"):
            await self.app(scope, receive, send)
        elif scope["method"] == "GET":
            await self._recommend(scope, receive, send)
        elif scope["method"] == "POST" and scope["path"] == EVENTS:
            await self._event(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _recommend(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = parse_request(scope["path"], scope["query_string"])
        if request is None or not self._may(scope, KeyScope.READ):
            await self.app(scope, receive, send)
            return
        scope["route"] = self.routes[ROUTE]
        seq, found = await self.runtime.batcher.recommend(request)
        await _send_json(send, recommendations_body(request.user_id, seq, found))

    async def _event(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Read the body; if it is not an event this path accepts, hand it on untouched."""
        messages: list[Message] = []
        size, limit = 0, self.runtime.settings.max_body_bytes
        while size <= limit:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if not message.get("more_body", False):
                accepted = await self._accept(scope, b"".join(m.get("body", b"") for m in messages))
                if accepted is not None:
                    scope["route"] = self.routes[EVENTS]
                    await _send_json(send, accepted)
                    return
                break

        async def replay() -> Message:  # what was read, then the rest of the stream
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)

    async def _accept(self, scope: Scope, body: bytes) -> dict[str, Any] | None:
        """The answer to a valid event from a write key, once ingested; None (nothing applied) otherwise."""
        content_type = next((value for name, value in scope["headers"] if name == b"content-type"), b"")
        content_type = content_type.split(b";")[0].strip()  # the first, as Starlette reads it
        if content_type != b"application/json" or not self._may(scope, KeyScope.WRITE):
            return None
        try:
            event = _EVENT.validate_python(json.loads(body))  # as FastAPI does: JSON, then the model
            accepted = await ingest_events(self.runtime, [event], prefix=None)
        except (ValueError, RecursionError, ValidationError, ApiError):  # malformed or refused: the route says how
            return None
        return accepted.model_dump(mode="json")

    def _may(self, scope: Scope, needed: KeyScope) -> bool:
        key = next((value for name, value in scope["headers"] if name == _KEY_HEADER), None)
        caller = self.runtime.keys.identify(key.decode("latin-1")) if key is not None else None
        return caller is not None and needed in caller.scopes


async def _send_json(send: Send, content: dict[str, Any]) -> None:
    body = render(content)
    headers = [(b"content-length", str(len(body)).encode()), (b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})
