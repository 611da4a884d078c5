"""Train several models at once, one process each with an equal share of the cores.

Small transformers (hidden 64) keep two threads poorly busy, so two single-threaded trainings side by
side finish sooner than the same two one after the other.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

import torch

from freshrec.agents.sequence.pipeline import Prepared, fit_transformer
from freshrec.agents.sequence.sequential import TransformerRecommender
from freshrec.agents.sequence.trainer import TrainConfig, TrainResult
from freshrec.agents.sequence.transformer import ModelConfig


def _fit_one(
    prepared: Prepared, model_config: ModelConfig, train_config: TrainConfig, threads: int, position: int | None
) -> tuple[TransformerRecommender, TrainResult]:
    torch.set_num_threads(threads)
    progress = position is not None
    return fit_transformer(prepared, model_config, train_config, progress=progress, progress_position=position or 0)


def fit_side_by_side(
    prepared: Prepared,
    model_configs: list[ModelConfig],
    train_config: TrainConfig,
    workers: int | None = None,
    progress: bool = True,
) -> list[tuple[TransformerRecommender, TrainResult]]:
    """Train one model per config; ``workers`` processes at once (default: one per config, at most one
    per core). With one worker this is a plain loop in this process."""
    cores = os.cpu_count() or 1
    workers = min(workers or len(model_configs), len(model_configs), cores)
    if workers <= 1:
        return [fit_transformer(prepared, c, train_config, progress=progress) for c in model_configs]
    context = multiprocessing.get_context("spawn")  # a clean interpreter: no forked torch thread pools
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        futures = [
            pool.submit(_fit_one, prepared, config, train_config, max(1, cores // workers), i if progress else None)
            for i, config in enumerate(model_configs)
        ]
        return [future.result() for future in futures]
