"""From a loaded data set to trained models: text vectors, model construction, training."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from freshrec.agents.sequence.sequential import TransformerRecommender
from freshrec.agents.sequence.trainer import EpochLog, TrainConfig, TrainResult, seed_everything, train
from freshrec.agents.sequence.transformer import ModelConfig, SequenceRecommender
from freshrec.envs.text.cache import CachedEncoder
from freshrec.envs.text.encoder import TextEncoder, make_encoder
from freshrec.simulators.data.fetch import cache_dir
from freshrec.simulators.data.records import Dataset
from freshrec.simulators.data.sequences import LeaveOneOutSplit, leave_one_out


@dataclass
class Prepared:
    """A data set with its split and (optionally) the text vector of every item code."""

    dataset: Dataset
    split: LeaveOneOutSplit
    text_vectors: np.ndarray | None  # (num_items + 1, D), row 0 zeros; None when text is off
    encoder_name: str | None


def encode_items(texts: list[str], encoder: TextEncoder, batch: int = 256, progress: bool = True) -> np.ndarray:
    """(len(texts) + 1, D) unit vectors with a zero padding row 0, encoded in batches with a bar."""
    out = np.zeros((len(texts) + 1, encoder.dim), dtype=np.float32)
    for start in tqdm(range(0, len(texts), batch), desc="encoding item text", unit="batch", disable=not progress):
        out[1 + start : 1 + start + batch] = encoder.encode(texts[start : start + batch])
    return out


def cached_encoder(spec: str, cache: Path | None = None) -> CachedEncoder:
    """The encoder named by ``spec`` behind the on-disk embedding cache."""
    return CachedEncoder(make_encoder(spec), (cache or cache_dir()) / "text-embeddings.sqlite")


def prepare(dataset: Dataset, encoder: TextEncoder | None, progress: bool = True) -> Prepared:
    split = leave_one_out(dataset.interactions)
    vectors = encode_items(dataset.item_texts(), encoder, progress=progress) if encoder else None
    return Prepared(dataset, split, vectors, encoder.name if encoder else None)


def fit_transformer(
    prepared: Prepared,
    model_config: ModelConfig,
    train_config: TrainConfig,
    progress: bool = True,
    on_epoch: Callable[[EpochLog], None] | None = None,
    progress_position: int = 0,
) -> tuple[TransformerRecommender, TrainResult]:
    """Build a model for ``prepared`` (text on if ``model_config.use_text``) and train it."""
    config = replace(model_config, num_items=prepared.dataset.interactions.num_items)
    text = None
    if config.use_text:
        if prepared.text_vectors is None:
            raise ValueError("use_text=True but the data was prepared without a text encoder")
        config = replace(config, text_dim=prepared.text_vectors.shape[1])
        text = torch.from_numpy(prepared.text_vectors)
    seed_everything(train_config.seed)
    model = SequenceRecommender(config, text)
    return train(
        model,
        prepared.dataset.interactions.item_ids,
        prepared.split,
        train_config,
        encoder_name=prepared.encoder_name if config.use_text else None,
        progress=progress,
        on_epoch=on_epoch,
        progress_position=progress_position,
    )
