"""A small model trained once on the synthetic stream, and engines built on it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from freshrec.data.records import Dataset
from freshrec.data.synthetic import SyntheticTruth, generate
from freshrec.engine.engine import Engine, EngineConfig
from freshrec.models.sequential import TransformerRecommender
from freshrec.models.transformer import ModelConfig
from freshrec.text.encoder import HashingEncoder
from freshrec.training.pipeline import fit_transformer, prepare
from freshrec.training.trainer import TrainConfig


@dataclass
class Trained:
    dataset: Dataset
    truth: SyntheticTruth
    model: TransformerRecommender
    encoder: HashingEncoder

    def cluster_items(self, cluster: int) -> list[str]:
        return [self.dataset.interactions.item_ids[i] for i, c in enumerate(self.truth.item_cluster) if c == cluster]

    def cluster_of(self, item_id: str) -> int:
        return int(self.truth.item_cluster[int(item_id.removeprefix("i"))])


@pytest.fixture(scope="session")
def trained() -> Trained:
    dataset, truth = generate(users=400, items=300, events=30_000, clusters=10, new_item_share=0.0, seed=3)
    encoder = HashingEncoder(64)
    prepared = prepare(dataset, encoder, progress=False)
    config = ModelConfig(num_items=1, hidden=32, layers=1, heads=2, max_len=50, dropout=0.1)
    model, _ = fit_transformer(
        prepared, config, TrainConfig(epochs=12, batch_size=64, lr=3e-3, patience=4), progress=False
    )
    return Trained(dataset, truth, model, encoder)


@pytest.fixture(params=["exact", "approximate"])
def engine(trained: Trained, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Engine]:
    """An engine with the whole catalog and no events yet, scoring the whole catalog or going
    through the faiss index (every behaviour test runs against both)."""
    approximate_above = 0 if request.param == "approximate" else 10**9
    engine = Engine(
        trained.model, trained.encoder, tmp_path / "engine", EngineConfig(approximate_above=approximate_above)
    )
    engine.add_items(list(trained.dataset.items.values()))
    yield engine
    engine.close()
