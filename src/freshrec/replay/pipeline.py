"""A whole replay run: split by time, train the starting model on the past, replay the stream through
every strategy, summarise. ``freshrec replay`` and the main job call :func:`run_replay`."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from freshrec.data.records import Dataset
from freshrec.models.sequential import TransformerRecommender
from freshrec.models.transformer import ModelConfig
from freshrec.replay.metrics import summarise
from freshrec.replay.runner import run_strategy, stream_facts
from freshrec.replay.split import time_split
from freshrec.replay.strategies import STRATEGIES, StrategyContext, build_strategy
from freshrec.replay.tuning import choose_half_life
from freshrec.text.encoder import TextEncoder
from freshrec.training.online import OnlineConfig
from freshrec.training.pipeline import fit_transformer, prepare
from freshrec.training.trainer import TrainConfig

SCHEMA = "freshrec.replay/1"


@dataclass
class ReplayConfig:
    """What a replay compares and how; the defaults are ``freshrec replay``'s."""

    strategies: tuple[str, ...] = STRATEGIES
    fraction: float = 0.8  # share of events (by time) before the cut-off
    k: int = 10
    windows: int = 10  # time windows (equal event counts) for the metrics over time
    short_history: int = 5  # "short history": at most this many earlier interactions
    retrain_every: int = 5000  # the periodic-retrain baseline's period, in interactions
    trend_half_life: float | None = None  # stream seconds; None: chosen by a validation replay (tuning.py)
    max_lag_events: int | None = 1000  # see StrategyContext
    model: ModelConfig = field(default_factory=lambda: ModelConfig(num_items=1))
    train: TrainConfig = field(default_factory=TrainConfig)
    online: OnlineConfig = field(default_factory=lambda: OnlineConfig(every_events=250, max_busy=1.0))

    def __post_init__(self) -> None:
        unknown = [s for s in self.strategies if s not in STRATEGIES]
        if unknown or not self.strategies:
            raise ValueError(f"strategies {unknown or '(none)'}: choose from {', '.join(STRATEGIES)}")
        if self.k < 1 or self.windows < 1 or self.retrain_every < 1:
            raise ValueError("k, windows and retrain_every must be at least 1")


def run_replay(
    dataset: Dataset,
    encoder: TextEncoder | None,
    config: ReplayConfig | None = None,
    model: TransformerRecommender | None = None,
    work_dir: Path | None = None,
    progress: bool = True,
    say: Callable[[str], None] = print,
) -> dict[str, object]:
    """Run the replay and return its results (the JSON document ``freshrec replay`` writes).

    ``model`` must have been trained on data before the cut-off only; by default one is trained here.
    """
    config = config or ReplayConfig()
    started = time.perf_counter()
    split = time_split(dataset, config.fraction)
    say(f"replay split: {split.summary()}")
    model_config = replace(config.model, use_text=config.model.use_text and encoder is not None)
    if model is not None:  # retraining from scratch (the `retrain` baseline) rebuilds the same architecture
        model_config = replace(model.model.config)
    train_seconds = 0.0
    if model is None:
        say("training the starting model on the events before the cut-off")
        tick = time.perf_counter()
        prepared = prepare(split.train, encoder if model_config.use_text else None, progress=progress)
        model, _ = fit_transformer(prepared, model_config, config.train, progress=progress)
        train_seconds = time.perf_counter() - tick
    facts = stream_facts(split)
    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="freshrec-replay-", dir=work_dir) as folder:
        context = StrategyContext(
            split, dataset.items, model, encoder, Path(folder), model_config, config.train, config.online,
            config.retrain_every, 6 * 3600.0, config.max_lag_events, dataset.interactions.time_ordered(),
        )  # fmt: skip
        half_life = config.trend_half_life
        if half_life is None and "online+trend" in config.strategies:
            half_life, scores = choose_half_life(context)
            tried = ", ".join(f"{h / 3600:g} h: {hr:.4f}" for h, hr in scores.items())
            say(f"trending half-life {half_life / 3600:g} h, chosen on the last 10% before the cut-off (HR@10 {tried})")
        context.trend_half_life = half_life or context.trend_half_life
        for name in config.strategies:
            run = run_strategy(build_strategy(name, context), split, config.k, progress)
            results[name] = summarise(run, facts, config.k, config.windows, config.short_history)
            overall = results[name]["overall"]  # type: ignore[index]
            say(f"  {name}: HR@{config.k} {overall[f'HR@{config.k}']:.4f}, {run.events_per_second:,.0f} events/s")
    return {
        "schema": SCHEMA,
        "dataset": dataset.name,
        "config": {
            "strategies": list(config.strategies), "fraction": config.fraction, "k": config.k,
            "windows": config.windows, "short_history": config.short_history, "retrain_every": config.retrain_every,
            "trend_half_life": context.trend_half_life, "max_lag_events": config.max_lag_events,
        },
        "split": {
            "cutoff_time": split.cutoff_time, "train_events": len(split.train.interactions),
            "stream_events": len(split.stream), "new_items": len(split.new_items),
            "interactions_on_new_items": int(facts.new_item.sum()),
            "short_history_interactions": int((facts.prior <= config.short_history).sum()),
        },
        "starting_model_train_seconds": train_seconds,
        "strategies": results,
        "seconds": time.perf_counter() - started,
    }  # fmt: skip
