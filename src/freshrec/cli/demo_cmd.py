"""``freshrec demo``: the main job."""

from __future__ import annotations

from pathlib import Path

import click

from freshrec.demo import DemoConfig, run_demo
from freshrec.training.trainer import TrainConfig


@click.command()
@click.option("--dataset", default="ml-100k", show_default=True, help="Any data set `freshrec train` accepts.")
@click.option("--encoder", default="minilm", show_default=True, help="Text encoder (see `freshrec train --help`).")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=Path("report"),
    show_default=True,
    help="Report folder: report.md, PNG plots, results.json, checkpoints.",
)
@click.option("--max-epochs", default=200, show_default=True, help="Upper bound per model (early stopping).")
@click.option("--workers", type=int, help="Processes training side by side (default: one per model, one per core).")
@click.option(
    "--replay/--no-replay",
    default=True,
    show_default=True,
    help="Also run the time-ordered replay (static / fresh / online / online+trend and baselines).",
)
def demo(dataset: str, encoder: str, out: Path, max_epochs: int, workers: int | None, replay: bool) -> None:
    """Fetch ml-100k, train the text-aware transformer beside its baselines, evaluate, explain, report.

    Then replays the last 20% of the events in time order to show what timeliness is worth. Prints the
    results tables and a few users' recommendations with the history items that drove them.
    """
    config = DemoConfig(
        dataset=dataset, encoder=encoder, out=out, train=TrainConfig(epochs=max_epochs), workers=workers
    )
    if not replay:
        config.replay = None
    run_demo(config)
