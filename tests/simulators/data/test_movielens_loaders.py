"""Raw MovieLens folders (ml-100k ``u.data``/``u.item``; ml-1m/ml-10m ``ratings.dat``/``movies.dat``)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from freshrec.simulators.data.errors import DataFormatError
from freshrec.simulators.data.movielens import ML100K_GENRES, load_movielens_100k, load_movielens_dat, movie_text
from freshrec.simulators.data.records import KIND_CODES, EventKind

YEAR = 365.25 * 86400.0


def item_line(item_id: str, title: str, release: str, genres: tuple[str, ...]) -> str:
    flags = ["1" if g in genres else "0" for g in ML100K_GENRES]
    return "|".join([item_id, title, release, "", f"http://us.imdb.com/M/title-exact?{item_id}", *flags])


def write_ml100k(folder: Path, data_lines: list[str], item_lines: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "u.data").write_text("".join(line + "\n" for line in data_lines), encoding="utf-8")
    (folder / "u.item").write_bytes("".join(line + "\n" for line in item_lines).encode("latin-1"))
    return folder


GOOD_DATA = ["196\t242\t3\t881250949", "186\t302\t3\t891717742", "196\t302\t4\t881251000", "22\t377\t1\t878887116"]
GOOD_ITEMS = [
    item_line("242", "Kolya (1996)", "24-Jan-1997", ("Comedy",)),
    item_line("302", "L.A. Confidential (1997)", "01-Jan-1997", ("Crime", "Film-Noir", "Mystery", "Thriller")),
    item_line("377", "Heavyweights (1994)", "01-Jan-1994", ("Children's", "Comedy")),
    item_line("1300", "Misérables, Les (1995)", "", ()),
]


def test_movie_text_joins_title_and_genres() -> None:
    assert movie_text("Toy Story (1995)", ("Animation", "Comedy")) == "Toy Story (1995) | Animation, Comedy"
    assert movie_text("Untitled (2000)", ()) == "Untitled (2000)"


def test_ml100k_loads_ratings_as_rating_events_with_dense_codes(tmp_path: Path) -> None:
    dataset, report = load_movielens_100k(write_ml100k(tmp_path / "ml-100k", GOOD_DATA, GOOD_ITEMS))
    inter = dataset.interactions
    assert dataset.name == "ml-100k"
    assert len(inter) == 4
    assert inter.user_ids == ["196", "186", "22"]
    assert inter.item_ids == ["242", "302", "377"]
    assert inter.users.tolist() == [0, 1, 0, 2]
    assert inter.items.tolist() == [0, 1, 1, 2]
    assert inter.values.tolist() == [3.0, 3.0, 4.0, 1.0]
    assert inter.timestamps.tolist() == [881250949.0, 891717742.0, 881251000.0, 878887116.0]
    assert inter.kinds.tolist() == [KIND_CODES[EventKind.RATING]] * 4
    assert inter.queries == []
    assert (report.rows_read, report.rows_kept, report.rows_skipped) == (8, 8, 0)
    assert report.describe() == "read 8 rows, skipped none"


def test_ml100k_item_text_genres_and_release(tmp_path: Path) -> None:
    dataset, _ = load_movielens_100k(write_ml100k(tmp_path, GOOD_DATA, GOOD_ITEMS))
    items = dataset.items
    assert set(items) == {"242", "302", "377", "1300"}
    assert items["242"].text == "Kolya (1996) | Comedy"
    assert items["302"].text == "L.A. Confidential (1997) | Crime, Film-Noir, Mystery, Thriller"
    assert items["302"].categories == ("Crime", "Film-Noir", "Mystery", "Thriller")
    assert items["377"].text == "Heavyweights (1994) | Children's, Comedy"
    assert items["1300"].text == "Misérables, Les (1995)"  # latin-1 decoded, no genres -> title only
    assert items["1300"].categories == ()
    assert items["1300"].added_at is None
    assert items["242"].added_at == pytest.approx((1997 - 1970) * YEAR)
    assert dataset.item_texts() == [items["242"].text, items["302"].text, items["377"].text]
    assert dataset.label(1) == "Kolya (1996) | Comedy"


@pytest.mark.parametrize(
    ("line", "field", "value", "reason"),
    [
        ("196\t302\t4\tsoon", "timestamp", "soon", "not a number"),
        ("196\t302\tfour\t881251000", "rating", "four", "not a number"),
        ("196\t302\t4", "timestamp", None, "expected 4 fields, got 3"),
        ("\t302\t4\t881251000", "user_id", "", "empty id"),
        ("196\t \t4\t881251000", "item_id", " ", "empty id"),
        ("196\t302\tnan\t881251000", "rating", "nan", "not a finite number"),
    ],
)
def test_ml100k_bad_rating_row_raises_with_file_line_and_field(
    tmp_path: Path, line: str, field: str, value: object, reason: str
) -> None:
    # a blank line before the bad row must still count towards the line number
    folder = write_ml100k(tmp_path, [GOOD_DATA[0], "", GOOD_DATA[1], line, GOOD_DATA[2]], GOOD_ITEMS)
    with pytest.raises(DataFormatError) as caught:
        load_movielens_100k(folder)
    error = caught.value
    assert Path(error.path) == folder / "u.data"
    assert (error.line, error.field, error.value, error.reason) == (4, field, value, reason)
    assert "u.data:4:" in str(error)
    assert f"field {field!r}" in str(error)


@pytest.mark.parametrize(
    "flags",
    [["0"] * 18, ["0"] * 20, ["0"] * 18 + ["2"], ["0"] * 18 + ["yes"]],
    ids=["18-flags", "20-flags", "flag-2", "flag-word"],
)
def test_ml100k_bad_genre_flags_raise(tmp_path: Path, flags: list[str]) -> None:
    bad = "|".join(["500", "Bad Movie (1999)", "01-Jan-1999", "", "http://x", *flags])
    folder = write_ml100k(tmp_path, GOOD_DATA, [GOOD_ITEMS[0], GOOD_ITEMS[1], bad])
    with pytest.raises(DataFormatError) as caught:
        load_movielens_100k(folder)
    assert Path(caught.value.path) == folder / "u.item"
    assert (caught.value.line, caught.value.field) == (3, "genres")
    assert caught.value.reason == "expected 19 flags of 0 or 1"
    assert "u.item:3:" in str(caught.value) and "'genres'" in str(caught.value)


def test_ml100k_item_row_with_too_few_fields_names_first_missing_field(tmp_path: Path) -> None:
    folder = write_ml100k(tmp_path, GOOD_DATA, [GOOD_ITEMS[0], "600|Short (2001)|01-Jan-2001"])
    with pytest.raises(DataFormatError) as caught:
        load_movielens_100k(folder)
    assert (caught.value.line, caught.value.field, caught.value.value) == (2, "video_date", None)


def test_ml100k_skip_counts_exactly_and_keeps_good_rows(tmp_path: Path) -> None:
    data = [GOOD_DATA[0], "196\t302\t4\tsoon", GOOD_DATA[1], "\t302\t4\t1", "7\t8\t2\t3", GOOD_DATA[3]]
    bad_item = "|".join(["9", "Nine (1999)", "", "", "", *(["0"] * 18)])
    folder = write_ml100k(tmp_path, data, [*GOOD_ITEMS, bad_item])
    dataset, report = load_movielens_100k(folder, on_bad_rows="skip")
    assert report.rows_read == 11
    assert report.rows_kept == 8
    assert report.rows_skipped == 3
    assert report.skipped == Counter(
        {
            "u.data: timestamp: not a number": 1,
            "u.data: user_id: empty id": 1,
            "u.item: genres: expected 19 flags of 0 or 1": 1,
        }
    )
    assert len(report.examples) == 3
    assert report.describe().startswith("read 11 rows, skipped 3 (")
    inter = dataset.interactions
    assert inter.user_ids == ["196", "186", "7", "22"]
    assert inter.item_ids == ["242", "302", "8", "377"]
    assert inter.timestamps.tolist() == [881250949.0, 891717742.0, 3.0, 878887116.0]
    assert set(dataset.items) == {"242", "302", "377", "1300"}


# ---- ml-1m / ml-10m: ratings.dat + movies.dat, '::' separated, latin-1 ----


def write_dat(folder: Path, ratings: list[str], movies: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "ratings.dat").write_bytes("".join(r + "\n" for r in ratings).encode("latin-1"))
    (folder / "movies.dat").write_bytes("".join(m + "\n" for m in movies).encode("latin-1"))
    return folder


DAT_RATINGS = ["1::1193::5::978300760", "1::73::3::978302109", "2::1::4::978298413", "2::1193::2.5::978299000"]
DAT_MOVIES = [
    "1::Toy Story (1995)::Animation|Children's|Comedy",
    "73::Misérables, Les (1995)::Drama|Musical",
    "1193::One Flew Over the Cuckoo's Nest (1975)::Drama",
    "200::Nothing Here (2015)::(no genres listed)",
]


def test_dat_loads_ratings_and_latin1_titles(tmp_path: Path) -> None:
    # the accented title is stored as the single latin-1 byte 0xE9, invalid as UTF-8
    folder = write_dat(tmp_path / "ml-1m", DAT_RATINGS, DAT_MOVIES)
    assert b"Mis\xe9rables" in (folder / "movies.dat").read_bytes()
    dataset, report = load_movielens_dat(folder)
    inter = dataset.interactions
    assert dataset.name == "ml-1m"
    assert inter.user_ids == ["1", "2"]
    assert inter.item_ids == ["1193", "73", "1"]
    assert inter.users.tolist() == [0, 0, 1, 1]
    assert inter.items.tolist() == [0, 1, 2, 0]
    assert inter.values.tolist() == [5.0, 3.0, 4.0, 2.5]
    assert inter.timestamps.tolist() == [978300760.0, 978302109.0, 978298413.0, 978299000.0]
    assert np.all(inter.kinds == KIND_CODES[EventKind.RATING])
    assert (report.rows_read, report.rows_kept, report.rows_skipped) == (8, 8, 0)


def test_dat_item_text_splits_genres_on_pipe(tmp_path: Path) -> None:
    dataset, _ = load_movielens_dat(write_dat(tmp_path / "ml-10m", DAT_RATINGS, DAT_MOVIES))
    items = dataset.items
    assert items["73"].text == "Misérables, Les (1995) | Drama, Musical"
    assert items["73"].categories == ("Drama", "Musical")
    assert items["1"].text == "Toy Story (1995) | Animation, Children's, Comedy"
    assert items["1"].categories == ("Animation", "Children's", "Comedy")
    assert items["200"].text == "Nothing Here (2015)"  # "(no genres listed)" is not a genre
    assert items["200"].categories == ()
    assert items["1193"].added_at == pytest.approx((1975 - 1970) * YEAR)


@pytest.mark.parametrize(
    ("ratings", "movies", "file", "line", "field"),
    [
        ([DAT_RATINGS[0], "1::73::3::later"], DAT_MOVIES, "ratings.dat", 2, "timestamp"),
        ([DAT_RATINGS[0], DAT_RATINGS[1], "3::5"], DAT_MOVIES, "ratings.dat", 3, "rating"),
        (["::1193::5::978300760"], DAT_MOVIES, "ratings.dat", 1, "user_id"),
        (DAT_RATINGS, [DAT_MOVIES[0], "73::  ::Drama"], "movies.dat", 2, "title"),
        (DAT_RATINGS, [DAT_MOVIES[0], DAT_MOVIES[1], "74::No Genres Field (1990)"], "movies.dat", 3, "genres"),
        (DAT_RATINGS, ["::Nameless (1990)::Drama"], "movies.dat", 1, "item_id"),
    ],
)
def test_dat_bad_rows_raise_with_file_line_and_field(
    tmp_path: Path, ratings: list[str], movies: list[str], file: str, line: int, field: str
) -> None:
    folder = write_dat(tmp_path, ratings, movies)
    with pytest.raises(DataFormatError) as caught:
        load_movielens_dat(folder)
    assert Path(caught.value.path) == folder / file
    assert (caught.value.line, caught.value.field) == (line, field)
    assert f"{file}:{line}:" in str(caught.value) and f"field {field!r}" in str(caught.value)


def test_dat_skip_counts_exactly(tmp_path: Path) -> None:
    ratings = [*DAT_RATINGS, "1::73::3::later", "1::73", "5::6::x::1"]
    movies = [*DAT_MOVIES, "74:: ::Drama"]
    dataset, report = load_movielens_dat(write_dat(tmp_path, ratings, movies), on_bad_rows="skip")
    assert (report.rows_read, report.rows_kept, report.rows_skipped) == (12, 8, 4)
    assert report.skipped == Counter(
        {
            "ratings.dat: timestamp: not a number": 1,
            "ratings.dat: rating: expected 4 fields, got 2": 1,
            "ratings.dat: rating: not a number": 1,
            "movies.dat: title: empty title": 1,
        }
    )
    assert len(dataset.interactions) == 4
    assert set(dataset.items) == {"1", "73", "1193", "200"}
