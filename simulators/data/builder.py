"""Accumulates parsed rows into an :class:`Interactions` table; shared by every loader."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Literal

import numpy as np

from freshrec.simulators.data.errors import DataFormatError, LoadReport
from freshrec.simulators.data.records import KIND_CODES, EventKind, Interactions

OnBadRows = Literal["raise", "skip"]


class InteractionsBuilder:
    """Appends rows one by one, assigning dense codes to ids in order of first appearance."""

    def __init__(self) -> None:
        self._user_codes: dict[str, int] = {}
        self._item_codes: dict[str, int] = {}
        self._users: list[int] = []
        self._items: list[int] = []
        self._times: list[float] = []
        self._kinds: list[int] = []
        self._values: list[float] = []
        self._queries: list[tuple[int, float, str]] = []

    def _user(self, user_id: str) -> int:
        return self._user_codes.setdefault(user_id, len(self._user_codes))

    def add(self, user_id: str, item_id: str, timestamp: float, kind: EventKind, value: float | None) -> None:
        self._users.append(self._user(user_id))
        self._items.append(self._item_codes.setdefault(item_id, len(self._item_codes)))
        self._times.append(timestamp)
        self._kinds.append(KIND_CODES[kind])
        self._values.append(np.nan if value is None else value)

    def add_search(self, user_id: str, timestamp: float, query: str) -> None:
        self._queries.append((self._user(user_id), timestamp, query))

    def build(self) -> Interactions:
        return Interactions(
            users=np.asarray(self._users, dtype=np.int64),
            items=np.asarray(self._items, dtype=np.int64),
            timestamps=np.asarray(self._times, dtype=np.float64),
            kinds=np.asarray(self._kinds, dtype=np.uint8),
            values=np.asarray(self._values, dtype=np.float32),
            user_ids=list(self._user_codes),
            item_ids=list(self._item_codes),
            queries=self._queries,
        )


def read_lines(path: Path, encoding: str = "utf-8") -> Iterator[tuple[int, str]]:
    """Yield (1-based line number, line without newline), skipping blank lines."""
    with open(path, encoding=encoding, newline="") as handle:
        for number, line in enumerate(handle, start=1):
            line = line.rstrip("\r\n")
            if line.strip():
                yield number, line


def parse_rows(
    rows: Iterable[tuple[int, list[str]]],
    path: Path,
    parse: Callable[[int, list[str]], None],
    on_bad_rows: OnBadRows,
    report: LoadReport,
) -> None:
    """Run ``parse`` on each row; raise on the first bad one, or count it in ``report``."""
    for number, fields in rows:
        report.rows_read += 1
        try:
            parse(number, fields)
        except DataFormatError as error:
            if on_bad_rows == "raise":
                raise
            report.record(error)
        else:
            report.rows_kept += 1


def expect_fields(path: Path, number: int, fields: list[str], names: tuple[str, ...]) -> None:
    if len(fields) < len(names):
        missing = names[len(fields)]
        raise DataFormatError(path, number, missing, None, f"expected {len(names)} fields, got {len(fields)}")


def parse_float(path: Path, number: int, name: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise DataFormatError(path, number, name, text, "not a number") from None
    if not np.isfinite(value):
        raise DataFormatError(path, number, name, text, "not a finite number")
    return value


def parse_id(path: Path, number: int, name: str, text: str) -> str:
    value = text.strip()
    if not value:
        raise DataFormatError(path, number, name, text, "empty id")
    return value
