"""Event and Item validation, EventKind parsing, and stable time ordering of Interactions."""

from __future__ import annotations

import math

import numpy as np
import pytest

from freshrec.simulators.data.errors import DataFormatError, LoadReport, RecordError
from freshrec.simulators.data.records import CODE_KINDS, KIND_CODES, Event, EventKind, Interactions, Item


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"user_id": "", "item_id": "i"}, "user_id"),
        ({"user_id": "   ", "item_id": "i"}, "user_id"),
        ({"user_id": 7, "item_id": "i"}, "user_id"),
        ({"user_id": "u", "kind": EventKind.SEARCH}, "query"),
        ({"user_id": "u", "kind": EventKind.SEARCH, "query": "  ", "item_id": "i"}, "query"),
        ({"user_id": "u", "kind": EventKind.CLICK}, "item_id"),
        ({"user_id": "u", "kind": EventKind.CLICK, "item_id": " "}, "item_id"),
        ({"user_id": "u", "item_id": "i", "timestamp": math.nan}, "timestamp"),
        ({"user_id": "u", "item_id": "i", "timestamp": math.inf}, "timestamp"),
        ({"user_id": "u", "item_id": "i", "timestamp": True}, "timestamp"),
        ({"user_id": "u", "item_id": "i", "timestamp": "1700000000"}, "timestamp"),
        ({"user_id": "u", "item_id": "i", "value": math.nan}, "value"),
        ({"user_id": "u", "item_id": "i", "kind": "like"}, "kind"),
    ],
)
def test_invalid_event_raises_record_error_naming_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(RecordError) as caught:
        Event(**kwargs)  # type: ignore[arg-type]
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}=")
    assert isinstance(caught.value, ValueError)


def test_valid_events() -> None:
    search = Event("u1", query="space opera", kind=EventKind.SEARCH, timestamp=5)
    assert (search.item_id, search.query, search.timestamp) == (None, "space opera", 5)
    click = Event("u1", item_id="42", kind=" Click ", timestamp=1.5, value=2.0)  # type: ignore[arg-type]
    assert click.kind is EventKind.CLICK
    assert Event("u1", item_id="42").kind is EventKind.VIEW


def test_event_kind_parse() -> None:
    assert EventKind.parse("PURCHASE ") is EventKind.PURCHASE
    with pytest.raises(RecordError) as caught:
        EventKind.parse("like")
    assert (caught.value.field, caught.value.value) == ("kind", "like")
    assert "allowed: view, click, cart, purchase, rating, search, impression" in caught.value.reason


def test_kind_codes_round_trip() -> None:
    assert [CODE_KINDS[KIND_CODES[k]] for k in EventKind] == list(EventKind)
    assert sorted(KIND_CODES.values()) == list(range(len(EventKind)))


@pytest.mark.parametrize("item_id", ["", "  ", None, 42])
def test_invalid_item_raises(item_id: object) -> None:
    with pytest.raises(RecordError) as caught:
        Item(item_id)  # type: ignore[arg-type]
    assert caught.value.field == "item_id"


def test_item_defaults() -> None:
    item = Item("7")
    assert (item.text, item.categories, item.added_at) == ("", (), None)


def test_data_format_error_and_report() -> None:
    error = DataFormatError("/x/y/events.csv", 12, "timestamp", "soon", "not a number")
    assert str(error) == "/x/y/events.csv:12: field 'timestamp' = 'soon': not a number"
    report = LoadReport(rows_read=3, rows_kept=1)
    report.record(error)
    report.record(DataFormatError("/x/y/events.csv", 13, "timestamp", "later", "not a number"), max_examples=1)
    assert report.rows_skipped == 2
    assert report.skipped == {"events.csv: timestamp: not a number": 2}
    assert report.examples == [str(error)]
    assert report.describe() == "read 3 rows, skipped 2 (2 × events.csv: timestamp: not a number)"


def table(users: list[int], items: list[int], times: list[float], kinds: list[EventKind] | None = None) -> Interactions:
    kinds = kinds or [EventKind.VIEW] * len(users)
    return Interactions(
        users=np.array(users, dtype=np.int64),
        items=np.array(items, dtype=np.int64),
        timestamps=np.array(times, dtype=np.float64),
        kinds=np.array([KIND_CODES[k] for k in kinds], dtype=np.uint8),
        values=np.arange(len(users), dtype=np.float32),
        user_ids=[f"u{u}" for u in range(max(users) + 1)],
        item_ids=[f"i{i}" for i in range(max(items) + 1)],
        queries=[(0, 5.0, "b"), (1, 1.0, "a"), (0, 5.0, "c")],
    )


def test_time_ordered_is_stable_for_ties() -> None:
    original = table([0, 1, 2, 0, 1], [0, 1, 2, 3, 4], [5.0, 1.0, 5.0, 1.0, 3.0])
    ordered = original.time_ordered()
    assert ordered.items.tolist() == [1, 3, 4, 0, 2]  # ties at 1.0 and 5.0 keep file order
    assert ordered.users.tolist() == [1, 0, 1, 0, 2]
    assert ordered.timestamps.tolist() == [1.0, 1.0, 3.0, 5.0, 5.0]
    assert ordered.values.tolist() == [1.0, 3.0, 4.0, 0.0, 2.0]  # every column moves together
    assert ordered.queries == [(1, 1.0, "a"), (0, 5.0, "b"), (0, 5.0, "c")]
    assert ordered.user_ids == original.user_ids and ordered.item_ids == original.item_ids
    assert original.items.tolist() == [0, 1, 2, 3, 4]  # the original is untouched


def test_time_ordered_stable_on_many_ties() -> None:
    n = 500  # large enough that an unstable quicksort would shuffle ties
    times = np.repeat([3.0, 1.0, 2.0], n)
    ordered = table(list(np.zeros(3 * n, dtype=int)), list(range(3 * n)), list(times)).time_ordered()
    expected = [*range(n, 2 * n), *range(2 * n, 3 * n), *range(n)]
    assert ordered.items.tolist() == expected


def test_interactions_counts_and_events() -> None:
    t = table([0, 1], [0, 0], [1.0, 2.0], [EventKind.CLICK, EventKind.RATING])
    assert (len(t), t.num_users, t.num_items) == (2, 2, 1)
    events = t.events()
    assert [(e.user_id, e.item_id, e.kind, e.timestamp, e.value) for e in events[:2]] == [
        ("u0", "i0", EventKind.CLICK, 1.0, 0.0),
        ("u1", "i0", EventKind.RATING, 2.0, 1.0),
    ]
    assert [(e.user_id, e.query, e.kind) for e in events[2:]] == [
        ("u0", "b", EventKind.SEARCH),
        ("u1", "a", EventKind.SEARCH),
        ("u0", "c", EventKind.SEARCH),
    ]
