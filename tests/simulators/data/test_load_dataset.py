"""``load_dataset`` picks the right loader from a name, a folder or a file suffix."""

from __future__ import annotations

from pathlib import Path

import pytest

from freshrec.simulators.data.errors import DataFormatError
from freshrec.simulators.data.loaders import load_dataset
from freshrec.simulators.data.records import KIND_CODES, EventKind
from freshrec.simulators.data.tabular import ColumnMapping

FLAGS = "|".join(["0"] * 5 + ["1"] + ["0"] * 13)  # Comedy


def ml100k(folder: Path) -> Path:
    folder.mkdir()
    (folder / "u.data").write_text("1\t10\t4\t100\n2\t20\t5\t200\n", encoding="utf-8")
    (folder / "u.item").write_text(f"10|Ten (1990)|01-Jan-1990||url|{FLAGS}\n", encoding="latin-1")
    return folder


def ml1m(folder: Path) -> Path:
    folder.mkdir()
    (folder / "ratings.dat").write_text("1::10::4::100\n1::20::3::150\n", encoding="latin-1")
    (folder / "movies.dat").write_text("10::Été (1990)::Drama|War\n", encoding="latin-1")
    return folder


INTER = "user_id:token\titem_id:token\ttimestamp:float\nu1\ti1\t5\nu2\ti1\t6\n"


def test_folder_with_u_data_is_ml100k(tmp_path: Path) -> None:
    dataset, report = load_dataset(ml100k(tmp_path / "raw"))
    assert dataset.name == "ml-100k"
    assert dataset.interactions.item_ids == ["10", "20"]
    assert dataset.items["10"].text == "Ten (1990) | Comedy"
    assert (report.rows_read, report.rows_kept) == (3, 3)


def test_folder_with_ratings_dat_is_ml1m(tmp_path: Path) -> None:
    dataset, _ = load_dataset(str(ml1m(tmp_path / "ml-1m")))  # a str spec works too
    assert dataset.name == "ml-1m"
    assert dataset.interactions.values.tolist() == [4.0, 3.0]
    assert dataset.items["10"].text == "Été (1990) | Drama, War"


def test_inter_path_and_folder_with_one_inter(tmp_path: Path) -> None:
    inter = tmp_path / "shop.inter"
    inter.write_text(INTER, encoding="utf-8")
    (tmp_path / "catalog.item").write_text("item_id:token\ttitle:token_seq\ni1\tRed shoe\n", encoding="utf-8")
    dataset, _ = load_dataset(inter, items_path=tmp_path / "catalog.item")
    assert dataset.name == "shop"
    assert dataset.interactions.kinds.tolist() == [KIND_CODES[EventKind.VIEW]] * 2
    assert dataset.items["i1"].text == "Red shoe"
    from_folder, _ = load_dataset(tmp_path)
    assert from_folder.name == "shop"
    assert from_folder.interactions.user_ids == ["u1", "u2"]
    assert from_folder.items == {}  # no shop.item beside it


def test_csv_path_with_columns_and_items(tmp_path: Path) -> None:
    events = tmp_path / "clicks.csv"
    events.write_text("uid,sku,ts\na,x,2024-01-01T00:00:00Z\nb,y,\n", encoding="utf-8")
    items = tmp_path / "items.csv"
    items.write_text("item_id,text,categories\nx,Shoe,Shoes|Sport\n", encoding="utf-8")
    columns = ColumnMapping(user_id="uid", item_id="sku", timestamp="ts")
    with pytest.raises(DataFormatError) as caught:
        load_dataset(events, columns=columns)
    assert (caught.value.line, caught.value.field) == (3, "timestamp")
    dataset, report = load_dataset(events, on_bad_rows="skip", columns=columns, items_path=items)
    assert dataset.interactions.timestamps.tolist() == [1704067200.0]
    assert dataset.items["x"].categories == ("Shoes", "Sport")
    assert (report.rows_read, report.rows_kept, report.rows_skipped) == (3, 2, 1)


def test_on_bad_rows_is_passed_to_folder_loaders(tmp_path: Path) -> None:
    folder = ml100k(tmp_path / "raw")
    (folder / "u.data").write_text("1\t10\t4\t100\n2\t20\tfive\t200\n", encoding="utf-8")
    with pytest.raises(DataFormatError):
        load_dataset(folder)
    dataset, report = load_dataset(folder, on_bad_rows="skip")
    assert len(dataset.interactions) == 1
    assert report.skipped == {"u.data: rating: not a number": 1}


def test_synthetic_tiny() -> None:
    dataset, report = load_dataset("synthetic:tiny")
    assert dataset.name == "synthetic-60u-120i"
    assert len(dataset.interactions) == 4_000
    assert (report.rows_read, report.rows_kept, report.rows_skipped) == (4_000, 4_000, 0)
    with pytest.raises(ValueError, match="unknown synthetic size"):
        load_dataset("synthetic:enormous")


def test_missing_path_raises_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="neither a known name"):
        load_dataset(tmp_path / "nope.csv")


@pytest.mark.parametrize("names", [[], ["a.inter", "b.inter"], ["notes.txt"]])
def test_folder_without_a_single_known_layout_raises(tmp_path: Path, names: list[str]) -> None:
    for name in names:
        (tmp_path / name).write_text(INTER, encoding="utf-8")
    with pytest.raises(FileNotFoundError, match=r"no u\.data, ratings\.dat or single"):
        load_dataset(tmp_path)


@pytest.mark.parametrize("name", ["events.json", "events.tsv", "ratings"])
def test_unknown_suffix_raises_value_error(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text("user_id,item_id,timestamp\n", encoding="utf-8")
    with pytest.raises(ValueError, match="unknown format"):
        load_dataset(path)
