"""Request and response bodies of the HTTP API (v1). Requests refuse unknown fields, so a typo is a
422 that names it rather than a silently ignored value."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from freshrec.data.records import Event, EventKind, Item

MAX_TIMESTAMP = 1e11  # seconds since the epoch (year 5138): anything larger is a unit mistake (ms, µs)


def _clean_text(value: str) -> str:
    """JSON allows lone UTF-16 surrogates; nothing downstream (the log, the encoder, responses) can hold them."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text (no lone surrogates)") from None
    return value


def _identifier(value: str) -> str:
    _clean_text(value)
    if not value.strip():
        raise ValueError("must contain a non-space character")
    return value


# "contains a character that is not white space": spelled out so that JSON Schema (ECMA) regexes, the
# server's (Rust) regexes and Python's str.strip() agree on what white space is
NOT_ONLY_SPACE = (
    "[^\\t\\n\\v\\f\\r \\x1c-\\x1f\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff]"
)

Identifier = Annotated[str, Field(min_length=1, max_length=256, pattern=NOT_ONLY_SPACE), AfterValidator(_identifier)]
Query = Annotated[str, Field(min_length=1, max_length=1_000, pattern=NOT_ONLY_SPACE), AfterValidator(_identifier)]
Text = Annotated[str, Field(max_length=10_000), AfterValidator(_clean_text)]
Category = Annotated[str, Field(min_length=1, max_length=100, pattern=NOT_ONLY_SPACE), AfterValidator(_identifier)]


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _EventFields(Request):
    user_id: Identifier
    timestamp: float | None = Field(
        None,
        ge=0.0,
        le=MAX_TIMESTAMP,
        allow_inf_nan=False,
        strict=True,
        description="seconds since the epoch (default: now)",
    )
    value: float | None = Field(None, allow_inf_nan=False, strict=True, description="e.g. a rating")


class ItemEvent(_EventFields):
    """A user did something with an item (an impression: it was shown to them)."""

    kind: Literal[
        EventKind.VIEW, EventKind.CLICK, EventKind.CART, EventKind.PURCHASE, EventKind.RATING, EventKind.IMPRESSION
    ]
    item_id: Identifier

    def record(self, received_at: float) -> Event:
        stamp = self.timestamp if self.timestamp is not None else received_at
        return Event(self.user_id, item_id=self.item_id, kind=self.kind, timestamp=stamp, value=self.value)


class SearchEvent(_EventFields):
    """A user searched: the query text pulls their next lists towards it."""

    kind: Literal[EventKind.SEARCH]
    query: Query

    def record(self, received_at: float) -> Event:
        stamp = self.timestamp if self.timestamp is not None else received_at
        return Event(self.user_id, query=self.query, kind=self.kind, timestamp=stamp, value=self.value)


EventIn = Annotated[ItemEvent | SearchEvent, Field(discriminator="kind")]
EVENT_TAGS = frozenset(kind.value for kind in EventKind)  # they appear in validation error locations


class EventBatch(Request):
    events: list[EventIn] = Field(min_length=1, description="accepted whole or refused whole")


class ItemIn(Request):
    item_id: Identifier
    text: Text = Field("", description="title and description: the text encoder reads it")
    categories: list[Category] = Field([], max_length=100)

    def record(self) -> Item:
        return Item(self.item_id, self.text, tuple(dict.fromkeys(self.categories)))


class ItemBatch(Request):
    items: list[ItemIn] = Field(min_length=1, description="added, or updated when the id exists")


class ItemIds(Request):
    item_ids: list[Identifier] = Field(min_length=1, description="all must exist, else none is removed")


class Accepted(BaseModel):
    accepted: int = Field(description="how many entries were applied (all of the request's)")
    seq: int = Field(description="log sequence number of the last one: durable, and in every later answer")


class Scored(BaseModel):
    item_id: str
    score: float
    reason: str


class Recommendations(BaseModel):
    user_id: str
    seq: int = Field(description="the answer reflects every change up to this log sequence number")
    items: list[Scored]


class Similar(BaseModel):
    item_id: str
    items: list[Scored]


class Forgotten(BaseModel):
    user_id: str
    events_deleted: int


class ModelVersionOut(BaseModel):
    version: int
    created_at: float = Field(description="wall-clock seconds since the epoch")
    events_seen: int = Field(description="log sequence number of the newest entry it learned from")
    stream_time: float = Field(description="timestamp of the newest event it learned from")
    metrics: dict[str, float] = Field(description="validation figures on events held out from its update")
    parent: int | None = Field(description="the version that served when it was published")
    note: str
    items: int = Field(description="items with a learned ID embedding")


class ModelVersions(BaseModel):
    active: int = Field(description="the serving version (0: the checkpoint, before any version was published)")
    versions: list[ModelVersionOut] = Field(description="stored versions, oldest first")


class Health(BaseModel):
    status: str


class FieldProblem(BaseModel):
    field: str = Field(description="e.g. 'events[3].item_id', 'k', 'X-API-Key'")
    problem: str


class ErrorBody(BaseModel):
    """Every 4xx (and, should one ever happen, 5xx) answer has this shape."""

    detail: str
    errors: list[FieldProblem] = []
