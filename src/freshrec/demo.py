"""The main job: fetch ml-100k, train the text-aware transformer and its baselines, evaluate them,
show explained recommendations for a few users, and write a report folder."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from freshrec.data.loaders import load_dataset
from freshrec.evaluation.suite import Suite
from freshrec.models.base import Recommender
from freshrec.models.explain import explain
from freshrec.models.popularity import MostPopular
from freshrec.models.sequential import TransformerRecommender
from freshrec.models.transformer import ModelConfig
from freshrec.replay.pipeline import ReplayConfig, run_replay
from freshrec.replay.report import plot_over_time, table
from freshrec.report.markdown import write_report
from freshrec.report.plots import metrics_by_model, training_curves
from freshrec.training.parallel import fit_side_by_side
from freshrec.training.pipeline import Prepared, cached_encoder, prepare
from freshrec.training.trainer import TrainConfig, TrainResult

# the replay in the main job: every strategy but periodic retraining from scratch, whose retrains would
# double the run time (benchmarks/bench_replay.py runs it; `freshrec replay` runs all by default)
DEMO_STRATEGIES = ("static", "fresh", "online", "online+trend", "popular", "markov")
STEPS = 6


@dataclass
class DemoConfig:
    """What the demo runs on; the defaults are the README's main job."""

    dataset: str = "ml-100k"
    encoder: str = "minilm"
    out: Path = Path("report")
    model: ModelConfig | None = None
    train: TrainConfig | None = None
    users_shown: int = 3
    replay: ReplayConfig | None = field(default_factory=lambda: ReplayConfig(strategies=DEMO_STRATEGIES))  # None: skip
    workers: int | None = None  # processes training side by side (default: one per model, one per core)
    progress: bool = True


@dataclass
class ExplainedItem:
    item: str
    because_of: list[str]


@dataclass
class UserExample:
    user: str
    recent_history: list[str]  # newest first
    recommendations: list[ExplainedItem]


def user_examples(model: Recommender, prepared: Prepared, count: int, k: int = 5) -> list[UserExample]:
    """Top-k for a few users with titles, each with the history items that most drove it."""
    split, dataset = prepared.split, prepared.dataset
    chosen = split.valid_users[np.linspace(0, len(split.valid_users) - 1, count).astype(int)]
    examples = []
    for user in chosen:
        history = split.sequences[user]
        top = model.recommend(history, k=k)
        recs = [
            ExplainedItem(dataset.label(int(code)), [dataset.label(a.history_item) for a in why])
            for code, why in zip(top, explain(model, history, top), strict=True)
        ]
        recent = [dataset.label(int(code)) for code in history[-5:][::-1]]
        examples.append(UserExample(dataset.interactions.user_ids[user], recent, recs))
    return examples


def run_demo(config: DemoConfig) -> Suite:
    """Run the whole main job and return the evaluation suite (also written to ``config.out``)."""
    started = time.perf_counter()
    out = config.out
    (out / "models").mkdir(parents=True, exist_ok=True)
    say = print if config.progress else (lambda *a, **k: None)
    dataset, report = load_dataset(config.dataset)
    say(f"[1/{STEPS}] data: {dataset.summary()} ({report.describe()})")
    prepared_encoder = cached_encoder(config.encoder)
    prepared = prepare(dataset, prepared_encoder, progress=config.progress)
    model_config = config.model or ModelConfig(num_items=1)
    train_config = config.train or TrainConfig()
    say(f"[2/{STEPS}] training the ID-only and the text-aware transformer (early stopping on validation NDCG@10)")
    configs = [replace(model_config, use_text=False), replace(model_config, use_text=True)]
    trained = fit_side_by_side(prepared, configs, train_config, config.workers, config.progress)
    runs: dict[str, TrainResult] = {}
    models: list[Recommender] = [MostPopular.fit(prepared.split.train, dataset.interactions.num_items)]
    for model, result in trained:
        say(f"      {model.name}: best epoch {result.best_epoch} at {result.seconds_to_best:.0f}s, stopped at "
            f"epoch {result.epochs[-1].epoch} ({result.seconds_total:.0f}s), "
            f"validation NDCG@10 {result.best_valid['NDCG@10']:.4f}")  # fmt: skip
        runs[model.name] = result
        model.save(
            out / "models" / f"{'text' if model.model.config.use_text else 'id'}.pt", {"train": result.to_dict()}
        )
        models.append(model)
    say(f"[3/{STEPS}] evaluating on the test split (full ranking over all items)")
    interactions = dataset.interactions
    suite = Suite({"name": dataset.name, "interactions": len(interactions), "users": interactions.num_users,
                   "items": interactions.num_items, "evaluated_users": len(prepared.split.valid_users)})  # fmt: skip
    suite.training = {name: run.to_dict() for name, run in runs.items()}
    suite.run(models, prepared.split, prepared.text_vectors, progress=config.progress)
    suite.write_json(out / "results.json")
    say("\n" + suite.table() + "\n")
    text_model = models[-1]
    assert isinstance(text_model, TransformerRecommender)
    say(f"[4/{STEPS}] explained recommendations for a few users")
    examples = user_examples(text_model, prepared, config.users_shown)
    (out / "examples.json").write_text(json.dumps([asdict(e) for e in examples], indent=2))
    for example in examples:
        say(f"user {example.user}, recently: {'; '.join(example.recent_history[:3])}")
        for rec in example.recommendations:
            say(f"   -> {rec.item}    (because of: {', '.join(rec.because_of) or 'overall taste'})")
    replay = None
    if config.replay is not None:
        say(f"[5/{STEPS}] replay: train on the first {config.replay.fraction:.0%} of events by time, replay the rest")
        replay_config = replace(config.replay, train=train_config, model=model_config)
        replay = run_replay(dataset, prepared_encoder, replay_config, progress=config.progress, say=say)
        (out / "replay.json").write_text(json.dumps(replay, indent=1, default=float))
        plot_over_time(replay, out / "replay_over_time.png")  # the report's replay section shows it
        say("\n" + table(replay) + "\n")
    say(f"[{STEPS}/{STEPS}] writing the report")
    plots = [
        training_curves(runs, out / "training_curve.png"),
        metrics_by_model(
            [r for r in suite.results if r.split == "test" and r.exclude_seen], out / "metrics_by_model.png"
        ),
    ]
    write_report(out / "report.md", suite, examples, plots, time.perf_counter() - started, replay)
    say(f"report written to {out / 'report.md'} ({time.perf_counter() - started:.0f}s in all)")
    return suite
