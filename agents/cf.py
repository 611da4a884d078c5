"""Collaborative filtering baselines: item-based and user-based k-nearest neighbours over the click log.

Both learn from the platform's log only (``Transitions``: who clicked what, when). At each refit
(every ``refit_every`` ticks of ``Transitions.time``, "nightly") they rebuild the user x item click
matrix X (U, I): one row per user seen clicking, one column per item clicked at least once, X[u, i]
= 1 if u clicked i at least once. Cosine similarities come from scikit-learn; keeping the k nearest
neighbours per row is vectorised (one sort of the sparse entries for items, one partition of the
dense rows for users), no Python loop over items, users or sessions.

Ranking. Every candidate gets a key (tier, score), compared tier first:

- tier 1: the model has evidence for it (a positive CF score); ranked by that score;
- tier 0: no evidence (an item nobody had clicked by the last refit, e.g. one that arrived since;
  an item no neighbour touched; a user with nothing to go on); ranked by public popularity, the
  log1p click count in the candidate features (column ``P + 1``), or with ``fallback="ctr"`` by the
  smoothed public click-through rate that ``public-ctr`` ranks by (``smoothed_ctr``).

Ties go to the lower candidate position (``top_k``). ``deterministic`` is ignored: the agents are
deterministic given their inputs.

``ClickModelAgent`` is the shared machinery (log, refit schedule, id maps, ranking key);
``freshrec.agents.svd`` builds on it too.
"""

from __future__ import annotations

from typing import Any, Literal, get_args

import numpy as np
import scipy.sparse as sp
from sklearn.metrics.pairwise import cosine_similarity
from sklearn.preprocessing import normalize

from freshrec.agents.base import Agent, top_k
from freshrec.agents.log import AgentSpec, Transitions
from freshrec.agents.simple import smoothed_ctr

Fallback = Literal["popularity", "ctr"]
"""How tier 0 (no evidence) is ranked: public popularity (the default) or the smoothed public CTR."""
FALLBACKS: tuple[str, ...] = get_args(Fallback)


def lookup(keys: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Index of each id in the sorted unique array ``keys`` (same shape as ``ids``), -1 where absent or padding.

    >>> lookup(np.array([3, 7, 9]), np.array([[9, -1, 4, 3]])).tolist()
    [[2, -1, -1, 0]]
    """
    if keys.size == 0:
        return np.full(np.shape(ids), -1, np.int64)
    pos = np.minimum(np.searchsorted(keys, ids), keys.size - 1)
    return np.where(keys[pos] == ids, pos, -1).astype(np.int64)


def popularity(observation: dict[str, np.ndarray]) -> np.ndarray:
    """(N, M) public popularity of the candidates: the log1p click count column of their features."""
    n, m = observation["candidate_mask"].shape
    return observation["candidate_features"].reshape(n, m, -1)[:, :, -2].astype(np.float64)


def rank_key(tier: np.ndarray, score: np.ndarray) -> np.ndarray:
    """One sort key for (tier, score): a higher tier always first, then a higher score.

    The score is squashed monotonically into (0, 1) by arctan, so the order within a tier is the
    order of the scores and no score can lift a candidate over a higher tier.

    >>> rank_key(np.array([1, 0, 1]), np.array([-5.0, 9.0, 2.0])).argsort()[::-1].tolist()
    [2, 0, 1]
    """
    return tier + 0.5 + np.arctan(score) / np.pi


def history_matrix(history: np.ndarray, columns: int) -> sp.csr_matrix:
    """(N, columns) binary sparse rows from (N, H) column indices (-1 = unknown or padding, skipped; repeats count once)."""
    rows, cols = np.nonzero(history >= 0)
    x = sp.csr_matrix(
        (np.ones(rows.size), (rows, history[rows, cols])), shape=(history.shape[0], columns), dtype=np.float64
    )
    x.sum_duplicates()
    x.data[:] = 1.0
    return x


def gather(rows: np.ndarray, index: np.ndarray) -> np.ndarray:
    """(N, M) entries ``rows[n, index[n, m]]`` of dense (N, C) rows; 0 where ``index`` is -1."""
    safe = np.maximum(index, 0)
    return np.where(index >= 0, np.take_along_axis(rows, safe, axis=1), 0.0)


def keep_top(matrix: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """The k largest entries of each row of a sparse matrix (ties: lower column), the rest dropped.

    Vectorised: one lexsort of all entries by (row, -value, column), then each entry's rank
    within its row.

    >>> keep_top(sp.csr_matrix(np.array([[0.1, 0.5, 0.5], [0.0, 0.2, 0.0]])), 1).toarray().tolist()
    [[0.0, 0.5, 0.0], [0.0, 0.2, 0.0]]
    """
    coo = matrix.tocoo()
    order = np.lexsort((coo.col, -coo.data, coo.row))
    row, col, val = coo.row[order], coo.col[order], coo.data[order]
    starts = np.searchsorted(row, np.arange(matrix.shape[0]))  # first entry of each row in sorted order
    keep = np.arange(row.size) - starts[row] < k
    out = sp.csr_matrix((val[keep], (row[keep], col[keep])), shape=matrix.shape)
    out.eliminate_zeros()
    return out


def top_columns(values: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(n, k) columns of the k largest values of each row of a dense (n, C) array (ties: lower column), and the values.

    Vectorised: the k-th largest value per row by ``np.partition``, then everything above it and
    the first equal ones by a running count. Columns come back in increasing order, not by value.

    >>> top_columns(np.array([[0.2, 0.9, 0.2, 0.1]]), 2)[0].tolist()
    [[0, 1]]
    """
    c = values.shape[1]
    if k >= c:
        return np.tile(np.arange(c), (values.shape[0], 1)), values.copy()
    kth = np.partition(values, c - k, axis=1)[:, c - k : c - k + 1]  # (n, 1) the k-th largest
    above, equal = values > kth, values == kth
    keep = above | (equal & (np.cumsum(equal, axis=1) <= k - above.sum(axis=1, keepdims=True)))
    cols = np.nonzero(keep)[1].reshape(-1, k)  # exactly k per row, row-major
    return cols, np.take_along_axis(values, cols, axis=1)


class ClickModelAgent(Agent):
    """Shared base: keeps the click log, rebuilds the click matrix every ``refit_every`` ticks, ranks by (tier, score).

    Subclasses implement ``_fit(x, text)`` (the (U, I) binary click matrix, the (I, P) text
    projection of each column's item) and ``_scores(observation) -> (tier, score)``, called once
    there is a model (before the first click every candidate is tier 0, by ``fallback_scores``).

    The first ``observe`` (the burn-in log) always fits; after that, a refit happens at the first
    ``observe`` whose latest tick is at least ``refit_every`` ticks after the last fit's latest
    tick. Between refits the model is frozen; only what ``scores`` reads from the observation
    (the user's history, public counts) is real time.
    """

    def __init__(self, slate_size: int, refit_every: int = 100, fallback: Fallback = "popularity") -> None:
        if refit_every < 1:
            raise ValueError(f"refit_every = {refit_every!r}: must be >= 1")
        if fallback not in FALLBACKS:
            raise ValueError(f"fallback = {fallback!r}: must be one of {FALLBACKS}")
        self.slate_size = slate_size
        self.refit_every = refit_every
        self.fallback = fallback
        # The click log: per observed batch, (users (c,), items (c,), the clicked items' text (c, P)).
        self._log: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.fitted_at: int | None = None  # latest tick of the log at the last fit
        self.refits = 0
        self.user_ids = np.empty(0, np.int64)  # (U,) sorted: the click matrix's rows
        self.item_ids = np.empty(0, np.int64)  # (I,) sorted: its columns

    def observe(self, transitions: Transitions) -> None:
        """Append the clicks of ``transitions`` to the log; refit when the schedule says so."""
        if len(transitions) == 0:
            return
        hit = np.flatnonzero(transitions.clicked_item_id >= 0)
        p = transitions.candidate_features.shape[-1] - 3
        # clicked_position is the slate slot (0..K-1); the candidate shown there is slate_positions[row, slot].
        candidate = transitions.slate_positions[hit, transitions.clicked_position[hit]]
        text = transitions.candidate_features[hit, candidate, :p]
        self._log.append((transitions.user_id[hit], transitions.clicked_item_id[hit], text.astype(np.float32)))
        now = int(transitions.time.max())
        if self.fitted_at is None or now - self.fitted_at >= self.refit_every:
            self.refit(now)

    def refit(self, now: int) -> None:
        """Rebuild the click matrix from the whole log and fit the model (``now``: the log's latest tick)."""
        users, items, text = (np.concatenate(parts) for parts in zip(*self._log, strict=True))
        self._log = [(users, items, text)]  # one array each from now on: the next refit concatenates less
        self.user_ids, rows = np.unique(users, return_inverse=True)
        self.item_ids, cols = np.unique(items, return_inverse=True)
        self.fitted_at = now
        self.refits += 1
        if rows.size == 0:  # nobody has clicked yet: nothing to fit, every candidate falls back
            return
        x = sp.csr_matrix((np.ones(rows.size), (rows, cols)), shape=(self.user_ids.size, self.item_ids.size))
        x.sum_duplicates()
        x.data[:] = 1.0  # clicked at least once; repeats do not weigh more
        item_text = np.zeros((self.item_ids.size, text.shape[1]), np.float32)
        item_text[cols] = text  # an item's text never changes, so any of its clicks will do
        self._fit(x, item_text)

    def _fit(self, x: sp.csr_matrix, text: np.ndarray) -> None:
        raise NotImplementedError

    def scores(self, observation: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """(N, M) tier and (N, M) score of every candidate for a batched observation (see the module docstring)."""
        if self.item_ids.size == 0:  # no model yet (no click logged): the fallback only
            return np.zeros(observation["candidate_mask"].shape, np.int8), self.fallback_scores(observation)
        return self._scores(observation)

    def fallback_scores(self, observation: dict[str, np.ndarray]) -> np.ndarray:
        """(N, M) tier-0 scores: public popularity (``fallback="popularity"``, the default) or the smoothed public
        CTR (``fallback="ctr"``)."""
        if self.fallback == "ctr":
            n, m = observation["candidate_mask"].shape
            return smoothed_ctr(observation["candidate_features"].reshape(n, m, -1)).astype(np.float64)
        return popularity(observation)

    def _scores(self, observation: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def rank(self, observation: dict[str, np.ndarray], k: int, deterministic: bool) -> np.ndarray:
        """(N, k): the top k candidates by (tier, score), ties to the lower position."""
        tier, score = self.scores(observation)
        return top_k(rank_key(tier, score), observation["candidate_mask"], k)

    def _evidence(self, cf: np.ndarray, observation: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Tier 1 with the CF score where it is positive, else tier 0 with ``fallback_scores``."""
        tier = cf > 0
        return tier.astype(np.int8), np.where(tier, cf, self.fallback_scores(observation))


class ItemKNNAgent(ClickModelAgent):
    """Item-based kNN: a candidate scores the sum of its similarities to the items in the user's recent clicks.

    Similarity (at each refit): cosine between the items' click columns of X (users who clicked
    both over the geometric mean of their audiences), optionally shrunk toward 0 for pairs with
    little support, ``co / (sqrt(n_i n_j) + shrinkage)`` (the ItemKNN-CF baseline of Dacrema et al.,
    RecSys 2019); self-similarity is 0; each item keeps only its ``neighbours`` most similar items
    (ties: lower item id). Scoring (every tick, real time on the user side): with h the set of
    items in the observation's ``history_ids`` (the user's last H clicks; repeats count once),
    score(c) = sum over j in h of sim_k(j, c), where sim_k(j, .) is j's pruned row.

    Fallback (tier 0, by public popularity): candidates unknown to the model (nobody had clicked
    them by the last refit, such as items that arrived since), candidates outside every history
    item's neighbourhood, and users whose history holds no known item.

    Defaults: ``neighbours=100``, ``shrinkage=0.0``, ``refit_every=100`` ticks, ``fallback="popularity"``.
    """

    def __init__(
        self,
        slate_size: int,
        neighbours: int = 100,
        shrinkage: float = 0.0,
        refit_every: int = 100,
        fallback: Fallback = "popularity",
    ) -> None:
        super().__init__(slate_size, refit_every, fallback)
        if neighbours < 1 or shrinkage < 0:
            raise ValueError(
                f"neighbours = {neighbours!r}, shrinkage = {shrinkage!r}: need neighbours >= 1, shrinkage >= 0"
            )
        self.neighbours = neighbours
        self.shrinkage = shrinkage
        self.similarity = sp.csr_matrix((0, 0))  # (I, I) pruned item-item similarity, row j = j's neighbours

    def _fit(self, x: sp.csr_matrix, text: np.ndarray) -> None:
        sim = sp.csr_matrix(cosine_similarity(x.T, dense_output=False))  # (I, I)
        sim.setdiag(0.0)
        sim.eliminate_zeros()
        if self.shrinkage > 0:
            # cos * norm / (norm + lambda) = co / (norm + lambda), norm = sqrt(n_i n_j) for binary columns
            audience = np.sqrt(np.asarray(x.sum(axis=0)).ravel())  # (I,)
            coo = sim.tocoo()
            norm = audience[coo.row] * audience[coo.col]
            sim = sp.csr_matrix((coo.data * norm / (norm + self.shrinkage), (coo.row, coo.col)), shape=sim.shape)
        self.similarity = keep_top(sim, self.neighbours)

    def _scores(self, observation: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """(N, M) tier and score: summed similarity to the user's recent clicks, else popularity."""
        n = self.item_ids.size
        hist = history_matrix(lookup(self.item_ids, observation["history_ids"]), n)  # (N, I)
        per_item = (hist @ self.similarity).toarray()  # (N, I) score of every known item
        cf = gather(per_item, lookup(self.item_ids, observation["candidate_ids"]))
        return self._evidence(cf, observation)


class UserKNNAgent(ClickModelAgent):
    """User-based kNN: a candidate scores the summed similarity of the user's nearest neighbours who clicked it.

    Neighbours come from the last refit: the user's row of X against every other row (cosine;
    the user is never their own neighbour), the ``neighbours`` most similar kept (ties: lower user
    id). score(c) = sum over those neighbours v of cos(u, v) * X[v, c]. A user's neighbours are
    stale between refits: their new clicks count from the next refit on. (They are computed on
    the user's first request after a refit and cached until the next.)

    Fallbacks: a user unseen at the last refit but with known items in their history gets
    neighbours from that history instead (their binary history row against X, the same cosine,
    recomputed every tick), so a newcomer is served from the first click. Tier 0 (public
    popularity): users with neither, candidates no neighbour clicked, and items unknown to the
    model (nobody had clicked them by the last refit, such as items that arrived since).

    Defaults: ``neighbours=50``, ``refit_every=100`` ticks, ``fallback="popularity"``.
    """

    def __init__(
        self,
        slate_size: int,
        neighbours: int = 50,
        refit_every: int = 100,
        fallback: Fallback = "popularity",
    ) -> None:
        super().__init__(slate_size, refit_every, fallback)
        if neighbours < 1:
            raise ValueError(f"neighbours = {neighbours!r}: must be >= 1")
        self.neighbours = neighbours
        self.clicks = sp.csr_matrix((0, 0))  # (U, I) binary click matrix of the last refit
        self._unit = sp.csr_matrix((0, 0))  # (U, I) its rows scaled to unit length
        self._unit_t = sp.csr_matrix((0, 0))  # (I, U) the same, transposed once for the query products
        # Neighbour cache of the known users: (U, k) user rows and cosines, filled on first request.
        self._nbr = np.empty((0, 0), np.int64)
        self._nbr_sim = np.empty((0, 0))
        self._cached = np.empty(0, bool)

    def _fit(self, x: sp.csr_matrix, text: np.ndarray) -> None:
        self.clicks = x
        self._unit = sp.csr_matrix(normalize(x))
        self._unit_t = self._unit.T.tocsr()
        k = min(self.neighbours, x.shape[0])
        self._nbr = np.zeros((x.shape[0], k), np.int64)
        self._nbr_sim = np.zeros((x.shape[0], k))
        self._cached = np.zeros(x.shape[0], bool)

    def neighbours_of(self, query: sp.csr_matrix, own: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(n, k) neighbour rows and cosines for (n, I) unit-length query rows; ``own`` (n,) the row to skip, -1 none."""
        sim = (query @ self._unit_t).toarray()  # (n, U)
        rows = np.flatnonzero(own >= 0)
        sim[rows, own[rows]] = 0.0  # never one's own neighbour
        return top_columns(sim, self._nbr.shape[1])

    def _scores(self, observation: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """(N, M) tier and score: neighbours' summed similarity for the candidates they clicked, else popularity."""
        n = observation["candidate_mask"].shape[0]
        k = self._nbr.shape[1]
        user = lookup(self.user_ids, observation["user_id"][:, 0])  # (N,) row of X, -1 = unseen
        known = user >= 0
        todo = np.unique(user[known][~self._cached[user[known]]])
        if todo.size:
            self._nbr[todo], self._nbr_sim[todo] = self.neighbours_of(self._unit[todo], todo)
            self._cached[todo] = True
        nbr = np.zeros((n, k), np.int64)  # (N, k) neighbour rows; a zero cosine adds nothing
        sim = np.zeros((n, k))
        nbr[known], sim[known] = self._nbr[user[known]], self._nbr_sim[user[known]]
        hist = history_matrix(lookup(self.item_ids, observation["history_ids"]), self.item_ids.size)  # (N, I)
        new = ~known & (np.diff(hist.indptr) > 0)  # unseen at refit, but a known item in the history
        if new.any():
            query = sp.csr_matrix(normalize(hist[np.flatnonzero(new)]))
            nbr[new], sim[new] = self.neighbours_of(query, np.full(int(new.sum()), -1))
        weights = sp.csr_matrix((sim.ravel(), (np.repeat(np.arange(n), k), nbr.ravel())), shape=(n, self.user_ids.size))
        per_item = (weights @ self.clicks).toarray()  # (N, I) summed cosine of the neighbours who clicked each item
        cf = gather(per_item, lookup(self.item_ids, observation["candidate_ids"]))
        return self._evidence(cf, observation)


def make_item_knn(spec: AgentSpec, seed: int, env: object, **options: Any) -> ItemKNNAgent:
    """Registry factory (deterministic: ``seed`` is not needed); ``options`` (``neighbours``, ``shrinkage``,
    ``refit_every``) go to ``ItemKNNAgent``."""
    return ItemKNNAgent(spec.slate_size, **options)


def make_user_knn(spec: AgentSpec, seed: int, env: object, **options: Any) -> UserKNNAgent:
    """Registry factory (deterministic: ``seed`` is not needed); ``options`` (``neighbours``, ``refit_every``) go
    to ``UserKNNAgent``."""
    return UserKNNAgent(spec.slate_size, **options)
