"""CSV and Parquet event files with a column mapping, ISO-8601 times, kinds, searches, items."""

from __future__ import annotations

import math
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from freshrec.simulators.data.errors import DataFormatError, RecordError
from freshrec.simulators.data.records import KIND_CODES, EventKind
from freshrec.simulators.data.tabular import ColumnMapping, load_tabular, parse_timestamp

JAN1 = 1704067200.0  # 2024-01-01T00:00:00Z
MAPPING = ColumnMapping(user_id="uid", item_id="sku", timestamp="ts", kind="action", value="score", query="q")
HEADER = "uid,sku,ts,action,score,q"
ROWS = [
    "u1,i1,2024-01-01T00:00:00Z,click,,",
    "u2,i2,1704067260,purchase,5,",
    "u1,,2024-01-01T00:02:00,search,,red running shoes",
    'u1,i2,2024-01-01T01:00:00+01:00,View,,"ignored, for non-search rows"',
    "u3,i1,2024-01-02,impression,0.5,",
]


def write_csv(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-01-01T00:00:00Z", JAN1),
        ("2024-01-01T00:00:00", JAN1),  # naive means UTC
        ("2024-01-01 00:00:00+00:00", JAN1),
        ("2024-01-01T02:00:00+02:00", JAN1),
        ("2024-01-01", JAN1),
        ("2024-01-01T00:00:01.5Z", JAN1 + 1.5),
        ("1704067200", JAN1),
        (" 12.25 ", 12.25),
    ],
)
def test_parse_timestamp(text: str, expected: float) -> None:
    assert parse_timestamp(Path("f.csv"), 2, text) == expected


@pytest.mark.parametrize("text", ["yesterday", "", "nan", "2024-13-01", "inf"])
def test_parse_timestamp_rejects(text: str) -> None:
    with pytest.raises(DataFormatError) as caught:
        parse_timestamp(Path("f.csv"), 7, text)
    assert (caught.value.line, caught.value.field) == (7, "timestamp")
    assert caught.value.reason == "neither a number nor an ISO-8601 time"


def test_column_mapping_parse() -> None:
    assert ColumnMapping.parse("user_id=uid, item_id=sku,timestamp=ts") == ColumnMapping("uid", "sku", "ts")
    assert ColumnMapping.parse("kind=action,query=q").kind == "action"
    for bad in ("user=uid", "user_id", "default_kind=click"):
        with pytest.raises(RecordError) as caught:
            ColumnMapping.parse(bad)
        assert caught.value.field == "columns"


def test_csv_with_mapping_kinds_values_and_search(tmp_path: Path) -> None:
    dataset, report = load_tabular(write_csv(tmp_path / "events.csv", [HEADER, *ROWS]), MAPPING)
    table = dataset.interactions
    assert dataset.name == "events"
    assert table.user_ids == ["u1", "u2", "u3"]
    assert table.item_ids == ["i1", "i2"]
    assert table.users.tolist() == [0, 1, 0, 2]
    assert table.items.tolist() == [0, 1, 1, 0]
    assert table.timestamps.tolist() == [JAN1, JAN1 + 60, JAN1, JAN1 + 86400]
    kinds = [EventKind.CLICK, EventKind.PURCHASE, EventKind.VIEW, EventKind.IMPRESSION]
    assert table.kinds.tolist() == [KIND_CODES[k] for k in kinds]
    values = table.values.tolist()
    assert math.isnan(values[0]) and math.isnan(values[2])
    assert (values[1], values[3]) == (5.0, 0.5)
    assert table.queries == [(0, JAN1 + 120, "red running shoes")]
    assert (report.rows_read, report.rows_kept, report.rows_skipped) == (5, 5, 0)
    events = table.events()
    assert events[-1].kind is EventKind.SEARCH and events[-1].query == "red running shoes"


def test_csv_default_mapping_and_default_kind(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "plain.csv", ["user_id,item_id,timestamp", "a,x,1", "b,y,2"])
    dataset, _ = load_tabular(path, ColumnMapping(default_kind=EventKind.CART))
    assert dataset.interactions.kinds.tolist() == [KIND_CODES[EventKind.CART]] * 2
    dataset, _ = load_tabular(path)
    assert dataset.interactions.kinds.tolist() == [KIND_CODES[EventKind.VIEW]] * 2
    assert dataset.interactions.timestamps.tolist() == [1.0, 2.0]


def test_items_csv_text_categories_and_added_at(tmp_path: Path) -> None:
    events = write_csv(tmp_path / "ev.csv", [HEADER, *ROWS])
    items = write_csv(
        tmp_path / "items.csv",
        [
            "item_id,text,categories,added_at",
            'i1,"Red running shoe, size 42",Shoes|Sport| ,2024-01-01T00:00:00Z',
            "i2,  Blue hat  ,,",
        ],
    )
    dataset, report = load_tabular(events, MAPPING, items)
    assert dataset.items["i1"].text == "Red running shoe, size 42"
    assert dataset.items["i1"].categories == ("Shoes", "Sport")
    assert dataset.items["i1"].added_at == JAN1
    assert dataset.items["i2"].text == "Blue hat"
    assert dataset.items["i2"].categories == ()
    assert dataset.items["i2"].added_at is None
    assert (report.rows_read, report.rows_kept) == (7, 7)


def test_parquet_with_mapping_and_typed_columns(tmp_path: Path) -> None:
    table = pa.table(
        {
            "uid": ["u1", "u2", "u1"],
            "sku": ["i1", "i2", None],
            "ts": pa.array(
                [datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 1, 0, 1, tzinfo=UTC), datetime(2024, 1, 2)],
                type=pa.timestamp("s", tz="UTC"),
            ),
            "action": ["click", "purchase", "search"],
            "score": pa.array([None, 4.0, None], type=pa.float64()),
            "q": [None, None, "blue hat"],
        }
    )
    path = tmp_path / "events.parquet"
    pq.write_table(table, path)
    dataset, report = load_tabular(path, MAPPING)
    inter = dataset.interactions
    assert dataset.name == "events"
    assert inter.user_ids == ["u1", "u2"]
    assert inter.item_ids == ["i1", "i2"]
    assert inter.timestamps.tolist() == [JAN1, JAN1 + 60]
    assert inter.kinds.tolist() == [KIND_CODES[EventKind.CLICK], KIND_CODES[EventKind.PURCHASE]]
    assert inter.values.tolist()[1] == 4.0 and math.isnan(inter.values.tolist()[0])
    assert inter.queries == [(0, JAN1 + 86400, "blue hat")]
    assert (report.rows_read, report.rows_kept) == (3, 3)


def test_parquet_naive_timestamp_strings_and_int_seconds(tmp_path: Path) -> None:
    path = tmp_path / "p.pq"
    pq.write_table(
        pa.table({"user_id": ["a", "b"], "item_id": [1, 2], "timestamp": ["2024-01-01T00:00:00", "10"]}), path
    )
    dataset, _ = load_tabular(path)
    assert dataset.interactions.item_ids == ["1", "2"]
    assert dataset.interactions.timestamps.tolist() == [JAN1, 10.0]


@pytest.mark.parametrize(
    ("row", "field", "reason"),
    [
        ("u9,i9,yesterday,click,,", "timestamp", "neither a number nor an ISO-8601 time"),
        ("u9,i9", "timestamp", "neither a number nor an ISO-8601 time"),  # short row: missing fields
        (",i9,1,click,,", "user_id", "empty id"),
        ("u9, ,1,click,,", "item_id", "empty id"),
        (
            "u9,i9,1,like,,",
            "kind",
            "unknown event kind (allowed: view, click, cart, purchase, rating, search, impression)",
        ),
        ("u9,,1,search,,  ", "query", "a search row needs query text"),
        ("u9,i9,1,click,lots,", "value", "not a number"),
    ],
)
def test_bad_csv_row_raises_with_line_and_field(tmp_path: Path, row: str, field: str, reason: str) -> None:
    # header is line 1, a blank line 3 still counts: the bad row is on line 5
    path = write_csv(tmp_path / "bad.csv", [HEADER, ROWS[0], "", ROWS[1], row, ROWS[2]])
    with pytest.raises(DataFormatError) as caught:
        load_tabular(path, MAPPING)
    error = caught.value
    assert Path(error.path) == path
    assert (error.line, error.field, error.reason) == (5, field, reason)
    assert "bad.csv:5:" in str(error) and f"field {field!r}" in str(error)


def test_missing_mapped_column_is_named(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "nocol.csv", ["uid,sku,time", "u1,i1,1"])
    with pytest.raises(DataFormatError) as caught:
        load_tabular(path, ColumnMapping(user_id="uid", item_id="sku", timestamp="ts"))
    assert (caught.value.line, caught.value.field, caught.value.reason) == (2, "timestamp", "column 'ts' not in file")


def test_bad_parquet_row_reports_row_number_after_header(tmp_path: Path) -> None:
    path = tmp_path / "bad.parquet"
    pq.write_table(pa.table({"user_id": ["a", None, "c"], "item_id": ["x", "y", "z"], "timestamp": [1, 2, 3]}), path)
    with pytest.raises(DataFormatError) as caught:
        load_tabular(path)
    assert (caught.value.line, caught.value.field, caught.value.value) == (3, "user_id", "")


def test_bad_items_row_raises(tmp_path: Path) -> None:
    events = write_csv(tmp_path / "ev.csv", [HEADER, *ROWS])
    items = write_csv(tmp_path / "items.csv", ["item_id,text,added_at", "i1,ok,", "i2,late,someday"])
    with pytest.raises(DataFormatError) as caught:
        load_tabular(events, MAPPING, items)
    assert Path(caught.value.path) == items
    assert (caught.value.line, caught.value.field) == (3, "timestamp")


def test_skip_counts_csv_and_items_exactly(tmp_path: Path) -> None:
    rows = [ROWS[0], "u9,i9,yesterday,click,,", ROWS[1], "u9,i9,1,like,,", "u9,,1,search,,", ROWS[2], ",i1,1,view,,"]
    events = write_csv(tmp_path / "ev.csv", [HEADER, *rows, ROWS[3]])
    items = write_csv(tmp_path / "it.csv", ["item_id,text", "i1,shoe", ",nameless", "i2,hat"])
    dataset, report = load_tabular(events, MAPPING, items, on_bad_rows="skip")
    assert (report.rows_read, report.rows_kept, report.rows_skipped) == (11, 6, 5)
    assert report.skipped == Counter(
        {
            "ev.csv: timestamp: neither a number nor an ISO-8601 time": 1,
            "ev.csv: kind: unknown event kind (allowed: view, click, cart, purchase, rating, search, impression)": 1,
            "ev.csv: query: a search row needs query text": 1,
            "ev.csv: user_id: empty id": 1,
            "it.csv: item_id: empty id": 1,
        }
    )
    table = dataset.interactions
    assert table.user_ids == ["u1", "u2"]  # u9 only appears on skipped rows
    assert table.timestamps.tolist() == [JAN1, JAN1 + 60, JAN1]
    assert table.queries == [(0, JAN1 + 120, "red running shoes")]
    assert set(dataset.items) == {"i1", "i2"}


def test_csv_with_utf8_bom_reads_first_column(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes("user_id,item_id,timestamp\r\nu1,i1,1\r\n".encode("utf-8-sig"))
    dataset, _ = load_tabular(path)
    assert dataset.interactions.user_ids == ["u1"]
