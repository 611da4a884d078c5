"""A tiny MovieLens-100k folder (``u.data``, ``u.item``) written from planted parameters, so a calibration
can be checked against the truth (importable: pytest's pythonpath has tests/)."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from freshrec.simulators.data.movielens import ML100K_GENRES

GENRES = ("Action", "Comedy", "Drama", "Horror")  # the planted clusters; sorted, as the calibration sorts names
DAY = 86_400.0
START = 880_000_000.0  # seconds: late 1997, as ml-100k
SESSION, SESSIONS, SPACING = 10, 6, 60.0  # ratings per session, sessions per user, seconds between ratings
GAP_DAYS = 3.0  # a user's sessions start this many days apart
CRITICS = 4  # users 1001..1004 rate each movie first, at its planted debut


@dataclass(frozen=True)
class Planted:
    """What the log was generated from (indices are movie ids - 1)."""

    folder: Path
    genre: np.ndarray  # (I,) index into GENRES: the movie's cluster
    second_genre: np.ndarray  # (I,) bool: a decoy second genre is listed too
    quality: np.ndarray  # (I,)
    debut: np.ndarray  # (I,) seconds of the movie's first rating
    user_genre: np.ndarray  # (U,) cluster of each regular user (ids 1..U)


def write_planted_ml100k(folder: Path, users: int = 64, items: int = 96, seed: int = 0) -> Planted:
    """Users rate movies of their cluster in sessions; movies debut over time; ratings follow quality."""
    gen = np.random.default_rng(seed)
    genre = np.arange(items) % len(GENRES)
    second = np.arange(items) % 3 == 0
    quality = gen.standard_normal(items)
    half = items // 2  # half the movies exist from the start, the rest debut one every half day after a week
    debut = START + np.where(
        np.arange(items) < half, np.arange(items) * 600.0, 8 * DAY + (np.arange(items) - half) * DAY / 2
    )
    user_genre = np.arange(users) % len(GENRES)
    rows: list[tuple[int, int, int, float]] = []

    def rating(item: int) -> int:
        return int(np.clip(np.rint(3 + quality[item] + 0.3 * gen.standard_normal()), 1, 5))

    for item in range(items):
        rows.append((1001 + genre[item], item + 1, rating(item), debut[item]))
    for u in range(users):
        rated: set[int] = set()
        for s in range(SESSIONS):
            begin = START + DAY + (u % 5) * 3600.0 + s * GAP_DAYS * DAY
            for r in range(SESSION):
                t = begin + r * SPACING
                live = [i for i in range(items) if debut[i] <= t and i not in rated]
                mine = [i for i in live if genre[i] == user_genre[u]]
                pool = mine if mine and gen.random() < 0.9 else live
                item = int(pool[int(gen.integers(len(pool)))])
                rated.add(item)
                rows.append((u + 1, item + 1, rating(item), t))
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "u.data").open("w") as f:
        f.writelines(f"{u}\t{i}\t{r}\t{int(t)}\n" for u, i, r, t in rows)
    with (folder / "u.item").open("w", encoding="latin-1") as f:
        for item in range(items):
            names = {GENRES[genre[item]]} | ({GENRES[(genre[item] + 1) % len(GENRES)]} if second[item] else set())
            flags = "|".join("1" if g in names else "0" for g in ML100K_GENRES)
            f.write(f"{item + 1}|Planted Movie {item + 1} (1997)|01-Jan-1997||http://example.org|{flags}\n")
    return Planted(folder, genre, second, quality, debut, user_genre)


_FOLDER: Path | None = None


def planted_folder() -> Path:
    """One planted folder per test process (the calibration of it is then fitted once and kept in memory)."""
    global _FOLDER
    if _FOLDER is None:
        _FOLDER = Path(tempfile.mkdtemp(prefix="freshrec-planted-ml100k-"))
        write_planted_ml100k(_FOLDER)
    return _FOLDER
