"""RecBole atomic files: ``NAME.inter`` and ``NAME.item`` with ``name:type`` headers."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import pytest

from freshrec.simulators.data.errors import DataFormatError
from freshrec.simulators.data.recbole_atomic import load_recbole
from freshrec.simulators.data.records import KIND_CODES, EventKind

INTER_HEADER = "user_id:token\titem_id:token\trating:float\ttimestamp:float"
ITEM_HEADER = "item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq"
INTER_ROWS = ["196\t242\t3\t881250949", "186\t302\t3\t891717742", "196\t1\t5\t881251000"]
ITEM_ROWS = [
    "1\tToy Story\t1995\tAnimation Comedy",
    "242\tKolya\t1996\tComedy",
    "302\tL.A. Confidential\t1997\tCrime Film-Noir Mystery Thriller",
    "999\tNo Year\t\t",
]


def write(path: Path, header: str, rows: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in [header, *rows]), encoding="utf-8")
    return path


def test_inter_with_rating_gives_rating_events(tmp_path: Path) -> None:
    inter = write(tmp_path / "ml-100k.inter", INTER_HEADER, INTER_ROWS)
    dataset, report = load_recbole(inter)
    table = dataset.interactions
    assert dataset.name == "ml-100k"
    assert table.user_ids == ["196", "186"]
    assert table.item_ids == ["242", "302", "1"]
    assert table.users.tolist() == [0, 1, 0]
    assert table.items.tolist() == [0, 1, 2]
    assert table.values.tolist() == [3.0, 3.0, 5.0]
    assert table.timestamps.tolist() == [881250949.0, 891717742.0, 881251000.0]
    assert table.kinds.tolist() == [KIND_CODES[EventKind.RATING]] * 3
    assert dataset.items == {}  # no .item beside it
    assert (report.rows_read, report.rows_kept, report.rows_skipped) == (3, 3, 0)


def test_inter_without_rating_gives_view_events_and_columns_found_by_name(tmp_path: Path) -> None:
    inter = write(tmp_path / "x.inter", "timestamp:float\titem_id:token\tuser_id:token", ["10\ta\tu1", "5.5\tb\tu2"])
    dataset, _ = load_recbole(inter)
    table = dataset.interactions
    assert table.user_ids == ["u1", "u2"]
    assert table.item_ids == ["a", "b"]
    assert table.timestamps.tolist() == [10.0, 5.5]
    assert table.kinds.tolist() == [KIND_CODES[EventKind.VIEW]] * 2
    assert all(math.isnan(v) for v in table.values.tolist())


def test_item_file_beside_inter_is_found_and_text_is_title_year_and_classes(tmp_path: Path) -> None:
    inter = write(tmp_path / "ml-100k.inter", INTER_HEADER, INTER_ROWS)
    write(tmp_path / "ml-100k.item", ITEM_HEADER, ITEM_ROWS)
    dataset, report = load_recbole(inter)
    items = dataset.items
    assert items["1"].text == "Toy Story (1995) | Animation, Comedy"
    assert items["1"].categories == ("Animation", "Comedy")
    assert items["242"].text == "Kolya (1996) | Comedy"
    assert items["302"].text == "L.A. Confidential (1997) | Crime, Film-Noir, Mystery, Thriller"
    assert items["999"].text == "No Year"  # empty year and class are left out
    assert items["999"].categories == ()
    assert items["1"].added_at is None
    assert dataset.item_texts() == [items["242"].text, items["302"].text, items["1"].text]
    assert (report.rows_read, report.rows_kept) == (7, 7)


def test_explicit_item_path_is_used(tmp_path: Path) -> None:
    inter = write(tmp_path / "a.inter", INTER_HEADER, INTER_ROWS)
    item = write(tmp_path / "other" / "catalog.item", ITEM_HEADER, ITEM_ROWS[:1])
    dataset, _ = load_recbole(inter, item)
    assert list(dataset.items) == ["1"]
    assert dataset.items["1"].text == "Toy Story (1995) | Animation, Comedy"


def test_item_file_with_genre_column_and_no_year(tmp_path: Path) -> None:
    inter = write(tmp_path / "b.inter", INTER_HEADER, INTER_ROWS)
    write(tmp_path / "b.item", "item_id:token\ttitle:token_seq\tgenre:token_seq", ["1\tSpace Opera Novel\tbooks scifi"])
    dataset, _ = load_recbole(inter)
    assert dataset.items["1"].text == "Space Opera Novel | books, scifi"
    assert dataset.items["1"].categories == ("books", "scifi")


@pytest.mark.parametrize(
    ("row", "field", "value", "reason"),
    [
        ("196\t242\t3\tyesterday", "timestamp", "yesterday", "not a number"),
        ("196\t242\tgood\t881250949", "rating", "good", "not a number"),
        ("196\t242\t3", "timestamp", None, "row has 3 fields, header has 4"),
        ("\t242\t3\t881250949", "user_id", "", "empty id"),
        ("196\t\t3\t881250949", "item_id", "", "empty id"),
        ("196\t242\t3\tinf", "timestamp", "inf", "not a finite number"),
    ],
)
def test_bad_inter_row_raises_with_line_counting_the_header(
    tmp_path: Path, row: str, field: str, value: object, reason: str
) -> None:
    inter = write(tmp_path / "d.inter", INTER_HEADER, [INTER_ROWS[0], INTER_ROWS[1], row])
    with pytest.raises(DataFormatError) as caught:
        load_recbole(inter)
    error = caught.value
    assert Path(error.path) == inter
    assert (error.line, error.field, error.value, error.reason) == (4, field, value, reason)
    assert "d.inter:4:" in str(error) and f"field {field!r}" in str(error)


def test_bad_item_row_raises_with_its_line(tmp_path: Path) -> None:
    inter = write(tmp_path / "e.inter", INTER_HEADER, INTER_ROWS)
    write(tmp_path / "e.item", ITEM_HEADER, [ITEM_ROWS[0], "\tNameless\t2000\tDrama"])
    with pytest.raises(DataFormatError) as caught:
        load_recbole(inter)
    assert Path(caught.value.path) == tmp_path / "e.item"
    assert (caught.value.line, caught.value.field, caught.value.reason) == (3, "item_id", "empty id")


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("user_id:token\titem_id:token\trating:float", "timestamp"),
        ("user_id:token\trating:float\ttimestamp:float", "item_id"),
        ("user_id:token\titem_id\ttimestamp:float", "item_id"),  # column without :type
    ],
)
def test_bad_header_raises_on_line_one(tmp_path: Path, header: str, field: str) -> None:
    inter = write(tmp_path / "h.inter", header, ["1\t2\t3"])
    with pytest.raises(DataFormatError) as caught:
        load_recbole(inter)
    assert (caught.value.line, caught.value.field) == (1, field)


def test_empty_file_raises(tmp_path: Path) -> None:
    inter = tmp_path / "empty.inter"
    inter.write_text("\n\n", encoding="utf-8")
    with pytest.raises(DataFormatError) as caught:
        load_recbole(inter)
    assert (caught.value.line, caught.value.field, caught.value.reason) == (1, "header", "file is empty")


def test_bad_header_after_blank_line_reports_its_real_line(tmp_path: Path) -> None:
    inter = tmp_path / "blank.inter"
    inter.write_text("\nuser_id:token\titem_id\ttimestamp:float\n1\t2\t3\n", encoding="utf-8")
    with pytest.raises(DataFormatError) as caught:
        load_recbole(inter)
    assert (caught.value.line, caught.value.field) == (2, "item_id")


def test_skip_counts_inter_and_item_rows_exactly(tmp_path: Path) -> None:
    rows = [INTER_ROWS[0], "1\t2\t3\tx", "", INTER_ROWS[1], "\t2\t3\t4", "1\t2", INTER_ROWS[2]]
    inter = write(tmp_path / "s.inter", INTER_HEADER, rows)
    write(tmp_path / "s.item", ITEM_HEADER, [*ITEM_ROWS, " \tBlank id\t2000\tDrama"])
    dataset, report = load_recbole(inter, on_bad_rows="skip")
    assert report.rows_read == 11  # 6 non-blank interaction rows + 5 item rows
    assert report.rows_kept == 7
    assert report.rows_skipped == 4
    assert report.skipped == Counter(
        {
            "s.inter: timestamp: not a number": 1,
            "s.inter: user_id: empty id": 1,
            "s.inter: timestamp: row has 2 fields, header has 4": 1,  # checked before rating
            "s.item: item_id: empty id": 1,
        }
    )
    assert dataset.interactions.user_ids == ["196", "186"]
    assert dataset.interactions.item_ids == ["242", "302", "1"]
    assert set(dataset.items) == {"1", "242", "302", "999"}
