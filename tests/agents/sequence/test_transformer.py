"""Shapes, causality, padding, and the checkpoint round trip of the transformer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from freshrec.agents.sequence.sequential import TransformerRecommender
from freshrec.agents.sequence.transformer import ModelConfig, SequenceRecommender


def make_model(use_text: bool = True, num_items: int = 30, max_len: int = 8) -> SequenceRecommender:
    torch.manual_seed(0)
    config = ModelConfig(num_items=num_items, hidden=16, layers=2, heads=2, max_len=max_len, dropout=0.1,
                         use_text=use_text, text_dim=12)  # fmt: skip
    text = torch.randn(num_items + 1, 12) if use_text else None
    return SequenceRecommender(config, text).eval()


@pytest.mark.parametrize("use_text", [True, False])
def test_scores_have_one_column_per_item_and_padding_is_never_scored(use_text: bool) -> None:
    model = make_model(use_text)
    histories = torch.tensor([[0, 0, 0, 0, 0, 1, 2, 3], [4, 5, 6, 7, 8, 9, 10, 11]])
    scores = model.score(histories)
    assert scores.shape == (2, 31)
    assert torch.isinf(scores[:, 0]).all() and torch.isfinite(scores[:, 1:]).all()
    assert model.encode(histories).shape == (2, 8, 16)


def test_future_items_do_not_change_earlier_states() -> None:
    model = make_model()
    a = torch.tensor([[1, 2, 3, 4, 5, 6, 7, 8]])
    b = torch.tensor([[1, 2, 3, 4, 5, 20, 21, 22]])
    # positions 0..4 saw the same items, so causal attention must give the same states there
    torch.testing.assert_close(model.encode(a)[:, :5], model.encode(b)[:, :5])
    assert not torch.allclose(model.encode(a)[:, 5:], model.encode(b)[:, 5:])


def test_padding_does_not_change_the_user_state() -> None:
    model = make_model()
    short = torch.tensor([[3, 4, 5]])
    padded = torch.tensor([[0, 0, 0, 0, 0, 3, 4, 5]])
    torch.testing.assert_close(model.user_vectors(short), model.user_vectors(padded), atol=1e-5, rtol=1e-5)


def test_text_projection_gives_untrained_items_distinct_vectors() -> None:
    model = make_model()
    with torch.no_grad():
        model.item_ids.weight.zero_()  # as if no item had a learned ID vector
    vectors = model.item_vectors()[1:]
    assert torch.linalg.matrix_rank(vectors) > 1  # items differ through their text alone


def test_invalid_configs_name_the_field() -> None:
    with pytest.raises(ValueError, match="heads"):
        ModelConfig(num_items=5, hidden=10, heads=3)
    with pytest.raises(ValueError, match="dropout"):
        ModelConfig(num_items=5, dropout=1.5)
    with pytest.raises(ValueError, match="text_vectors"):
        SequenceRecommender(ModelConfig(num_items=5, text_dim=4), torch.zeros(3, 4))


@pytest.mark.parametrize("use_text", [True, False])
def test_checkpoint_round_trip_gives_identical_scores(tmp_path: Path, use_text: bool) -> None:
    recommender = TransformerRecommender(make_model(use_text), [f"i{i}" for i in range(30)], "hashing:12")
    histories = [np.array([1, 2, 3]), np.array([9, 8, 7, 6, 5, 4, 3, 2, 1, 11])]
    before = recommender.score_histories(histories)
    recommender.save(tmp_path / "model.pt", {"note": "x"})
    loaded = TransformerRecommender.load(tmp_path / "model.pt")
    np.testing.assert_array_equal(loaded.score_histories(histories), before)
    assert loaded.item_ids == recommender.item_ids and loaded.encoder_name == "hashing:12"
    assert loaded.model.config == recommender.model.config


def test_recommend_excludes_history_and_rejects_bad_k() -> None:
    recommender = TransformerRecommender(make_model(), [f"i{i}" for i in range(30)])
    history = np.array([1, 2, 3])
    top = recommender.recommend(history, k=30)
    assert len(top) == 27 and not set(top.tolist()) & {0, 1, 2, 3}
    with pytest.raises(ValueError, match="k=0"):
        recommender.recommend(history, k=0)
