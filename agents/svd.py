"""Truncated SVD of the click matrix, with stale user factors or real-time fold-in of the user's history.

At each refit (every ``refit_every`` ticks, as in ``freshrec.agents.cf``) the binary user x item
click matrix X (U, I) is factorised, X ~ U_k S_k V_k^T, by ``scipy.sparse.linalg.svds`` (ARPACK
with a start vector drawn from the seed, so refits are deterministic; a dense
``numpy.linalg.svd`` when the matrix is too small for ARPACK). Components whose singular value
is numerically zero are dropped (the rank cap), so k <= rank(X).

Predicted preference of user factor p for item i: p . q_i, with q_i = row i of V_k.

- stale (``fold_in=False``): p = row u of U_k S_k, the user as of the last refit;
- fold-in (``fold_in=True``): x = the user's current history as a binary row over the model's
  items (``history_ids``; items unknown to the model are left out). The LSI fold-in puts the user
  at u = x V_k S_k^-1 in the SVD's coordinates, whose predicted row is u S_k V_k^T = x V_k V_k^T,
  the projection of x onto the item factors. So p = x V_k: the same space as the stale p (a
  training row x_u folds in to exactly x_u V_k = U_k S_k row u), computed without dividing by
  small singular values.

Items without factors (nobody had clicked them by the last refit, such as those that arrived
since): with ``cold_items="text"`` (default) they get factors predicted from their public text
projection by a ridge regression fitted at each refit on the known items (text (I, P) -> V_k
(I, k), scikit-learn ``Ridge`` with an intercept; the attribute-to-factor mapping of Gantner et
al., ICDM 2010), and compete with known items on p . q; with ``cold_items="popularity"`` they
come after every known item (tier 0), by public popularity. Users with no factor (stale: unseen
at the last refit; fold-in: no known item in their history) get tier 0 for every candidate:
public popularity. ``fallback="ctr"`` ranks tier 0 by the smoothed public CTR instead
(``freshrec.agents.cf``).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import svds
from sklearn.linear_model import Ridge

from freshrec.agents.cf import ClickModelAgent, Fallback, history_matrix, lookup
from freshrec.agents.log import AgentSpec


class SVDAgent(ClickModelAgent):
    """Truncated SVD of the click matrix: rank candidates by p . q (see the module docstring for p, q and fallbacks).

    Defaults: ``factors=16`` (capped by the rank of X), ``fold_in=False``, ``cold_items="text"``,
    ``ridge=1.0`` (the cold-item regression's L2 penalty), ``refit_every=100`` ticks,
    ``fallback="popularity"`` (tier 0's order; or ``"ctr"``). ``seed`` draws ARPACK's start vector.
    """

    def __init__(
        self,
        slate_size: int,
        factors: int = 16,
        fold_in: bool = False,
        cold_items: Literal["text", "popularity"] = "text",
        ridge: float = 1.0,
        refit_every: int = 100,
        seed: int = 0,
        fallback: Fallback = "popularity",
    ) -> None:
        super().__init__(slate_size, refit_every, fallback)
        if factors < 1 or cold_items not in ("text", "popularity") or ridge <= 0:
            raise ValueError(
                f"factors = {factors!r}, cold_items = {cold_items!r}, ridge = {ridge!r}: "
                "need factors >= 1, cold_items 'text' or 'popularity', ridge > 0"
            )
        self.factors = factors
        self.fold_in = fold_in
        self.cold_items = cold_items
        self.ridge = ridge
        self.seed = seed
        self.singular_values = np.empty(0)  # (k,) descending, all > 0
        self.user_factors = np.empty((0, 0))  # (U, k) U_k S_k: the stale user factors
        self.item_factors = np.empty((0, 0))  # (I, k) V_k
        self.text_to_factors: Ridge | None = None  # text (P,) -> item factor (k,), for cold items

    def _fit(self, x: sp.csr_matrix, text: np.ndarray) -> None:
        smaller = min(x.shape)
        if smaller <= self.factors + 1:
            # ARPACK needs k < min(U, I); a matrix this small is cheap to factorise exactly.
            u, s, vt = np.linalg.svd(x.toarray(), full_matrices=False)
        else:
            v0 = np.random.default_rng(self.seed).uniform(-1.0, 1.0, smaller)  # fixed start: deterministic
            u, s, vt = svds(x, k=self.factors, v0=v0)
        order = np.argsort(-s, kind="stable")[: self.factors]
        u, s, vt = u[:, order], s[order], vt[order]
        # The rank cap: a zero singular value's vectors are arbitrary; keep what numpy's matrix_rank would count.
        keep = s > s.max(initial=0.0) * max(x.shape) * np.finfo(np.float64).eps
        self.singular_values = s[keep]
        self.user_factors = u[:, keep] * s[keep]
        self.item_factors = vt[keep].T.copy()
        self.text_to_factors = None
        if self.cold_items == "text" and keep.any():
            self.text_to_factors = Ridge(alpha=self.ridge).fit(text, self.item_factors)

    def user_vectors(self, observation: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """(N, k) user factors p and (N,) whether each user has one (stale: seen at refit; fold-in: a known history item)."""
        if self.fold_in:
            x = history_matrix(lookup(self.item_ids, observation["history_ids"]), self.item_ids.size)  # (N, I)
            return np.asarray(x @ self.item_factors), np.diff(x.indptr) > 0
        row = lookup(self.user_ids, observation["user_id"][:, 0])  # (N,)
        has = row >= 0
        return np.where(has[:, None], self.user_factors[np.maximum(row, 0)], 0.0), has

    def _scores(self, observation: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """(N, M) tier and score: p . q for users with a factor (cold items per ``cold_items``), else the fallback."""
        n, m = observation["candidate_mask"].shape
        k = self.item_factors.shape[1]
        p, has_user = self.user_vectors(observation)  # (N, k), (N,)
        item = lookup(self.item_ids, observation["candidate_ids"])  # (N, M)
        known = item >= 0
        q = np.where(known[:, :, None], self.item_factors[np.maximum(item, 0)], 0.0)  # (N, M, k)
        if self.text_to_factors is not None and not known.all():
            text = observation["candidate_features"].reshape(n, m, -1)[:, :, :-3]  # (N, M, P)
            mapped = self.text_to_factors.predict(text[~known]).reshape(-1, k)  # (cold, k)
            q[~known] = mapped
            has_item = np.ones_like(known)
        else:
            has_item = known
        tier = has_user[:, None] & has_item
        pred = np.einsum("nk,nmk->nm", p, q)
        return tier.astype(np.int8), np.where(tier, pred, self.fallback_scores(observation))


def make_svd(spec: AgentSpec, seed: int, env: object, **options: Any) -> SVDAgent:
    """Registry factory: stale user factors between refits; ``options`` (``factors``, ``cold_items``, ``ridge``,
    ``refit_every``) go to ``SVDAgent``."""
    return SVDAgent(spec.slate_size, fold_in=False, seed=seed, **options)


def make_svd_fold_in(spec: AgentSpec, seed: int, env: object, **options: Any) -> SVDAgent:
    """Registry factory: the user's current history folded in at every tick; ``options`` as ``make_svd``'s."""
    return SVDAgent(spec.slate_size, fold_in=True, seed=seed, **options)
