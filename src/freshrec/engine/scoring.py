"""Scoring one request: which rows to score (all, or candidates from the index), the policy's terms
for them, and the reason each recommended item carries. Pure functions of explicit inputs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from freshrec.engine.catalog import ItemTable
from freshrec.engine.policy import PolicyConfig, Signals, top_rows, zscore
from freshrec.engine.retrieval import VectorIndex

REASON_WINDOW = 20  # newest history items considered when explaining a recommendation
MIN_CANDIDATES = 500  # below this, candidate sets are too small for stable z-scores


@dataclass
class UserView:
    """What scoring needs to know about one user right now."""

    history_rows: np.ndarray  # rows of the newest history items, oldest first
    state: np.ndarray | None  # (H,) transformer state after the latest event; None without history
    query: str | None = None  # the latest search, while it still pulls
    query_vector: np.ndarray | None = None  # (D,) its text embedding
    query_weight: float = 0.0  # already faded by the interactions since the search
    impressions: dict[int, int] = field(default_factory=dict)  # row -> times shown without engagement


def candidate_rows(table: ItemTable, index: VectorIndex | None, user: UserView, k: int) -> np.ndarray | None:
    """Sorted candidate rows from the approximate index, or None to score the whole catalog.

    Candidates: the nearest items to the user's state and to their projected search query, the
    most trending and most popular items, and the newest items nobody has engaged with yet.
    """
    if index is None:
        return None
    n, size = len(table), max(20 * k, MIN_CANDIDATES)
    parts = [top_rows(table.trend[:n], size), top_rows(table.popularity[:n], size)]
    new = table.new_rows()
    parts.append(new[(table.popularity[new] == 0) & table.alive[new]][-size:])
    if user.state is not None:
        parts.append(index.search(user.state, size))
    if user.query_vector is not None:
        parts.append(index.search(table.project_text(user.query_vector[None, :])[0], size))
    candidates = np.unique(np.concatenate(parts))
    return candidates[candidates > 0]


def positions(candidates: np.ndarray | None, rows: np.ndarray) -> np.ndarray:
    """Where ``rows`` sit among the (sorted) candidates; rows that are not candidates are dropped."""
    if candidates is None:
        return rows
    if not len(rows) or not len(candidates):
        return np.zeros(0, dtype=np.int64)
    index = np.minimum(np.searchsorted(candidates, rows), len(candidates) - 1)
    return index[candidates[index] == rows]


def signals(
    table: ItemTable, policy: PolicyConfig, user: UserView, candidates: np.ndarray | None, trend_scale: float
) -> Signals:
    """Policy terms for every row (``candidates`` None) or for the candidate rows, in their order.

    With candidates, z-scores are taken over the candidates rather than the whole catalog."""
    n = len(table)

    def take(column: np.ndarray) -> np.ndarray:  # a view of the first n rows, or the candidates
        return column[:n] if candidates is None else column[candidates]

    live = take(table.alive).copy()  # a copy: row 0 is switched off below
    if candidates is None:
        live[0] = False  # the padding row (candidates never include it)
    popularity = take(table.popularity)
    model = np.zeros(len(live))
    if user.state is not None:
        model = zscore(take(table.vectors) @ user.state, live)
    elif popularity.any():  # a user with no history: all-time popularity stands in
        model = zscore(np.log1p(popularity), live)
    trend = policy.trend_weight * zscore(np.log1p(take(table.trend) * trend_scale), live)
    query = np.zeros(len(live))
    if user.query_vector is not None:
        query = user.query_weight * zscore(take(table.text) @ user.query_vector, live)
    penalty = np.zeros(len(live))
    for row, times in user.impressions.items():
        penalty[positions(candidates, np.array([row]))] = policy.impression_penalty * times
    bonus = np.zeros(len(live))  # only items added after training get the exploration bonus
    new = table.new_rows() if candidates is None else np.flatnonzero(table.is_new(candidates))
    if policy.new_items:
        bonus[new] = policy.new_item_bonus / (1.0 + popularity[new])
    else:  # not recommendable until a model version has trained on them
        bonus[new] = -np.inf
    return Signals(model, trend, query, penalty, bonus)


def reason(
    table: ItemTable, label: Callable[[int], str], position: int, row: int, terms: Signals, user: UserView
) -> str:
    """The signal that most drove this item: the search, a trend, or the most similar history item."""
    model, trend, query = terms.model[position], terms.trend[position], terms.query[position]
    if user.query is not None and query >= max(model, trend):
        return f"matches your search '{user.query}'"
    if trend > model or not len(user.history_rows):
        return "trending now" if trend > 0 else "popular"
    recent = user.history_rows[-REASON_WINDOW:]
    similarity = table.vectors[recent] @ table.vectors[row]
    return f"because of {label(int(recent[int(np.argmax(similarity))]))}"
