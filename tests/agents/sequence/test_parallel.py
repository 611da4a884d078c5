"""Side-by-side training gives the same kind of models as training them one after the other."""

from __future__ import annotations

import numpy as np

from freshrec.agents.sequence.parallel import fit_side_by_side
from freshrec.agents.sequence.pipeline import prepare
from freshrec.agents.sequence.trainer import TrainConfig
from freshrec.agents.sequence.transformer import ModelConfig
from freshrec.envs.text.encoder import HashingEncoder
from freshrec.simulators.data.synthetic import generate


def test_two_processes_train_both_models_deterministically() -> None:
    dataset, _ = generate(users=50, items=40, events=1_500, clusters=4, seed=2)
    prepared = prepare(dataset, HashingEncoder(16), progress=False)
    configs = [ModelConfig(num_items=1, hidden=16, layers=1, use_text=t) for t in (False, True)]
    train_config = TrainConfig(epochs=2, batch_size=32, patience=2)
    side = fit_side_by_side(prepared, configs, train_config, workers=2, progress=False)
    alone = fit_side_by_side(prepared, configs, train_config, workers=1, progress=False)
    assert [m.name for m, _ in side] == ["transformer (ID only)", "transformer+text"]
    history = [np.array([1, 2, 3])]
    for (a, result_a), (b, result_b) in zip(side, alone, strict=True):
        assert result_a.best_epoch == result_b.best_epoch
        # one thread versus two only reorders float sums
        np.testing.assert_allclose(a.score_histories(history), b.score_histories(history), rtol=1e-3, atol=1e-3)
