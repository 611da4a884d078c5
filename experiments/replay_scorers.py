"""The replay's agents and their registry (:data:`SCORERS`): most-popular, a first-order Markov chain,
item-kNN CF, SVD (batch refit and fold-in); the sequence transformer (``replay_sequence.py``) and the
PPO policy (``replay_ppo.py``). The log and the scorer protocol are in ``replay_log.py``.

To add an agent, write a class with ``name``, ``fit``, ``scores`` and ``observe`` and register a
factory in :data:`SCORERS`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import sparse
from scipy.sparse.linalg import svds
from sklearn.metrics.pairwise import cosine_similarity

from freshrec.experiments.replay_log import (
    HistoryScorer,
    ReplayLog,
    Scorer,
    ScorerOptions,
)
from freshrec.experiments.replay_sequence import SequenceModel, TransformerFrozen, TransformerPerEvent


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
