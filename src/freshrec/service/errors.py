"""Every refusal is a 4xx whose body names the field and the problem; nothing a client sends is a 500.

Validation errors (FastAPI's 422), the engine's ``RecordError`` / ``KeyError`` / ``ValueError`` and HTTP
errors all become one :class:`~freshrec.service.schemas.ErrorBody`. Oversized bodies are refused
(413) before any handler reads them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from freshrec.data.errors import RecordError
from freshrec.service.schemas import EVENT_TAGS, ErrorBody, FieldProblem

log = logging.getLogger("freshrec.service")


class ApiError(Exception):
    """A refusal raised by a route: status, what went wrong, and which fields."""

    def __init__(
        self, status: int, detail: str, errors: Sequence[FieldProblem] = (), headers: dict[str, str] | None = None
    ):
        super().__init__(detail)
        self.status, self.detail, self.errors, self.headers = status, detail, list(errors), headers


def error_response(
    status: int, detail: str, errors: Sequence[FieldProblem] = (), headers: Mapping[str, str] | None = None
) -> JSONResponse:
    body = ErrorBody(detail=detail, errors=list(errors))
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


def field_path(loc: Sequence[Any]) -> str:
    """("body", "events", 3, "click", "item_id") -> "events[3].item_id"; ("query", "k") -> "k".

    The event kind in a location is the union's tag that pydantic adds, not a field: it is skipped.

    >>> field_path(("body", "events", 3, "click", "item_id")), field_path(("query", "k")), field_path(("body",))
    ('events[3].item_id', 'k', 'body')
    """
    parts = list(loc[1:]) if len(loc) > 1 and loc[0] in ("body", "query", "path", "header") else list(loc)
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part not in EVENT_TAGS and not str(part).startswith(("function-after", "function-before")):
            out += f".{part}" if out else str(part)
    return out or "body"


async def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = []
    for error in exc.errors():
        message, loc = str(error.get("msg", "invalid")), error.get("loc", ("body",))
        if error.get("type") == "json_invalid":  # loc is ("body", character position)
            reason = error.get("ctx", {}).get("error", "syntax error")
            message, loc = f"not valid JSON: {reason} at character {loc[-1]}", ("body",)
        elif error.get("type") in ("union_tag_invalid", "union_tag_not_found"):  # the event kind
            loc = (*loc, "kind")
        problems.append(FieldProblem(field=field_path(loc), problem=message))
    return error_response(422, "the request is malformed; nothing was applied", problems)


async def _record(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RecordError)
    return error_response(
        422, f"{exc.field}: {exc.reason}; nothing was applied", [FieldProblem(field=exc.field, problem=exc.reason)]
    )


async def _api(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.detail, exc.errors, exc.headers)


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 400:  # FastAPI could not decode the body (e.g. not UTF-8): malformed, like bad JSON
        return error_response(422, "the request is malformed; nothing was applied",
                              [FieldProblem(field="body", problem=str(exc.detail))])  # fmt: skip
    return error_response(exc.status_code, str(exc.detail), headers=exc.headers)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error on %s %s", request.method, request.scope.get("route", request.url.path))
    return error_response(500, "internal error (logged); nothing partial was acknowledged")


def install_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(RecordError, _record)
    app.add_exception_handler(ApiError, _api)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(Exception, _unexpected)


class BodyLimit:
    """ASGI middleware: a body over ``max_bytes`` is refused with 413 before any route sees it.

    The body is read here (it is at most ``max_bytes``) and handed on, so a client that sends more than
    its Content-Length promised, or a chunked body with no length, is caught too."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._refuse(scope, receive, send)
            return
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break  # the client went away: let the app see it
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            if not message.get("more_body", False):
                break
        body, replayed = b"".join(chunks), False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        problem = FieldProblem(field="body", problem=f"larger than {self.max_bytes} bytes")
        await error_response(413, "request body too large; nothing was applied", [problem])(scope, receive, send)
