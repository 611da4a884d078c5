"""Request and response bodies of the HTTP API (v1). Requests refuse unknown fields, so a typo is a
422 that names it rather than a silently ignored value."""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

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


Identifier = Annotated[str, Field(min_length=1, max_length=256), AfterValidator(_identifier)]
Query = Annotated[str, Field(min_length=1, max_length=1_000), AfterValidator(_identifier)]
Text = Annotated[str, Field(max_length=10_000), AfterValidator(_clean_text)]
Category = Annotated[str, Field(min_length=1, max_length=100), AfterValidator(_identifier)]


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EventIn(Request):
    """One thing a user did. Search events carry ``query`` and no item; all others an ``item_id``."""

    user_id: Identifier
    kind: EventKind
    item_id: Identifier | None = None
    query: Query | None = None
    timestamp: float | None = Field(
        None, ge=0.0, le=MAX_TIMESTAMP, allow_inf_nan=False, description="seconds since the epoch (default: now)"
    )
    value: float | None = Field(None, allow_inf_nan=False, description="e.g. a rating")

    @model_validator(mode="after")
    def _item_or_query(self) -> Self:
        if self.kind is EventKind.SEARCH and (self.query is None or self.item_id is not None):
            raise ValueError("a search event needs 'query' and no 'item_id'")
        if self.kind is not EventKind.SEARCH and (self.item_id is None or self.query is not None):
            raise ValueError(f"a {self.kind.value} event needs 'item_id' and no 'query'")
        return self

    def record(self, received_at: float) -> Event:
        stamp = self.timestamp if self.timestamp is not None else received_at
        return Event(self.user_id, self.item_id, self.query, self.kind, stamp, self.value)


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


class Health(BaseModel):
    status: str


class FieldProblem(BaseModel):
    field: str = Field(description="e.g. 'events[3].item_id', 'k', 'X-API-Key'")
    problem: str


class ErrorBody(BaseModel):
    """Every 4xx (and, should one ever happen, 5xx) answer has this shape."""

    detail: str
    errors: list[FieldProblem] = []
