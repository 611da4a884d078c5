"""``freshrec train``, ``evaluate`` and ``recommend``."""

from __future__ import annotations

from pathlib import Path

import click

from freshrec.cli.options import dataset_options, open_dataset
from freshrec.data.records import Dataset
from freshrec.data.sequences import leave_one_out
from freshrec.evaluation.suite import Suite
from freshrec.models.base import Recommender
from freshrec.models.explain import explain
from freshrec.models.popularity import MostPopular
from freshrec.models.sequential import TransformerRecommender
from freshrec.models.transformer import ModelConfig
from freshrec.training.pipeline import cached_encoder, fit_transformer, prepare
from freshrec.training.trainer import TrainConfig


@click.command()
@dataset_options
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=Path("runs/model.pt"),
    show_default=True,
    help="Checkpoint file to write (weights, config, id map, item text vectors).",
)
@click.option("--text/--no-text", default=True, show_default=True, help="Use item text (off: ID embeddings only).")
@click.option(
    "--encoder",
    default="minilm",
    show_default=True,
    help="minilm (bundled all-MiniLM-L6-v2), hashing[:DIM], or a sentence-transformers folder.",
)
@click.option("--hidden", default=64, show_default=True)
@click.option("--layers", default=2, show_default=True)
@click.option("--heads", default=2, show_default=True)
@click.option("--max-len", default=50, show_default=True, help="Longest history the model reads.")
@click.option("--dropout", default=0.2, show_default=True)
@click.option("--epochs", default=200, show_default=True, help="Upper bound; early stopping usually ends sooner.")
@click.option("--batch-size", default=64, show_default=True)
@click.option("--lr", default=1e-3, show_default=True)
@click.option("--patience", default=10, show_default=True, help="Epochs without a better validation NDCG@10.")
@click.option(
    "--loss",
    type=click.Choice(["full", "sampled"]),
    default="full",
    show_default=True,
    help="Cross-entropy over the whole catalog, or a sampled softmax for large catalogs.",
)
@click.option("--negatives", default=1024, show_default=True, help="Negatives per batch for --loss sampled.")
@click.option("--seed", default=2020, show_default=True)
def train(dataset: str, items_path: Path | None, columns: str | None, skip_bad_rows: bool, out: Path,
          text: bool, encoder: str, hidden: int, layers: int, heads: int, max_len: int, dropout: float,
          epochs: int, batch_size: int, lr: float, patience: int, loss: str, negatives: int, seed: int) -> None:  # fmt: skip
    """Train the transformer recommender with early stopping and save a checkpoint."""
    loaded = open_dataset(dataset, items_path, columns, skip_bad_rows)
    prepared = prepare(loaded, cached_encoder(encoder) if text else None)
    try:
        model_config = ModelConfig(1, hidden, layers, heads, max_len, dropout, use_text=text)
        train_config = TrainConfig(epochs, batch_size, lr, patience=patience, seed=seed, loss=loss,  # type: ignore[arg-type]
                                   negatives=negatives)  # fmt: skip
    except ValueError as error:
        raise click.BadParameter(str(error)) from error
    model, result = fit_transformer(prepared, model_config, train_config)
    model.save(out, {"train": result.to_dict(), "dataset": loaded.name})
    click.echo(f"best epoch {result.best_epoch}: validation {result.best_valid} "
               f"({result.seconds_to_best:.0f}s to best, {result.seconds_total:.0f}s in all) -> {out}")  # fmt: skip


def _load_checkpoint(path: Path, loaded: Dataset) -> TransformerRecommender:
    model = TransformerRecommender.load(path)
    if model.item_ids != loaded.interactions.item_ids:
        raise click.ClickException(f"{path} was trained on a different item set than {loaded.name}")
    return model


@click.command()
@dataset_options
@click.option(
    "--checkpoint",
    "checkpoints",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="A trained model (repeat to compare several).",
)
@click.option("--baselines/--no-baselines", default=True, show_default=True, help="Include most-popular.")
@click.option("--encoder", default="minilm", show_default=True, help="For the diversity metric's item vectors.")
@click.option("--json", "json_path", type=click.Path(path_type=Path), help="Write results (docs/results-json.md).")
def evaluate(dataset: str, items_path: Path | None, columns: str | None, skip_bad_rows: bool,
             checkpoints: tuple[Path, ...], baselines: bool, encoder: str, json_path: Path | None) -> None:  # fmt: skip
    """Leave-one-out full-ranking evaluation of checkpoints and baselines on the test split."""
    loaded = open_dataset(dataset, items_path, columns, skip_bad_rows)
    prepared = prepare(loaded, cached_encoder(encoder))
    models: list[Recommender] = []
    if baselines:
        models.append(MostPopular.fit(prepared.split.train, loaded.interactions.num_items))
    models += [_load_checkpoint(path, loaded) for path in checkpoints]
    if not models:
        raise click.UsageError("nothing to evaluate: give --checkpoint or keep --baselines")
    it = loaded.interactions
    suite = Suite({"name": loaded.name, "interactions": len(it), "users": it.num_users, "items": it.num_items,
                   "evaluated_users": len(prepared.split.valid_users)})  # fmt: skip
    suite.run(models, prepared.split, prepared.text_vectors, progress=True)
    click.echo(suite.table())
    if json_path:
        suite.write_json(json_path)
        click.echo(f"results written to {json_path}")


@click.command()
@dataset_options
@click.option("--checkpoint", type=click.Path(exists=True, path_type=Path), required=True)
@click.option("--user", "user_id", required=True, help="User id as in the data set.")
@click.option("-k", default=10, show_default=True, type=click.IntRange(min=1))
def recommend(dataset: str, items_path: Path | None, columns: str | None, skip_bad_rows: bool,
              checkpoint: Path, user_id: str, k: int) -> None:  # fmt: skip
    """Top-k for one user of the data set (their whole history as input), with reasons."""
    loaded = open_dataset(dataset, items_path, columns, skip_bad_rows)
    model = _load_checkpoint(checkpoint, loaded)
    it = loaded.interactions
    if user_id not in it.user_ids:
        raise click.BadParameter(f"user {user_id!r} is not in {loaded.name}", param_hint="--user")
    history = leave_one_out(it).sequences[it.user_ids.index(user_id)]
    top = model.recommend(history, k)
    scores = model.score_histories([history])[0]

    for rank, (code, why) in enumerate(zip(top, explain(model, history, top), strict=True), start=1):
        because = ", ".join(loaded.label(a.history_item) for a in why) or "overall taste"
        click.echo(f"{rank:>3}. {loaded.label(int(code))}  [score {scores[code]:.2f}; because of: {because}]")
    if not len(top):
        raise click.ClickException("no items left to recommend: the user has seen the whole catalog")
