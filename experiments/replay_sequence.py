"""The supervised sequence transformer (``agents/sequence``) as replay scorers: frozen at the cut, or
with its user state recomputed per event."""

from __future__ import annotations

import time

import numpy as np
import torch

from freshrec.agents.sequence.pipeline import Prepared, cached_encoder, encode_items, fit_transformer
from freshrec.agents.sequence.sequential import TransformerRecommender
from freshrec.agents.sequence.trainer import TrainConfig, TrainResult
from freshrec.agents.sequence.transformer import ModelConfig
from freshrec.experiments.replay_log import HistoryScorer, ReplayLog, ScorerOptions
from freshrec.simulators.data.records import Dataset, Interactions
from freshrec.simulators.data.sequences import leave_one_out


class SequenceModel:
    """The supervised sequence transformer (``agents/sequence``), trained once on the train part and
    shared by the frozen and per-event scorers of one run.

    Its validation split is carved from the train part by ``leave_one_out``: each user's
    second-to-last train item is the validation target (the last one is left unused), so nothing
    after the cut is ever seen in training.
    """

    def __init__(self, options: ScorerOptions, progress: bool = False) -> None:
        self.options, self.progress = options, progress
        self._trained_on: ReplayLog | None = None
        self.train_seconds = 0.0
        self.result: TrainResult | None = None  # set once trained

    def fitted(self, train: ReplayLog) -> TransformerRecommender:
        """The model trained on ``train`` (trained at the first call for this log)."""
        if self._trained_on is not train:
            began = time.perf_counter()
            self.recommender = self._train(train)
            self.train_seconds = time.perf_counter() - began
            self._trained_on = train
        return self.recommender

    def _train(self, train: ReplayLog) -> TransformerRecommender:
        interactions = Interactions(
            users=train.users, items=train.items, timestamps=train.timestamps,
            kinds=np.zeros(len(train), dtype=np.uint8), values=np.full(len(train), np.nan, dtype=np.float32),
            user_ids=train.user_ids, item_ids=train.item_ids,
        )  # fmt: skip
        dataset = Dataset("replay-train", interactions, {})
        use_text = self.options.encoder != "none"
        vectors, encoder_name = None, None
        if use_text:
            encoder = cached_encoder(self.options.encoder)
            vectors, encoder_name = encode_items(train.item_texts, encoder, progress=self.progress), encoder.name
        prepared = Prepared(dataset, leave_one_out(interactions), vectors, encoder_name)
        config = TrainConfig(
            epochs=self.options.transformer_epochs, max_seconds=self.options.transformer_seconds, seed=self.options.seed
        )
        recommender, self.result = fit_transformer(
            prepared, ModelConfig(num_items=1, use_text=use_text), config, progress=self.progress
        )
        return recommender

    def summary(self) -> dict[str, object] | None:
        """How training went (None before it ran): best epoch, epochs run, validation metrics, seconds."""
        if self.result is None:
            return None
        return {
            "best_epoch": self.result.best_epoch,
            "epochs_run": len(self.result.epochs),
            "best_valid": self.result.best_valid,
            "seconds": round(self.train_seconds, 1),  # text encoding included
        }


class TransformerFrozen(HistoryScorer):
    """The transformer's user state computed once from each user's train history, frozen at the cut."""

    name = "transformer-frozen"

    def __init__(self, model: SequenceModel) -> None:
        self.model = model

    def fit(self, train: ReplayLog) -> None:
        super().fit(train)
        recommender = self.model.fitted(train)
        histories = [np.asarray(h, dtype=np.int64) + 1 for h in self.histories]  # model codes are shifted by 1
        self.frozen = recommender.score_histories(histories)[:, 1:]  # (U, I); column 0 was padding

    def scores(self, user: int, now: float) -> np.ndarray:
        return self.frozen[user].astype(np.float64)


class TransformerPerEvent(HistoryScorer):
    """The transformer's user state recomputed from the user's current history (newest ``max_len``
    items, revealed test events included) before every ranking; the weights stay frozen at the cut."""

    name = "transformer-per-event"

    def __init__(self, model: SequenceModel) -> None:
        self.model = model

    def fit(self, train: ReplayLog) -> None:
        super().fit(train)
        self.network = self.model.fitted(train).model
        with torch.no_grad():
            self.vectors = self.network.item_vectors()  # (I + 1, H)

    @torch.no_grad()
    def scores(self, user: int, now: float) -> np.ndarray:
        history = self.histories[user][-self.network.config.max_len :]
        # unpadded (1, L) history: the same state as left padding, on the faster fused causal kernel;
        # an empty history becomes one padding position
        codes = torch.tensor([[item + 1 for item in history] or [0]], dtype=torch.long)
        state = self.network.user_vectors(codes, self.vectors)  # (1, H)
        return (state @ self.vectors[1:].T)[0].double().numpy()
