"""Generic CSV or Parquet event files, with a mapping from our fields to the file's columns."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from freshrec.simulators.data.builder import InteractionsBuilder, OnBadRows, parse_float, parse_id, parse_rows
from freshrec.simulators.data.errors import DataFormatError, LoadReport, RecordError
from freshrec.simulators.data.records import Dataset, EventKind, Item


@dataclass(frozen=True)
class ColumnMapping:
    """Which file column holds each field. Optional fields may be ``None`` (absent)."""

    user_id: str = "user_id"
    item_id: str = "item_id"
    timestamp: str = "timestamp"
    kind: str | None = None
    value: str | None = None
    query: str | None = None
    default_kind: EventKind = EventKind.VIEW

    @classmethod
    def parse(cls, spec: str) -> ColumnMapping:
        """Parse ``field=column,...`` (e.g. ``user_id=uid,item_id=sku,timestamp=ts``)."""
        pairs: dict[str, str] = {}
        for part in filter(None, (p.strip() for p in spec.split(","))):
            name, eq, column = part.partition("=")
            if not eq or name not in cls.__dataclass_fields__ or name == "default_kind":
                raise RecordError("columns", part, "expected FIELD=COLUMN with FIELD one of "
                                  "user_id, item_id, timestamp, kind, value, query")  # fmt: skip
            pairs[name] = column
        return cls(**pairs)  # type: ignore[arg-type]


def parse_timestamp(path: Path, number: int, text: str) -> float:
    """Seconds since the epoch, or an ISO-8601 date-time (naive means UTC)."""
    try:
        return parse_float(path, number, "timestamp", text)
    except DataFormatError:
        pass
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise DataFormatError(path, number, "timestamp", text, "neither a number nor an ISO-8601 time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _records(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """Rows as dicts with their line (CSV) or row number (Parquet, header is row 1)."""
    if path.suffix.lower() in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        names = table.column_names
        columns = [table.column(n).to_pylist() for n in names]
        for index in range(table.num_rows):
            yield (
                index + 2,
                {n: "" if c[index] is None else str(c[index]) for n, c in zip(names, columns, strict=True)},
            )
        return
    with open(path, encoding="utf-8-sig", newline="") as handle:  # -sig: Excel's byte-order mark
        reader = csv.DictReader(handle)
        for row in reader:
            yield reader.line_num, {k: v for k, v in row.items() if k is not None}


def load_tabular(
    path: Path,
    mapping: ColumnMapping | None = None,
    items_path: Path | None = None,
    on_bad_rows: OnBadRows = "raise",
) -> tuple[Dataset, LoadReport]:
    """Load events from a CSV (with header) or Parquet file, and optional items (``item_id,text,categories``)."""
    path = Path(path)
    mapping = mapping or ColumnMapping()
    report = LoadReport()
    builder = InteractionsBuilder()

    def column(number: int, row: dict[str, str], name: str, column_name: str) -> str:
        if column_name not in row:
            raise DataFormatError(path, number, name, None, f"column {column_name!r} not in file")
        return row[column_name] or ""

    def parse(number: int, fields: list[str]) -> None:
        row = rows[number]
        user = parse_id(path, number, "user_id", column(number, row, "user_id", mapping.user_id))
        timestamp = parse_timestamp(path, number, column(number, row, "timestamp", mapping.timestamp))
        kind = mapping.default_kind
        if mapping.kind:
            raw_kind = column(number, row, "kind", mapping.kind)
            try:
                kind = EventKind.parse(raw_kind)
            except RecordError as error:
                raise DataFormatError(path, number, "kind", raw_kind, error.reason) from None
        if kind is EventKind.SEARCH:
            query = column(number, row, "query", mapping.query or "query").strip()
            if not query:
                raise DataFormatError(path, number, "query", query, "a search row needs query text")
            builder.add_search(user, timestamp, query)
            return
        item = parse_id(path, number, "item_id", column(number, row, "item_id", mapping.item_id))
        value = None
        if mapping.value and column(number, row, "value", mapping.value).strip():
            value = parse_float(path, number, "value", row[mapping.value])
        builder.add(user, item, timestamp, kind, value)

    rows = dict(_records(path))
    parse_rows(((n, []) for n in rows), path, parse, on_bad_rows, report)
    items = _load_items(Path(items_path), on_bad_rows, report) if items_path else {}
    return Dataset(path.stem, builder.build(), items), report


def _load_items(path: Path, on_bad_rows: OnBadRows, report: LoadReport) -> dict[str, Item]:
    items: dict[str, Item] = {}
    rows = dict(_records(path))

    def parse(number: int, fields: list[str]) -> None:
        row = rows[number]
        if "item_id" not in row:
            raise DataFormatError(path, number, "item_id", None, "column 'item_id' not in file")
        item_id = parse_id(path, number, "item_id", row["item_id"])
        categories = tuple(c.strip() for c in (row.get("categories") or "").split("|") if c.strip())
        added = row.get("added_at") or ""
        items[item_id] = Item(
            item_id,
            (row.get("text") or "").strip(),
            categories,
            parse_timestamp(path, number, added) if added.strip() else None,
        )

    parse_rows(((n, []) for n in rows), path, parse, on_bad_rows, report)
    return items
