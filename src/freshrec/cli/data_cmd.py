"""``freshrec data ...``: fetch, inspect and generate data sets."""

from __future__ import annotations

import csv
from pathlib import Path

import click

from freshrec.cli.options import dataset_options, open_dataset
from freshrec.data.fetch import FetchError, fetch_ml100k
from freshrec.data.records import CODE_KINDS
from freshrec.data.synthetic import PRESETS, generate_preset


@click.group()
def data() -> None:
    """Fetch, inspect and generate data sets."""


@data.command()
@click.argument("name", type=click.Choice(["ml-100k"]))
def fetch(name: str) -> None:
    """Download a public data set into the cache ($FRESHREC_CACHE or ~/.cache/freshrec)."""
    try:
        click.echo(fetch_ml100k())
    except FetchError as error:
        raise click.ClickException(str(error)) from error


@data.command()
@dataset_options
def info(dataset: str, items_path: Path | None, columns: str | None, skip_bad_rows: bool) -> None:
    """Load a data set and print its size (and what was skipped, if asked to skip bad rows)."""
    loaded = open_dataset(dataset, items_path, columns, skip_bad_rows)
    click.echo(loaded.summary())


@data.command()
@click.option("--size", type=click.Choice(list(PRESETS)), default="small", show_default=True)
@click.option("--seed", default=0, show_default=True)
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Folder for events.csv and items.csv.")
def synth(size: str, seed: int, out: Path) -> None:
    """Write a synthetic stream with known clusters, interest shifts, new items and trending bursts."""
    dataset, _ = generate_preset(size, seed)
    out.mkdir(parents=True, exist_ok=True)
    it = dataset.interactions
    with open(out / "events.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["user_id", "item_id", "kind", "timestamp"])
        for u, i, k, t in zip(it.users, it.items, it.kinds, it.timestamps, strict=True):
            writer.writerow([it.user_ids[u], it.item_ids[i], CODE_KINDS[k].value, f"{t:.3f}"])
    with open(out / "items.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["item_id", "text", "categories", "added_at"])
        for item in dataset.items.values():
            writer.writerow([item.item_id, item.text, "|".join(item.categories), item.added_at])
    click.echo(f"{dataset.summary()} -> {out}/events.csv, {out}/items.csv")
    click.echo(
        f"load it with: freshrec data info --dataset {out}/events.csv --items {out}/items.csv --columns kind=kind"
    )
