"""Exact top-k for a batch of requests over the whole catalog: what the server's micro-batches run.

The answers equal ranking each request alone with :func:`freshrec.engine.scoring.signals` (up to
float rounding), but the work is shaped for a batch:

- A user's z-scored model term is ``(v·s − μ)/σ``. Its mean μ and spread σ over the live items come
  from the catalog's vector moments in O(H²) (``ItemTable.moments``), and 1/σ is folded into the
  state, so one (B, H) × (H, N) product gives every user's model term up to a per-user constant.
  That constant does not change the order, so it is added back only to the returned scores.
- Everything that does not depend on the user (trend, the exploration bonus, rows that must never be
  shown as −inf) is one (N,) row added to the whole batch at once.
- The top k of every row comes from one ``torch.topk`` over (B, N), about 2.5× faster than
  ``argpartition`` row by row; equal scores then go lower row first, as in ``policy.top_rows``.
- Optionally (``prefilter``, for large catalogs on CPUs with bfloat16 arithmetic), the product is
  first taken in bfloat16 against a half-size copy of the vectors, about 3× faster since it is
  memory-bound. The best ``count + EXTRA_CANDIDATES`` rows by that estimate are then scored exactly.
  The estimate's error has a proven bound, so the answer is certified when the exact k-th score
  beats the best score any row left out could reach. A request that cannot be certified (rare) is
  scored exactly over the whole catalog. Either way the answer is the exact one.
- The terms that explain a recommendation are computed for the returned rows only.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from freshrec.engine.catalog import ItemTable
from freshrec.engine.policy import PolicyConfig, Signals, settle_ties, zscore
from freshrec.engine.scoring import UserView

# |bf16 product − fp32 product| ≤ LOW_PRECISION_ERROR · ‖s‖ · ‖v‖. With u = 2⁻⁸ (bfloat16's unit
# roundoff): rounding s and v costs (2u + u²) Σ|s_h v_h|, float32 accumulation over 64 terms about
# 4e-6 of the same, and rounding the result to bfloat16 u(1 + u)² more, 0.01177 in all; Cauchy–Schwarz
# bounds Σ|s_h v_h| by ‖s‖‖v‖. Rounded up for margin.
LOW_PRECISION_ERROR = 0.0125
EXTRA_CANDIDATES = 32  # rows beyond k scored exactly after the bfloat16 estimate
PREFILTER_ITEMS = 20_000  # below, the float32 product is cheap enough


@functools.cache
def native_bfloat16() -> bool:
    """Whether this CPU multiplies bfloat16 natively (x86 AVX512-BF16 or AMX, Arm BF16): elsewhere a
    bfloat16 product is emulated and slower than float32."""
    try:
        flags = set(Path("/proc/cpuinfo").read_text().split())
    except OSError:
        return False
    return bool(flags & {"avx512_bf16", "amx_bf16", "bf16"})


@dataclass(frozen=True)
class Wanted:
    """One request of a batch: whose, how many rows, and which rows it must not get."""

    user: UserView
    count: int  # rows to return (k, or more when the caller re-ranks them)
    excluded: np.ndarray  # rows never to return (the user's history, an exclude list)
    allowed: np.ndarray | None = None  # (N,) bool: only these rows (a category filter); None: every row


@dataclass(frozen=True)
class Ranked:
    """The best rows of one request, best first, and the policy's terms at those rows (``terms.total``
    is each row's score)."""

    rows: np.ndarray
    terms: Signals


@dataclass(frozen=True)
class _Terms:
    """What scoring one batch needs, computed once: the user-independent rows and each user's scaling."""

    trend: np.ndarray  # (N,) float32, weighted
    bonus: np.ndarray  # (N,) float32: the exploration bonus (-inf: a new item that must not be shown)
    base: np.ndarray  # (N,) float32: trend + bonus, -inf where a row must never be shown
    scaled: np.ndarray  # (B, H) float32: each state times 1/σ (zero without history)
    offset: np.ndarray  # (B,) the model term is (v · scaled) + offset
    extras: list[list[np.ndarray]]  # per user, (N,) terms added in full: the cold-start model term, the search
    cold: np.ndarray | None  # (N,) the cold-start model term, if some user has no history
    queries: list[np.ndarray | None]  # per user, the (N,) search term


def _terms(table: ItemTable, policy: PolicyConfig, users: list[UserView], trend_scale: float) -> _Terms:
    n = len(table)
    live = table.alive[:n].copy()
    live[0] = False
    dead = np.flatnonzero(~live)
    popularity = table.popularity[:n]
    # accumulators may exceed float32's range (they grow between rebases); their product with the scale does not
    trend = _standardised(np.log1p((table.trend[:n] * trend_scale).astype(np.float32)), dead)
    trend *= np.float32(policy.trend_weight)
    bonus = np.zeros(n, dtype=np.float32)
    new = table.new_rows()
    bonus[new] = policy.new_item_bonus / (1.0 + popularity[new]) if policy.new_items else -np.inf
    base = trend + bonus
    base[dead] = -np.inf  # removed rows and the padding row: never shown
    hidden = table.vectors.shape[1]
    states = np.stack([u.state if u.state is not None else np.zeros(hidden, np.float32) for u in users])
    mean, std = table.moments().score_stats(states)
    flat = std <= 1e-12  # every live item scores the same (or no history): the model term is 0, as in ``zscore``
    scale = np.where(flat, 0.0, 1.0 / np.where(flat, 1.0, std))
    cold = None  # a user without history: all-time popularity stands in for the model
    if any(u.state is None for u in users):
        cold = _standardised(np.log1p(popularity.astype(np.float32)), dead)
    queries = [
        None if u.query_vector is None else u.query_weight * zscore(table.text[:n] @ u.query_vector, live)
        for u in users
    ]
    extras = [
        [term for term in (cold if u.state is None else None, query) if term is not None]
        for u, query in zip(users, queries, strict=True)
    ]
    scaled = (states * scale[:, None]).astype(np.float32)
    return _Terms(trend, bonus, base, scaled, -mean * scale, extras, cold, queries)


def _standardised(values: np.ndarray, dead: np.ndarray) -> np.ndarray:
    """``policy.zscore`` over the rows not in ``dead``, in float32 and a few passes, in place (the batch's
    scores are float32: float64 here bought nothing). Dead rows come out as garbage; they are masked."""
    count = len(values) - len(dead)
    values[dead] = 0.0
    if count <= 0:
        return np.zeros_like(values)
    mean = float(values.sum(dtype=np.float64)) / count  # pairwise float32 sums, accumulated in float64
    std = float(np.sqrt(max(float(np.square(values).sum(dtype=np.float64)) / count - mean * mean, 0.0)))
    if std <= 1e-12:
        return np.zeros_like(values)
    values -= np.float32(mean)
    values *= np.float32(1.0 / std)
    return values


def rank_batch(
    table: ItemTable, policy: PolicyConfig, wanted: list[Wanted], trend_scale: float, prefilter: bool = False
) -> list[Ranked]:
    """The ``count`` best rows of every request, by the same score as ``scoring.signals`` gives
    (``prefilter``: through the bfloat16 estimate first; the same answers)."""
    terms = _terms(table, policy, [w.user for w in wanted], trend_scale)
    found: list[tuple[np.ndarray, np.ndarray] | None] = [None] * len(wanted)
    if prefilter:
        with_state = [j for j, w in enumerate(wanted) if w.user.state is not None]
        if with_state:
            for j, answer in zip(with_state, _prefiltered(table, policy, wanted, terms, with_state), strict=True):
                found[j] = answer
    rest = [j for j, answer in enumerate(found) if answer is None]
    if rest:
        for j, answer in zip(rest, _exact(table, policy, wanted, terms, rest), strict=True):
            found[j] = answer
    ranked = []
    for j, (want, answer) in enumerate(zip(wanted, found, strict=True)):
        assert answer is not None  # every request was answered by one of the passes above
        ranked.append(_explained(table, policy, want, terms, j, *answer))
    return ranked


def _adjust(row: np.ndarray, policy: PolicyConfig, want: Wanted, extras: list[np.ndarray]) -> None:
    """Add one request's own terms to its (N,) scores, in place, and switch off the rows it must not get."""
    for term in extras:
        row += term
    for item_row, times in want.user.impressions.items():
        row[item_row] -= policy.impression_penalty * times
    row[want.excluded] = -np.inf
    if want.allowed is not None:
        row[~want.allowed] = -np.inf


def _exact(
    table: ItemTable, policy: PolicyConfig, wanted: list[Wanted], terms: _Terms, which: list[int]
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(rows best first, their scores) for the requests ``which``, in float32 over the whole catalog."""
    n = len(table)
    totals = np.zeros((len(which), n), dtype=np.float32)
    stateful = [t for t, j in enumerate(which) if wanted[j].user.state is not None]
    if stateful:  # users without history need no product
        totals[stateful] = terms.scaled[[which[t] for t in stateful]] @ table.vectors[:n].T
    totals += terms.base
    for t, j in enumerate(which):
        _adjust(totals[t], policy, wanted[j], terms.extras[j])
    count = min(max(wanted[j].count for j in which), n)
    _, best = torch.topk(torch.from_numpy(totals), count, dim=1)
    answers = []
    for t, j in enumerate(which):
        rows = best[t, : wanted[j].count].numpy()
        rows = settle_ties(totals[t], rows[np.isfinite(totals[t, rows])])
        answers.append((rows, totals[t, rows]))
    return answers


def _prefiltered(
    table: ItemTable, policy: PolicyConfig, wanted: list[Wanted], terms: _Terms, which: list[int]
) -> list[tuple[np.ndarray, np.ndarray] | None]:
    """Like ``_exact``, through the bfloat16 estimate; None for a request the bound cannot certify."""
    n = len(table)
    low, max_norm = table.low_precision()
    states = torch.from_numpy(terms.scaled[which]).to(torch.bfloat16)
    estimate = (states @ low[:n].T).float().numpy()  # (b, N)
    estimate += terms.base
    for t, j in enumerate(which):
        _adjust(estimate[t], policy, wanted[j], terms.extras[j])
    count = min(max(wanted[j].count for j in which) + EXTRA_CANDIDATES, n)
    values, candidates = torch.topk(torch.from_numpy(estimate), count, dim=1)
    answers: list[tuple[np.ndarray, np.ndarray] | None] = []
    for t, j in enumerate(which):
        want, found, rows = wanted[j], values[t].numpy(), candidates[t].numpy().astype(np.int64)
        shown = np.isfinite(found)  # the estimate is -inf exactly where the exact score is
        exact = np.full(len(rows), -np.inf, dtype=np.float32)
        exact[shown] = table.vectors[rows[shown]] @ terms.scaled[j] + _additive(policy, want, terms, j, rows[shown])
        order = np.lexsort((rows, -exact))[: want.count]
        order = order[np.isfinite(exact[order])]
        if count < n and shown[-1]:  # rows were left out: could any of them beat the k-th?
            reach = found[-1] + LOW_PRECISION_ERROR * float(np.linalg.norm(terms.scaled[j])) * max_norm
            reach += 1e-5 * (2 + abs(found[-1]))  # float32 rounding of the sums on both sides
            if len(order) < want.count or exact[order[-1]] <= reach:
                answers.append(None)
                continue
        answers.append((rows[order], exact[order]))
    return answers


def _additive(policy: PolicyConfig, want: Wanted, terms: _Terms, j: int, rows: np.ndarray) -> np.ndarray:
    """The request's score at ``rows`` less the model product: what ``_adjust`` adds there (for rows it
    does not switch off)."""
    total = terms.base[rows].astype(np.float64)
    for term in terms.extras[j]:
        total += term[rows]
    impressions = want.user.impressions
    if impressions:
        total -= policy.impression_penalty * np.array([impressions.get(int(r), 0) for r in rows], dtype=np.float64)
    return total


def _explained(
    table: ItemTable, policy: PolicyConfig, want: Wanted, terms: _Terms, j: int, rows: np.ndarray, scores: np.ndarray
) -> Ranked:
    """The policy's terms at the chosen rows (what the reasons are drawn from)."""
    user = want.user
    if user.state is not None:
        model = table.vectors[rows] @ terms.scaled[j] + terms.offset[j]
    else:  # ``_terms`` made the cold-start term, since this user has no history
        assert terms.cold is not None
        model = terms.cold[rows]
    query = terms.queries[j]
    penalty = np.array([policy.impression_penalty * user.impressions.get(int(r), 0) for r in rows])
    return Ranked(
        rows,
        Signals(
            model=model,
            trend=terms.trend[rows],
            query=query[rows] if query is not None else np.zeros(len(rows)),
            penalty=penalty,
            bonus=terms.bonus[rows],
            summed=scores.astype(np.float64) + terms.offset[j],
        ),
    )
