"""A Python client for the HTTP API: typed calls, and refusals raised with the server's field problems.

>>> from freshrec.service.client import Client
>>> Client("http://127.0.0.1:8000", api_key="my-key").base_url  # nothing is sent until a call
'http://127.0.0.1:8000'
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import httpx

from freshrec.data.records import Event, Item


@dataclass(frozen=True)
class Scored:
    """One recommended or similar item."""

    item_id: str
    score: float
    reason: str


class ApiError(Exception):
    """The server refused the request: ``status``, ``detail`` and ``errors`` as (field, problem) pairs."""

    def __init__(self, status: int, detail: str, errors: list[tuple[str, str]]) -> None:
        self.status, self.detail, self.errors = status, detail, errors
        super().__init__(f"{status} {detail}" + "".join(f"; {f}: {p}" for f, p in errors))


def _event(event: Event) -> dict[str, Any]:
    body: dict[str, Any] = {"user_id": event.user_id, "kind": event.kind.value}
    for name in ("item_id", "query", "value"):
        if getattr(event, name) is not None:
            body[name] = getattr(event, name)
    if event.timestamp:  # 0.0 (the record's default): let the server stamp it
        body["timestamp"] = event.timestamp
    return body


class Client:
    """Wraps the v1 API. One connection pool; use as a context manager or call ``close``."""

    def __init__(
        self, base_url: str, api_key: str, timeout: float = 10.0, transport: httpx.BaseTransport | None = None
    ):
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.base_url, headers={"X-API-Key": api_key}, timeout=timeout, transport=transport
        )

    def __enter__(self) -> Client:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._http.request(method, path, **kwargs)
        if response.status_code >= 400:
            try:
                body = response.json()
                errors = [(e["field"], e["problem"]) for e in body.get("errors", [])]
                raise ApiError(response.status_code, str(body.get("detail", response.reason_phrase)), errors)
            except (ValueError, KeyError, AttributeError):
                raise ApiError(response.status_code, response.text[:200], []) from None
        return response.json()

    # ----------------------------------------------------------- write scope
    def send_event(self, event: Event) -> int:
        """Send one event; returns its log sequence number (it is durable and in every later answer)."""
        return int(self._call("POST", "/v1/events", json=_event(event))["seq"])

    def send_events(self, events: Sequence[Event]) -> int:
        """Send a batch, accepted whole or refused whole (ApiError names every refused entry)."""
        return int(self._call("POST", "/v1/events/batch", json={"events": [_event(e) for e in events]})["seq"])

    # ------------------------------------------------------------ read scope
    def recommend(
        self,
        user_id: str,
        k: int = 10,
        *,
        categories: Iterable[str] | None = None,
        exclude: Iterable[str] = (),
        exclude_seen: bool = True,
    ) -> list[Scored]:
        params: dict[str, Any] = {"k": k, "exclude_seen": exclude_seen, "exclude": list(exclude)}
        if categories is not None:
            params["category"] = list(categories)
        body = self._call("GET", f"/v1/users/{_segment(user_id)}/recommendations", params=params)
        return [Scored(**r) for r in body["items"]]

    def similar_items(self, item_id: str, k: int = 10) -> list[Scored]:
        body = self._call("GET", f"/v1/items/{_segment(item_id)}/similar", params={"k": k})
        return [Scored(**r) for r in body["items"]]

    # ----------------------------------------------------------- admin scope
    def put_items(self, items: Sequence[Item]) -> int:
        """Add or update items; they are recommendable when this returns."""
        body = [{"item_id": i.item_id, "text": i.text, "categories": list(i.categories)} for i in items]
        return int(self._call("PUT", "/v1/items", json={"items": body})["seq"])

    def remove_items(self, item_ids: Sequence[str]) -> int:
        return int(self._call("POST", "/v1/items/remove", json={"item_ids": list(item_ids)})["seq"])

    def forget_user(self, user_id: str) -> int:
        """Delete everything kept about the user; returns how many of their events were deleted."""
        return int(self._call("DELETE", f"/v1/users/{_segment(user_id)}")["events_deleted"])

    # ------------------------------------------------------------- no scope
    def ready(self) -> bool:
        try:
            return self._http.get("/health/ready").status_code == 200
        except httpx.TransportError:
            return False


def _segment(value: str) -> str:
    """An id as one path segment ('/' and the like escaped)."""
    from urllib.parse import quote

    return quote(value, safe="")
