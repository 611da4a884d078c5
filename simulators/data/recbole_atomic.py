"""RecBole atomic files: a ``.inter`` file of interactions and an optional ``.item`` file.

The header names each column as ``name:type`` (``token``, ``token_seq``, ``float``, ...).
"""

from __future__ import annotations

from pathlib import Path

from freshrec.simulators.data.builder import (
    InteractionsBuilder,
    OnBadRows,
    parse_float,
    parse_id,
    parse_rows,
    read_lines,
)
from freshrec.simulators.data.errors import DataFormatError, LoadReport
from freshrec.simulators.data.movielens import movie_text
from freshrec.simulators.data.records import Dataset, EventKind, Item

CATEGORY_FIELDS = ("class", "genre", "genres", "categories", "category")


def _header(path: Path, number: int, line: str) -> dict[str, int]:
    columns: dict[str, int] = {}
    for position, column in enumerate(line.split("\t")):
        name, _, kind = column.partition(":")
        if not kind:
            raise DataFormatError(path, number, column, column, "header column must look like name:type")
        columns[name] = position
    return columns


def _rows(path: Path) -> tuple[dict[str, int], list[tuple[int, list[str]]]]:
    lines = list(read_lines(path))
    if not lines:
        raise DataFormatError(path, 1, "header", "", "file is empty")
    return _header(path, *lines[0]), [(n, line.split("\t")) for n, line in lines[1:]]


def _field(path: Path, number: int, fields: list[str], columns: dict[str, int], name: str) -> str:
    position = columns[name]
    if position >= len(fields):
        raise DataFormatError(path, number, name, None, f"row has {len(fields)} fields, header has {len(columns)}")
    return fields[position]


def load_recbole(
    inter_path: Path, item_path: Path | None = None, on_bad_rows: OnBadRows = "raise"
) -> tuple[Dataset, LoadReport]:
    """Load ``NAME.inter`` (user_id, item_id, timestamp, optional rating) and ``NAME.item``.

    ``item_path`` defaults to the ``.item`` file beside ``inter_path`` when it exists.
    """
    inter_path = Path(inter_path)
    report = LoadReport()
    columns, rows = _rows(inter_path)
    for required in ("user_id", "item_id", "timestamp"):
        if required not in columns:
            raise DataFormatError(inter_path, 1, required, None, "column missing from header")
    has_rating = "rating" in columns
    builder = InteractionsBuilder()

    def parse_inter(number: int, fields: list[str]) -> None:
        def get(name: str) -> str:
            return _field(inter_path, number, fields, columns, name)

        user = parse_id(inter_path, number, "user_id", get("user_id"))
        item = parse_id(inter_path, number, "item_id", get("item_id"))
        timestamp = parse_float(inter_path, number, "timestamp", get("timestamp"))
        rating = parse_float(inter_path, number, "rating", get("rating")) if has_rating else None
        builder.add(user, item, timestamp, EventKind.RATING if has_rating else EventKind.VIEW, rating)

    parse_rows(rows, inter_path, parse_inter, on_bad_rows, report)
    if item_path is None and inter_path.with_suffix(".item").exists():
        item_path = inter_path.with_suffix(".item")
    items = _load_items(Path(item_path), on_bad_rows, report) if item_path else {}
    return Dataset(inter_path.stem, builder.build(), items), report


def _load_items(path: Path, on_bad_rows: OnBadRows, report: LoadReport) -> dict[str, Item]:
    columns, rows = _rows(path)
    if "item_id" not in columns:
        raise DataFormatError(path, 1, "item_id", None, "column missing from header")
    category_field = next((c for c in CATEGORY_FIELDS if c in columns), None)
    text_fields = [c for c in columns if c not in ("item_id", category_field)]
    items: dict[str, Item] = {}

    def parse_item(number: int, fields: list[str]) -> None:
        item_id = parse_id(path, number, "item_id", _field(path, number, fields, columns, "item_id"))
        parts = []
        for name in text_fields:
            value = _field(path, number, fields, columns, name).strip()
            if value:
                parts.append(f"({value})" if "year" in name else value)
        categories: tuple[str, ...] = ()
        if category_field:
            categories = tuple(_field(path, number, fields, columns, category_field).split())
        items[item_id] = Item(item_id, movie_text(" ".join(parts), categories), categories)

    parse_rows(rows, path, parse_item, on_bad_rows, report)
    return items
