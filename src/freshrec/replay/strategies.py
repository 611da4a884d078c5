"""The strategies a replay compares. Each answers ``recommend`` before it ``observe``s the event.

``static``, ``fresh``, ``online`` and ``online+trend`` are the real engine in different configurations,
all starting from the same model; ``retrain`` is the engine with its model retrained from scratch every
N events; ``popular`` and ``markov`` are per-event baselines (:mod:`freshrec.replay.baselines`).
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

import numpy as np

from freshrec.data.records import Dataset, Event, EventKind, Interactions, Item
from freshrec.engine.engine import Engine, EngineConfig
from freshrec.engine.policy import PolicyConfig
from freshrec.models.sequential import TransformerRecommender
from freshrec.models.transformer import ModelConfig
from freshrec.replay.baselines import MarkovStrategy, PopularStrategy
from freshrec.replay.split import TimeSplit, subset
from freshrec.text.encoder import TextEncoder
from freshrec.training.online import OnlineConfig, OnlineTrainer
from freshrec.training.pipeline import fit_transformer, prepare
from freshrec.training.trainer import TrainConfig

STRATEGIES = ("static", "fresh", "online", "online+trend", "popular", "markov", "retrain")


class Strategy(Protocol):
    name: str

    def recommend(self, user_id: str, k: int, exclude: set[str]) -> list[str]: ...

    def observe(self, event: Event) -> None: ...

    def finish(self) -> dict[str, object]:
        """Stop background work; return what it cost (seconds of training, updates, lag)."""


@dataclass
class StrategyContext:
    """What every strategy starts from: the split, the starting model, and how to build more models."""

    split: TimeSplit
    items: dict[str, Item]  # the whole catalog's text (new items are added when they first appear)
    model: TransformerRecommender
    encoder: TextEncoder | None
    work_dir: Path
    model_config: ModelConfig
    train_config: TrainConfig
    online: OnlineConfig = field(default_factory=OnlineConfig)
    retrain_every: int = 5000
    trend_half_life: float = 6 * 3600.0  # stream seconds (see EngineConfig)
    # the replay pauses while the online model is more than this many log entries behind, as if the stream
    # came no faster than the trainer keeps up with (ml-100k's real rate is one event every ~3 minutes);
    # None: replay as fast as possible, however far the trainer falls behind
    max_lag_events: int | None = 1000
    ordered: Interactions | None = None  # all interactions in time order (for retraining from scratch)


def static_policy() -> PolicyConfig:
    """The model alone: no trending blend, no exploration, items it never trained on not shown."""
    return PolicyConfig(trend_weight=0.0, new_items=False, new_item_bonus=0.0)


class EngineStrategy:
    """The engine, fed the data before the cut-off; ``frozen`` stops it learning from the stream."""

    def __init__(self, name: str, context: StrategyContext, policy: PolicyConfig, frozen: bool = False) -> None:
        self.name = name
        self.context = context
        self.frozen = frozen
        config = EngineConfig(policy=policy, snapshot_every=0, trend_half_life=context.trend_half_life)
        self.engine = Engine(copy.deepcopy(context.model), context.encoder, context.work_dir / name, config)
        train = context.split.train
        self.engine.add_items([train.items.get(i) or Item(i) for i in train.interactions.item_ids])
        events = train.interactions.events()
        for start in range(0, len(events), 5000):
            self.engine.ingest_many(events[start : start + 5000])
        self.train_seconds = 0.0

    def recommend(self, user_id: str, k: int, exclude: set[str]) -> list[str]:
        return [r.item_id for r in self.engine.recommend(user_id, k, exclude=exclude)]

    def observe(self, event: Event) -> None:
        if self.frozen:
            return
        item_id = event.item_id
        if item_id is not None and item_id not in self.engine.state.items():
            self.engine.add_items([self.context.items.get(item_id) or Item(item_id)])
        self.engine.ingest(event)

    def finish(self) -> dict[str, object]:
        self.engine.close()
        return {"train_seconds": self.train_seconds}


class OnlineStrategy(EngineStrategy):
    """The engine plus the background online trainer."""

    def __init__(self, name: str, context: StrategyContext, policy: PolicyConfig) -> None:
        super().__init__(name, context, policy)
        self.trainer = OnlineTrainer(self.engine, context.online).start()
        self.lags: list[float] = []
        self.waited = 0.0  # seconds the replay paused for the trainer (see max_lag_events)

    def observe(self, event: Event) -> None:
        super().observe(event)
        lag = self.trainer.lag()["events"]
        self.lags.append(lag)
        limit = self.context.max_lag_events
        if limit is not None and lag > limit:
            tick = time.perf_counter()
            while self.trainer.lag()["events"] > limit // 2 and self.trainer.running():
                time.sleep(0.005)
            self.waited += time.perf_counter() - tick

    def finish(self) -> dict[str, object]:
        self.trainer.stop()
        summary = self.trainer.summary()
        self.train_seconds = float(summary["train_seconds"])  # type: ignore[arg-type]
        summary["lag_events_mean"] = float(np.mean(self.lags)) if self.lags else 0.0
        summary["swap_hold_ms_max"] = 1e3 * max(self.engine.swap_seconds, default=0.0)
        summary["waited_seconds"] = self.waited
        return super().finish() | summary


class RetrainStrategy(EngineStrategy):
    """The engine whose model is retrained from scratch on everything so far every ``retrain_every``
    interactions (blocking: the new model serves from the next event, which flatters this baseline)."""

    def __init__(self, name: str, context: StrategyContext) -> None:
        super().__init__(name, context, static_policy())
        self.seen = 0
        self.total = sum(1 for e in context.split.stream if e.kind is not EventKind.SEARCH)
        self.retrains: list[float] = []

    def observe(self, event: Event) -> None:
        super().observe(event)
        if event.kind is EventKind.SEARCH:  # searches are not rows of the interaction table
            return
        self.seen += 1
        if self.seen % self.context.retrain_every == 0 and self.seen < self.total:  # none after the last event
            self._retrain()

    def _retrain(self) -> None:
        context = self.context
        assert context.ordered is not None
        tick = time.perf_counter()
        cut = len(context.split.train.interactions) + self.seen
        interactions = subset(context.ordered, np.arange(cut))
        dataset = Dataset(
            "retrain", interactions, {i: context.items[i] for i in interactions.item_ids if i in context.items}
        )
        prepared = prepare(dataset, context.encoder, progress=False)
        model, _ = fit_transformer(prepared, context.model_config, context.train_config, progress=False)
        self.engine.swap_model(model)
        self.retrains.append(time.perf_counter() - tick)
        self.train_seconds += self.retrains[-1]

    def finish(self) -> dict[str, object]:
        return super().finish() | {"retrains": len(self.retrains), "retrain_seconds": self.retrains}


def build_strategy(name: str, context: StrategyContext) -> Strategy:
    """A ready strategy by name (see ``STRATEGIES``)."""
    if name == "static":
        return EngineStrategy(name, context, static_policy(), frozen=True)
    if name == "fresh":
        return EngineStrategy(name, context, static_policy())
    if name == "online":
        return OnlineStrategy(name, context, static_policy())
    if name == "online+trend":
        return OnlineStrategy(name, context, replace(PolicyConfig(), impression_penalty=0.0))
    if name == "retrain":
        return RetrainStrategy(name, context)
    if name == "popular":
        return PopularStrategy(context.split.train)
    if name == "markov":
        return MarkovStrategy(context.split.train)
    raise ValueError(f"strategy {name!r}: unknown (choose from {', '.join(STRATEGIES)})")
