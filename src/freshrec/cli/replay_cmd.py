"""``freshrec replay``: the time-ordered replay that measures what timeliness is worth."""

from __future__ import annotations

from pathlib import Path

import click

from freshrec.cli.options import dataset_options, open_dataset
from freshrec.models.sequential import TransformerRecommender
from freshrec.replay.pipeline import ReplayConfig, run_replay
from freshrec.replay.report import table, write
from freshrec.replay.strategies import STRATEGIES
from freshrec.training.online import OnlineConfig
from freshrec.training.pipeline import cached_encoder
from freshrec.training.trainer import TrainConfig


def _strategies(_ctx: click.Context, _param: click.Parameter, value: str) -> tuple[str, ...]:
    names = tuple(s.strip() for s in value.split(",") if s.strip())
    unknown = [s for s in names if s not in STRATEGIES]
    if unknown or not names:
        raise click.BadParameter(f"{', '.join(unknown) or '(empty)'}: choose from {', '.join(STRATEGIES)}")
    return names


@click.command()
@dataset_options
@click.option(
    "--strategies",
    default=",".join(STRATEGIES),
    show_default=True,
    callback=_strategies,
    help="Comma-separated strategies to compare.",
)
@click.option(
    "--cutoff",
    default=0.8,
    show_default=True,
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    help="Share of events (by time) the starting model trains on; the rest is replayed.",
)
@click.option("-k", default=10, show_default=True, type=click.IntRange(min=1))
@click.option(
    "--retrain-every",
    default=5000,
    show_default=True,
    type=click.IntRange(min=1),
    help="Interactions between from-scratch retrains (the 'retrain' baseline).",
)
@click.option(
    "--update-every",
    default=250,
    show_default=True,
    type=click.IntRange(min=1),
    help="New interactions that trigger an online update.",
)
@click.option(
    "--trend-half-life",
    type=click.FloatRange(min=1),
    help="Trending half-life in stream seconds (for 'online+trend'; default: chosen by a validation replay "
    "of the last 10% before the cut-off).",
)
@click.option(
    "--max-lag",
    default=1000,
    show_default=True,
    type=click.IntRange(min=0),
    help="Pause the replay while the online model is this many events behind (0: never pause).",
)
@click.option(
    "--checkpoint",
    type=click.Path(exists=True, path_type=Path),
    help="Starting model, trained ONLY on events before the cut-off (default: train one here).",
)
@click.option("--encoder", default="minilm", show_default=True, help="Text encoder (see `freshrec train --help`).")
@click.option("--no-text", is_flag=True, help="ID embeddings only.")
@click.option("--max-epochs", default=200, show_default=True, type=click.IntRange(min=1))
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=Path("replay"),
    show_default=True,
    help="Folder for replay.json, replay.md and replay_over_time.png.",
)
def replay(
    dataset: str,
    items_path: Path | None,
    columns: str | None,
    skip_bad_rows: bool,
    strategies: tuple[str, ...],
    cutoff: float,
    k: int,
    retrain_every: int,
    update_every: int,
    trend_half_life: float | None,
    max_lag: int,
    checkpoint: Path | None,
    encoder: str,
    no_text: bool,
    max_epochs: int,
    out: Path,
) -> None:
    """Train on the past, then replay the rest of the stream in time order: before each interaction every
    strategy recommends for that user, then learns from the event. Prints a table; writes JSON and plots."""
    loaded = open_dataset(dataset, items_path, columns, skip_bad_rows)
    config = ReplayConfig(
        strategies=strategies, fraction=cutoff, k=k, retrain_every=retrain_every, trend_half_life=trend_half_life,
        max_lag_events=max_lag or None, train=TrainConfig(epochs=max_epochs),
        online=OnlineConfig(every_events=update_every, max_busy=1.0),
    )  # fmt: skip
    model = TransformerRecommender.load(checkpoint) if checkpoint else None
    text_encoder = None if no_text else cached_encoder(model.encoder_name if model and model.encoder_name else encoder)
    if no_text:
        config.model.use_text = False
    result = run_replay(loaded, text_encoder, config, model)
    paths = write(result, out)
    click.echo("\n" + table(result) + "\n")
    click.echo(f"written: {', '.join(str(p) for p in paths)}")
