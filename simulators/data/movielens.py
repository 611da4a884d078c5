"""Raw MovieLens folders as GroupLens ships them: ml-100k (``u.data``/``u.item``), ml-1m and ml-10m
(``ratings.dat``/``movies.dat``, ``::``-separated, latin-1)."""

from __future__ import annotations

import re
from pathlib import Path

from freshrec.simulators.data.builder import (
    InteractionsBuilder,
    OnBadRows,
    expect_fields,
    parse_float,
    parse_id,
    parse_rows,
    read_lines,
)
from freshrec.simulators.data.errors import DataFormatError, LoadReport
from freshrec.simulators.data.records import Dataset, EventKind, Item

ML100K_GENRES = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary",
    "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller",
    "War", "Western",
)  # fmt: skip
_YEAR = re.compile(r"\((\d{4})\)\s*$")


def movie_text(title: str, genres: tuple[str, ...]) -> str:
    """The text the encoder sees for a movie: its title (with year) and genres."""
    return f"{title} | {', '.join(genres)}" if genres else title


def _ratings(
    path: Path, separator: str, encoding: str, on_bad_rows: OnBadRows, report: LoadReport
) -> InteractionsBuilder:
    builder = InteractionsBuilder()
    names = ("user_id", "item_id", "rating", "timestamp")

    def parse(number: int, fields: list[str]) -> None:
        expect_fields(path, number, fields, names)
        user = parse_id(path, number, "user_id", fields[0])
        item = parse_id(path, number, "item_id", fields[1])
        rating = parse_float(path, number, "rating", fields[2])
        timestamp = parse_float(path, number, "timestamp", fields[3])
        builder.add(user, item, timestamp, EventKind.RATING, rating)

    rows = ((n, line.split(separator)) for n, line in read_lines(path, encoding))
    parse_rows(rows, path, parse, on_bad_rows, report)
    return builder


def load_movielens_100k(folder: Path, on_bad_rows: OnBadRows = "raise") -> tuple[Dataset, LoadReport]:
    """Load a raw ml-100k folder (``u.data`` tab-separated ratings, ``u.item`` pipe-separated movies)."""
    folder = Path(folder)
    report = LoadReport()
    builder = _ratings(folder / "u.data", "\t", "utf-8", on_bad_rows, report)
    items: dict[str, Item] = {}
    path = folder / "u.item"

    def parse(number: int, fields: list[str]) -> None:
        expect_fields(path, number, fields, ("item_id", "title", "release_date", "video_date", "url"))
        item_id = parse_id(path, number, "item_id", fields[0])
        flags = fields[5:]
        if len(flags) != len(ML100K_GENRES) or any(f not in ("0", "1") for f in flags):
            raise DataFormatError(path, number, "genres", "|".join(flags), "expected 19 flags of 0 or 1")
        genres = tuple(g for g, f in zip(ML100K_GENRES, flags, strict=True) if f == "1")
        items[item_id] = Item(item_id, movie_text(fields[1], genres), genres, _release(fields[2]))

    rows = ((n, line.split("|")) for n, line in read_lines(path, "latin-1"))
    parse_rows(rows, path, parse, on_bad_rows, report)
    return Dataset("ml-100k", builder.build(), items), report


def _release(text: str) -> float | None:
    match = re.search(r"(\d{4})$", text.strip())
    if not match:
        return None
    year = int(match.group(1))
    return (year - 1970) * 365.25 * 86400.0


def load_movielens_dat(folder: Path, on_bad_rows: OnBadRows = "raise") -> tuple[Dataset, LoadReport]:
    """Load ml-1m or ml-10m (``ratings.dat`` and ``movies.dat``, ``::``-separated, latin-1 titles)."""
    folder = Path(folder)
    report = LoadReport()
    builder = _ratings(folder / "ratings.dat", "::", "latin-1", on_bad_rows, report)
    items: dict[str, Item] = {}
    path = folder / "movies.dat"

    def parse(number: int, fields: list[str]) -> None:
        expect_fields(path, number, fields, ("item_id", "title", "genres"))
        item_id = parse_id(path, number, "item_id", fields[0])
        title = fields[1].strip()
        if not title:
            raise DataFormatError(path, number, "title", fields[1], "empty title")
        genres = tuple(g for g in fields[2].split("|") if g and g != "(no genres listed)")
        year = _YEAR.search(title)
        added = (int(year.group(1)) - 1970) * 365.25 * 86400.0 if year else None
        items[item_id] = Item(item_id, movie_text(title, genres), genres, added)

    rows = ((n, line.split("::")) for n, line in read_lines(path, "latin-1"))
    parse_rows(rows, path, parse, on_bad_rows, report)
    return Dataset(folder.name or "movielens", builder.build(), items), report
