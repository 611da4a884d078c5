"""Full training: every position of every user's sequence is a target, cross-entropy over the
whole catalog (or a sampled softmax for large catalogs), AdamW, early stopping on validation NDCG@10."""

from __future__ import annotations

import copy
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor
from tqdm import tqdm

from freshrec.agents.sequence.leave_one_out import evaluate
from freshrec.agents.sequence.sequential import TransformerRecommender
from freshrec.agents.sequence.transformer import SequenceRecommender
from freshrec.simulators.data.sequences import LeaveOneOutSplit, training_windows


@dataclass
class TrainConfig:
    """Optimisation settings. ``loss='sampled'`` scores ``negatives`` shared random items per batch."""

    epochs: int = 200
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.01
    patience: int = 10
    seed: int = 2020
    loss: Literal["full", "sampled"] = "full"
    negatives: int = 1024
    grad_clip: float = 1.0
    valid_metric: str = "NDCG@10"
    max_seconds: float | None = None

    def __post_init__(self) -> None:
        if self.loss not in ("full", "sampled"):
            raise ValueError(f"loss={self.loss!r} must be 'full' or 'sampled'")
        if self.epochs < 1 or self.batch_size < 1 or self.patience < 1:
            raise ValueError("epochs, batch_size and patience must be at least 1")


@dataclass
class EpochLog:
    epoch: int
    loss: float
    seconds: float
    valid: dict[str, float] = field(default_factory=dict)


@dataclass
class TrainResult:
    best_epoch: int
    best_valid: dict[str, float]
    epochs: list[EpochLog]
    seconds_to_best: float
    seconds_total: float

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 - seeds the legacy global state for any code that still uses it
    torch.manual_seed(seed)


def length_bucketed_batches(
    windows: Tensor, lengths: Tensor, batch_size: int, generator: torch.Generator, pool: int = 50
) -> list[Tensor]:
    """Shuffled batches of windows of similar length, with all-padding leading columns cut off.

    Windows are shuffled, then sorted by length inside pools of ``pool`` batches, so batches stay
    random across epochs while short sequences no longer pay for 200 positions of padding.
    """
    order = torch.randperm(len(windows), generator=generator)
    batches: list[Tensor] = []
    for chunk in torch.split(order, batch_size * pool):
        chunk = chunk[torch.argsort(lengths[chunk], stable=True)]
        for ids in torch.split(chunk, batch_size):
            width = int(lengths[ids].max())  # windows are left-padded: keep the last `width` columns
            batches.append(windows[ids, -width:])
    shuffled = torch.randperm(len(batches), generator=generator).tolist()
    return [batches[i] for i in shuffled]


def sequence_loss(model: SequenceRecommender, windows: Tensor, config: TrainConfig) -> Tensor:
    """Mean next-item cross-entropy over all real positions of a batch of windows (B, L+1)."""
    inputs, targets = windows[:, :-1], windows[:, 1:]
    vectors = model.item_vectors()  # (N+1, H)
    states = model.encode(inputs, vectors)  # (B, L, H)
    real = (targets > 0) & (inputs > 0)  # a sequence's first item has no context: not a target
    states, targets = states[real], targets[real]  # (T, H), (T,)
    if config.loss == "full":
        # logits over items 1..N only: no in-place padding mask on the (T, N) logits, which would make
        # autograd clone them in the backward pass
        return F.cross_entropy(states @ vectors[1:].T, targets - 1)
    # sampled softmax: the positive plus shared uniform negatives; accidental hits are masked out.
    # Uniform sampling makes the logQ correction a constant, so it cancels.
    negatives = torch.randint(1, vectors.shape[0], (config.negatives,), device=windows.device)
    positive = (states * vectors[targets]).sum(-1, keepdim=True)  # (T, 1)
    negative = states @ vectors[negatives].T  # (T, S)
    negative = negative.masked_fill(negatives.unsqueeze(0) == targets.unsqueeze(1), float("-inf"))
    return F.cross_entropy(torch.cat([positive, negative], dim=1), torch.zeros_like(targets))


def train_epoch(
    model: SequenceRecommender,
    optimizer: torch.optim.Optimizer,
    windows: Tensor,
    lengths: Tensor,
    config: TrainConfig,
    generator: torch.Generator,
) -> float:
    """One pass over all training windows; returns the mean batch loss. Leaves the model in eval mode."""
    model.train()
    total, batches = 0.0, 0
    for batch in length_bucketed_batches(windows, lengths, config.batch_size, generator):
        loss = sequence_loss(model, batch, config)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimizer.step()
        total, batches = total + loss.item(), batches + 1
    model.eval()
    return total / max(batches, 1)


def train(
    model: SequenceRecommender,
    item_ids: list[str],
    split: LeaveOneOutSplit,
    config: TrainConfig,
    encoder_name: str | None = None,
    progress: bool = True,
    on_epoch: Callable[[EpochLog], None] | None = None,
    progress_position: int = 0,
) -> tuple[TransformerRecommender, TrainResult]:
    """Train ``model`` on ``split.train`` and return the epoch with the best validation metric."""
    seed_everything(config.seed)
    windows = torch.from_numpy(training_windows(split.train, model.config.max_len))
    lengths = (windows > 0).sum(dim=1)
    if len(windows) == 0:
        raise ValueError("no training pairs: every user needs at least 2 training interactions")
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    generator = torch.Generator().manual_seed(config.seed)
    wrapped = TransformerRecommender(model, item_ids, encoder_name)
    logs: list[EpochLog] = []
    best: tuple[float, int, dict[str, Tensor], dict[str, float], float] | None = None
    started = time.perf_counter()
    label = "training " + ("text-aware" if model.config.use_text else "ID-only")
    bar = tqdm(range(1, config.epochs + 1), desc=label, unit="epoch", disable=not progress, position=progress_position)
    for epoch in bar:
        tick = time.perf_counter()
        loss = train_epoch(model, optimizer, windows, lengths, config, generator)
        valid = evaluate(wrapped, split, "valid", ks=(10,)).metrics
        log = EpochLog(epoch, loss, time.perf_counter() - tick, valid)
        logs.append(log)
        if on_epoch:
            on_epoch(log)
        score = valid[config.valid_metric]
        if best is None or score > best[0]:
            state = copy.deepcopy(model.state_dict())
            best = (score, epoch, state, valid, time.perf_counter() - started)
        bar.set_postfix(loss=f"{log.loss:.3f}", ndcg10=f"{score:.4f}", best=f"{best[0]:.4f}@{best[1]}")
        if epoch - best[1] >= config.patience:
            break
        if config.max_seconds and time.perf_counter() - started > config.max_seconds:
            break
    assert best is not None
    model.load_state_dict(best[2])
    model.eval()
    result = TrainResult(best[1], best[3], logs, best[4], time.perf_counter() - started)
    return wrapped, result
