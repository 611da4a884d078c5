"""Training learns a planted pattern, is deterministic under a seed, and both losses work."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from freshrec.agents.sequence.trainer import TrainConfig, length_bucketed_batches, train
from freshrec.agents.sequence.transformer import ModelConfig, SequenceRecommender
from freshrec.simulators.data.records import Interactions
from freshrec.simulators.data.sequences import LeaveOneOutSplit, leave_one_out, training_windows


def split_of(sequences: list[np.ndarray]) -> LeaveOneOutSplit:
    users = np.concatenate([np.full(len(s), u) for u, s in enumerate(sequences)])
    table = Interactions(
        users=users,
        items=np.concatenate(sequences) - 1,
        timestamps=np.arange(len(users), dtype=np.float64),
        kinds=np.zeros(len(users), dtype=np.uint8),
        values=np.full(len(users), np.nan, dtype=np.float32),
        user_ids=[f"u{u}" for u in range(len(sequences))],
        item_ids=[f"i{i}" for i in range(40)],
    )
    return leave_one_out(table)


def fit(sequences: list[np.ndarray], loss: str = "full", seed: int = 1, epochs: int = 40):  # type: ignore[no-untyped-def]
    torch.manual_seed(seed)
    config = ModelConfig(num_items=40, hidden=32, layers=1, heads=2, max_len=10, dropout=0.0, use_text=False)
    train_config = TrainConfig(epochs=epochs, batch_size=32, lr=5e-3, patience=40, seed=seed, loss=loss,  # type: ignore[arg-type]
                               negatives=16)  # fmt: skip
    return train(SequenceRecommender(config), [f"i{i}" for i in range(40)], split_of(sequences), train_config,
                 progress=False)  # fmt: skip


@pytest.mark.parametrize("loss", ["full", "sampled"])
def test_learns_the_planted_next_item(cyclic_sequences: list[np.ndarray], loss: str) -> None:
    model, result = fit(cyclic_sequences, loss)
    # the planted answer after ... 4, 5, 6 is 7 (a random guess among the 37 unseen items: 1 in 37)
    for history, expected in [([4, 5, 6], 7), ([38, 39, 40], 1), ([40, 1, 2, 3], 4), ([8], 9)]:
        assert model.recommend(np.array(history), k=1).tolist() == [expected]
    assert result.best_valid["HR@10"] == 1.0 and result.best_valid["NDCG@10"] > 0.9
    assert result.epochs[-1].loss < result.epochs[0].loss


def test_training_is_deterministic_under_a_seed(cyclic_sequences: list[np.ndarray]) -> None:
    a, result_a = fit(cyclic_sequences, epochs=3)
    b, result_b = fit(cyclic_sequences, epochs=3)
    assert [e.loss for e in result_a.epochs] == [e.loss for e in result_b.epochs]
    history = [np.array([3, 4, 5])]
    np.testing.assert_array_equal(a.score_histories(history), b.score_histories(history))


def test_early_stopping_keeps_the_best_epoch(cyclic_sequences: list[np.ndarray]) -> None:
    _, result = fit(cyclic_sequences, epochs=15)
    best = max(result.epochs, key=lambda e: e.valid["NDCG@10"])
    assert result.best_epoch == best.epoch
    assert result.best_valid == best.valid


def test_bucketed_batches_cover_every_window_once_and_trim_padding() -> None:
    sequences = [np.arange(1, n + 1) for n in (3, 5, 12, 30, 2, 7)]
    windows = torch.from_numpy(training_windows(sequences, max_len=10))
    lengths = (windows > 0).sum(dim=1)
    batches = length_bucketed_batches(windows, lengths, batch_size=2, generator=torch.Generator().manual_seed(0))
    assert sum(len(b) for b in batches) == len(windows)
    assert sum(int((b > 0).sum()) for b in batches) == int(lengths.sum())  # no real item lost
    assert all(int((b > 0).sum(dim=1).max()) == b.shape[1] for b in batches)  # no all-padding column


def test_invalid_train_config_is_refused() -> None:
    with pytest.raises(ValueError, match="loss"):
        TrainConfig(loss="hinge")  # type: ignore[arg-type]
