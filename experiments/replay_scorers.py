"""The log of the time-ordered replay (``experiments/replay.py``) and its agents behind one small
scorer protocol.

:class:`ReplayLog` holds the events in time order and the global train/test cut. A scorer is fitted once on the train part of the log, then, for each test event in time order, it
scores every item for that event's user (:meth:`Scorer.scores`) and is shown what the user really
did (:meth:`Scorer.observe`). Agents that learn per event update there; frozen ones ignore it. The
replay, not the scorer, removes unavailable and already-seen items and breaks ties by lower item code.

To add an agent, write a class with ``name``, ``fit``, ``scores`` and ``observe`` and register a
factory in :data:`SCORERS`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Protocol

import numpy as np
import torch
from scipy import sparse
from scipy.sparse.linalg import svds
from sklearn.metrics.pairwise import cosine_similarity

from freshrec.agents.sequence.pipeline import Prepared, cached_encoder, encode_items, fit_transformer
from freshrec.agents.sequence.sequential import TransformerRecommender
from freshrec.agents.sequence.trainer import TrainConfig, TrainResult
from freshrec.agents.sequence.transformer import ModelConfig
from freshrec.simulators.data.records import Dataset, Interactions
from freshrec.simulators.data.sequences import leave_one_out


def check_cut_fraction(cut_fraction: float) -> None:
    """Raise a ValueError unless 0 < cut_fraction < 1."""
    if not 0.0 < cut_fraction < 1.0:
        raise ValueError(f"cut_fraction = {cut_fraction}: must be in the open interval (0, 1)")


@dataclass(frozen=True, eq=False)
class ReplayLog:
    """Events in time order and the global cut: events ``[0, cut)`` are train, ``[cut, n)`` test."""

    users: np.ndarray  # (n,) int64 user codes
    items: np.ndarray  # (n,) int64 item codes
    timestamps: np.ndarray  # (n,) float64 seconds, non-decreasing
    cut: int
    user_ids: list[str]  # code -> id
    item_ids: list[str]  # code -> id
    item_texts: list[str]  # code -> text ('' if unknown), for text-aware scorers

    def __post_init__(self) -> None:
        n = len(self.users)
        if not len(self.items) == len(self.timestamps) == n:
            lengths = f"{n}, {len(self.items)}, {len(self.timestamps)}"
            raise ValueError(f"users, items, timestamps differ in length: {lengths}")
        if not 0 < self.cut <= n:
            raise ValueError(f"cut = {self.cut}: must be in [1, {n}] (at least one train event)")
        if n and np.any(np.diff(self.timestamps) < 0):
            raise ValueError("timestamps must be non-decreasing (build the log with ReplayLog.from_events)")
        if len(self.item_texts) != self.num_items:
            raise ValueError(f"{len(self.item_texts)} item texts for {self.num_items} items")
        for name, codes, size in (("users", self.users, self.num_users), ("items", self.items, self.num_items)):
            if n and (codes.min() < 0 or codes.max() >= size):
                raise ValueError(f"{name} codes must be in [0, {size})")

    @classmethod
    def from_events(
        cls,
        users: np.ndarray,
        items: np.ndarray,
        timestamps: np.ndarray,
        cut_fraction: float = 0.8,
        user_ids: list[str] | None = None,
        item_ids: list[str] | None = None,
        item_texts: list[str] | None = None,
        num_users: int | None = None,
        num_items: int | None = None,
    ) -> ReplayLog:
        """Sort events by time (stable) and cut after the first ``int(cut_fraction * n)`` of them."""
        check_cut_fraction(cut_fraction)
        order = np.argsort(np.asarray(timestamps, dtype=np.float64), kind="stable")
        users, items = np.asarray(users, dtype=np.int64)[order], np.asarray(items, dtype=np.int64)[order]
        n = len(users)
        cut = int(cut_fraction * n)
        if not 0 < cut < n:
            raise ValueError(f"cut_fraction = {cut_fraction} leaves no train or no test event among {n}")
        num_users = num_users if num_users is not None else int(users.max()) + 1
        num_items = num_items if num_items is not None else int(items.max()) + 1
        return cls(
            users=users, items=items, timestamps=np.asarray(timestamps, dtype=np.float64)[order], cut=cut,
            user_ids=user_ids or [str(u) for u in range(num_users)],
            item_ids=item_ids or [str(i) for i in range(num_items)],
            item_texts=item_texts or [""] * num_items,
        )  # fmt: skip

    @classmethod
    def from_dataset(cls, dataset: Dataset, cut_fraction: float = 0.8) -> ReplayLog:
        """All interactions of ``dataset`` (impressions included: ml-100k has only ratings)."""
        rows = dataset.interactions.time_ordered()
        return cls.from_events(
            rows.users, rows.items, rows.timestamps, cut_fraction, rows.user_ids, rows.item_ids, dataset.item_texts()
        )

    def __len__(self) -> int:
        return len(self.users)

    @property
    def num_users(self) -> int:
        return len(self.user_ids)

    @property
    def num_items(self) -> int:
        return len(self.item_ids)

    def train(self) -> ReplayLog:
        """The train part alone (its cut is its length): what a scorer's ``fit`` receives."""
        c = self.cut
        return ReplayLog(self.users[:c], self.items[:c], self.timestamps[:c], c, self.user_ids, self.item_ids,
                         self.item_texts)  # fmt: skip

    @cached_property
    def first_seen_index(self) -> np.ndarray:
        """(num_items,) index of each item's first event; ``len(self)`` for an item without events."""
        first = np.full(self.num_items, len(self), dtype=np.int64)
        np.minimum.at(first, self.items, np.arange(len(self)))
        return first

    @cached_property
    def first_seen_time(self) -> np.ndarray:
        """(num_items,) time of each item's first event in seconds; ``inf`` for an item without events."""
        seen = self.first_seen_index < len(self)
        return np.where(seen, self.timestamps[np.minimum(self.first_seen_index, len(self) - 1)], np.inf)

    def histories(self) -> list[list[int]]:
        """Per user code, the item codes of their events in time order."""
        out: list[list[int]] = [[] for _ in range(self.num_users)]
        for user, item in zip(self.users.tolist(), self.items.tolist(), strict=True):
            out[user].append(item)
        return out


class Scorer(Protocol):
    """What the replay asks of an agent. Item and user arguments are integer codes."""

    name: str

    def fit(self, train: ReplayLog) -> None:
        """Learn from the train part (events before the cut, time-ordered); called once, first."""
        ...

    def scores(self, user: int, now: float) -> np.ndarray:
        """(num_items,) finite scores of every item for ``user`` at time ``now`` (seconds); higher is better."""
        ...

    def observe(self, user: int, item: int, now: float) -> None:
        """The test event just revealed: ``user`` interacted with ``item`` at ``now``."""
        ...


@dataclass(frozen=True)
class ScorerOptions:
    """Hyperparameters of the scorers (the replay's command line sets them)."""

    knn_neighbours: int = 50
    """item-knn: similarities kept per candidate item (its nearest train items)."""
    svd_rank: int = 32
    """svd-batch and svd-fold-in: rank of the truncated SVD."""
    svd_refit_every: int = 5_000
    """svd-batch: refit from all events so far after every this many revealed events."""
    encoder: str = "minilm"
    """Transformer item text encoder: "minilm", "hashing:DIM", a model folder, or "none" (ID only)."""
    seed: int = 0
    """Seed of the transformer's training and of the SVD solver's start vector."""
    transformer_epochs: int = 60
    """Transformer: at most this many training epochs (early stopping on its own validation split, patience 10)."""
    transformer_seconds: float = 240.0
    """Transformer: stop training after the first epoch that ends past this many seconds."""
    ppo_model: str = ""
    """ppo: a PPO model trained on freshrec/MovieLens100K-v0 (e.g. a run's best_model.zip)."""
    ppo_data: str = "ml-100k"
    """ppo: the data set its world was calibrated on (for the clock and the text projection)."""

    def __post_init__(self) -> None:
        for name in ("knn_neighbours", "svd_rank", "svd_refit_every", "transformer_epochs"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} = {getattr(self, name)}: must be >= 1")
        if not self.transformer_seconds > 0:
            raise ValueError(f"transformer_seconds = {self.transformer_seconds}: must be > 0")


class HistoryScorer:
    """Bookkeeping most scorers share, kept up to date by :meth:`observe`.

    ``counts`` (num_items,): events per item so far (train and revealed test), the popularity.
    ``histories``: per user, the item codes so far in time order.
    """

    name = "history"

    def fit(self, train: ReplayLog) -> None:
        self.num_items = train.num_items
        self.counts = np.bincount(train.items, minlength=train.num_items).astype(np.float64)
        self.histories = train.histories()

    def scores(self, user: int, now: float) -> np.ndarray:
        raise NotImplementedError

    def observe(self, user: int, item: int, now: float) -> None:
        self.counts[item] += 1.0
        self.histories[user].append(item)

    def by_popularity(self, primary: np.ndarray) -> np.ndarray:
        """Scores ranked by ``primary`` first and, among exact ties, by popularity so far.

        The dense rank of ``primary`` is an integer and the popularity term lies in [0, 1), so the
        order is exactly lexicographic (no epsilon that a large score could swamp).
        """
        _, rank = np.unique(primary, return_inverse=True)  # (num_items,) 0 = lowest score
        return rank + self.counts / (self.counts.max() + 1.0)


class MostPopular(HistoryScorer):
    """Items by their number of events so far (train plus revealed test events)."""

    name = "most-popular"

    def scores(self, user: int, now: float) -> np.ndarray:
        return self.counts.copy()


class MarkovChain(HistoryScorer):
    """First-order Markov chain: counts of (a user's previous item -> their next item), updated per event.

    Dense (num_items, num_items) counts: 11 MB for ml-100k. Popularity breaks ties, which covers
    users without a previous item and previous items never followed by anything yet.
    """

    name = "markov"

    def fit(self, train: ReplayLog) -> None:
        super().fit(train)
        self.transitions = np.zeros((train.num_items, train.num_items), dtype=np.float64)
        order = np.argsort(train.users, kind="stable")  # by user; the log's time order is kept within a user
        users, items = train.users[order], train.items[order]
        same_user = users[1:] == users[:-1]  # (n - 1,) consecutive events of one user: a transition
        np.add.at(self.transitions, (items[:-1][same_user], items[1:][same_user]), 1.0)

    def scores(self, user: int, now: float) -> np.ndarray:
        history = self.histories[user]
        if not history:
            return self.by_popularity(np.zeros(self.num_items))
        return self.by_popularity(self.transitions[history[-1]])

    def observe(self, user: int, item: int, now: float) -> None:
        if self.histories[user]:
            self.transitions[self.histories[user][-1], item] += 1.0
        super().observe(user, item, now)


def binary_matrix(users: np.ndarray, items: np.ndarray, num_users: int, num_items: int) -> sparse.csr_matrix:
    """(num_users, num_items) 0/1 CSR matrix: 1 where the user interacted with the item at least once."""
    matrix = sparse.csr_matrix((np.ones(len(users)), (users, items)), shape=(num_users, num_items))
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    return matrix


class ItemKNN(HistoryScorer):
    """Item-based CF: cosine similarity of item columns of the binary train matrix, frozen at the cut.

    Each candidate item keeps its ``neighbours`` most similar items; its score is the sum of those
    similarities over the distinct items of the user's current history (which grows per event).
    """

    name = "item-knn"

    def __init__(self, neighbours: int) -> None:
        self.neighbours = neighbours

    def fit(self, train: ReplayLog) -> None:
        super().fit(train)
        matrix = binary_matrix(train.users, train.items, train.num_users, train.num_items)
        similarity = cosine_similarity(matrix.T)  # (I, I) dense; an item without events has zero rows
        np.fill_diagonal(similarity, 0.0)
        keep = min(self.neighbours, train.num_items - 1)
        rows = np.argpartition(-similarity, keep - 1, axis=0)[:keep]  # (keep, I): each column's neighbours
        mask = np.zeros_like(similarity, dtype=bool)
        np.put_along_axis(mask, rows, True, axis=0)
        self.similarity = np.where(mask, similarity, 0.0)  # [j, i]: how much history item j votes for i
        self.seen = matrix.toarray().astype(bool)  # (U, I) distinct items per user
        self.user_scores = np.asarray(matrix @ self.similarity)  # (U, I), updated per event

    def scores(self, user: int, now: float) -> np.ndarray:
        return self.by_popularity(self.user_scores[user])

    def observe(self, user: int, item: int, now: float) -> None:
        if not self.seen[user, item]:
            self.seen[user, item] = True
            self.user_scores[user] += self.similarity[item]
        super().observe(user, item, now)


def svd_factors(matrix: sparse.csr_matrix, rank: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Truncated SVD of ``matrix`` (U, I): user factors U·S (U, r) and item factors V (I, r)."""
    rank = min(rank, min(matrix.shape) - 1)
    u, s, vt = svds(matrix, k=rank, rng=np.random.default_rng(seed))
    return u * s, vt.T


class SVDBatch(HistoryScorer):
    """Truncated SVD of the binary user x item matrix, refitted from all events so far every
    ``refit_every`` revealed events; between refits, each user's vector is the one of the last fit."""

    name = "svd-batch"

    def __init__(self, rank: int, refit_every: int, seed: int) -> None:
        self.rank, self.refit_every, self.seed = rank, refit_every, seed

    def fit(self, train: ReplayLog) -> None:
        super().fit(train)
        self.num_users = train.num_users
        self.users, self.items = list(train.users), list(train.items)  # all events so far
        self.revealed = 0
        self.refits = 0
        self._refit()

    def _refit(self) -> None:
        matrix = binary_matrix(np.array(self.users), np.array(self.items), self.num_users, self.num_items)
        self.user_factors, self.item_factors = svd_factors(matrix, self.rank, self.seed)
        self.refits += 1

    def scores(self, user: int, now: float) -> np.ndarray:
        # a user unseen at the last fit has a zero vector: all ties, so popularity decides
        return self.by_popularity(self.item_factors @ self.user_factors[user])

    def observe(self, user: int, item: int, now: float) -> None:
        super().observe(user, item, now)
        self.users.append(user)
        self.items.append(item)
        self.revealed += 1
        if self.revealed % self.refit_every == 0:
            self._refit()


class SVDFoldIn(HistoryScorer):
    """Item factors V (I, r) from a truncated SVD of the train matrix, frozen at the cut; the user vector
    is folded in from the current history each event: (history indicator) @ V, scores = that @ V.T."""

    name = "svd-fold-in"

    def __init__(self, rank: int, seed: int) -> None:
        self.rank, self.seed = rank, seed

    def fit(self, train: ReplayLog) -> None:
        super().fit(train)
        matrix = binary_matrix(train.users, train.items, train.num_users, train.num_items)
        _, self.item_factors = svd_factors(matrix, self.rank, self.seed)
        self.seen = matrix.toarray().astype(bool)  # (U, I)
        self.user_factors = np.asarray(matrix @ self.item_factors)  # (U, r), updated per event

    def scores(self, user: int, now: float) -> np.ndarray:
        return self.by_popularity(self.item_factors @ self.user_factors[user])

    def observe(self, user: int, item: int, now: float) -> None:
        if not self.seen[user, item]:
            self.seen[user, item] = True
            self.user_factors[user] += self.item_factors[item]
        super().observe(user, item, now)


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


class Shared:
    """Expensive pieces that several scorers of one run reuse (the trained transformer)."""

    def __init__(self, options: ScorerOptions, progress: bool = False) -> None:
        self.sequence_model = SequenceModel(options, progress)


Factory = Callable[[ScorerOptions, Shared], Scorer]

SCORERS: dict[str, Factory] = {
    "most-popular": lambda options, shared: MostPopular(),
    "markov": lambda options, shared: MarkovChain(),
    "item-knn": lambda options, shared: ItemKNN(options.knn_neighbours),
    "svd-batch": lambda options, shared: SVDBatch(options.svd_rank, options.svd_refit_every, options.seed),
    "svd-fold-in": lambda options, shared: SVDFoldIn(options.svd_rank, options.seed),
    "transformer-frozen": lambda options, shared: TransformerFrozen(shared.sequence_model),
    "transformer-per-event": lambda options, shared: TransformerPerEvent(shared.sequence_model),
    "ppo": lambda options, shared: _ppo(options),
}
NEEDS_MODEL = ("ppo",)  # left out of the default list: they need a trained model


def _ppo(options: ScorerOptions) -> Scorer:
    if not options.ppo_model:
        raise ValueError("scorer 'ppo' needs a trained model: ppo_model = PATH (CLI: --ppo-model PATH)")
    from freshrec.experiments.replay_ppo import PPOScorer

    return PPOScorer(options.ppo_model, options.ppo_data, options.encoder)


def check_names(names: tuple[str, ...] | list[str]) -> None:
    """Raise a ValueError naming any unknown scorer and the allowed names."""
    unknown = [n for n in names if n not in SCORERS]
    if unknown:
        raise ValueError(f"unknown scorer(s) {unknown}: allowed are {sorted(SCORERS)}")


def make_scorers(
    names: tuple[str, ...] | list[str], options: ScorerOptions, shared: Shared | None = None
) -> list[Scorer]:
    """One fresh scorer per name, all sharing ``shared`` (a new one by default), so the transformer trains once."""
    check_names(names)
    shared = shared if shared is not None else Shared(options)
    return [SCORERS[name](options, shared) for name in names]
