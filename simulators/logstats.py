"""Numbers that describe an interaction log, to set a real log (MovieLens, times in seconds) beside a
simulated one (times in ticks): popularity concentration, genre breadth, interest drift, sessions and
the uptake of new items. Pure numpy; every function takes plain arrays.

Shapes: N interactions (``users``, ``items``, ``times``, each (N,)), I items, G genres, D latent
dimensions. User ids are any integers; item ids index rows of the per-item arrays, 0 <= id < I.
Time units are the log's own: ``gap``, ``horizon`` and the like are given in the same unit as ``times``.
Where a log is too small for a statistic (an empty log, no user with two full windows) it is ``nan``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_BLOCK_CELLS = 1 << 22  # rows x columns gathered at a time when summing per-group vectors (~32 MiB of float64)


# ---------------------------------------------------------------- popularity
def gini(counts: npt.ArrayLike) -> float:
    """Gini coefficient of per-item interaction counts: 0 when all items are equal, (n - 1)/n when one
    item of n has everything.

    ``counts`` (I,) are non-negative; items with 0 count as given, so pass every item of the catalog.
    With x sorted ascending and i = 1..n:  G = 2 * sum(i * x_i) / (n * sum(x)) - (n + 1) / n.
    An empty or all-zero vector gives 0 (no inequality to see).

    >>> gini([1, 1, 1, 1])
    0.0
    >>> gini([0, 0, 0, 4])  # 2 * (4 * 4) / (4 * 4) - 5 / 4
    0.75
    """
    x = _vector("counts", counts, np.float64)
    if (x < 0).any():
        raise ValueError(f"counts must be >= 0, got a minimum of {x.min()}")
    n, total = x.size, float(x.sum())
    if n == 0 or total == 0.0:
        return 0.0
    ranks = np.arange(1, n + 1, dtype=np.float64)
    return float(2.0 * (ranks @ np.sort(x)) / (n * total) - (n + 1) / n)


def top_share(counts: npt.ArrayLike, fraction: float = 0.1) -> float:
    """Share of all interactions that go to the top ``fraction`` of items by count.

    The top group is the ceil(fraction * n) most counted of the n items (at least 1); ties at its
    edge do not matter, since the share only sums counts. ``nan`` when there are no interactions.

    >>> top_share([5, 3, 1, 1], fraction=0.25)  # ceil(0.25 * 4) = 1 item: 5 / 10
    0.5
    >>> top_share([5, 3, 1, 1], fraction=0.3)  # ceil(1.2) = 2 items: (5 + 3) / 10
    0.8
    """
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    x = _vector("counts", counts, np.float64)
    if (x < 0).any():
        raise ValueError(f"counts must be >= 0, got a minimum of {x.min()}")
    total = float(x.sum())
    if total == 0.0:
        return math.nan
    # round() first so that 0.07 * 100 = 7.000000000000001 means 7 items, not 8.
    k = max(1, math.ceil(round(fraction * x.size, 9)))
    return float(np.partition(x, x.size - k)[x.size - k :].sum() / total)


# ---------------------------------------------------------------- breadth and drift
def user_genre_entropy(users: npt.ArrayLike, items: npt.ArrayLike, item_genres: npt.ArrayLike) -> FloatArray:
    """Per-user Shannon entropy, in bits, of the genres of the items each user interacted with.

    ``item_genres`` (I, G) holds 0/1 flags or non-negative weights. Each interaction carries a unit
    weight split over its item's genres in proportion to the row (equally for 0/1 flags: a movie
    tagged Comedy|Romance gives 1/2 to each). A user's entropy is -sum p_g log2 p_g over the shares
    p_g of their total weight (0 log 0 = 0); a repeated interaction counts again.

    Returns (U',) entropies in ascending user id, for users with at least one interaction on an item
    with a genre; interactions on items whose row is all zero are left out.

    >>> genres = np.array([[1, 0], [0, 1], [1, 1]])  # items 0: A, 1: B, 2: A|B
    >>> user_genre_entropy([7, 7, 3], [0, 1, 0], genres)  # user 3: only A; user 7: A and B equally
    array([0., 1.])
    >>> user_genre_entropy([5, 5], [0, 2], genres)  # A gets 1 + 1/2, B gets 1/2: p = (3/4, 1/4)
    array([0.81127812])
    """
    u = _vector("users", users, np.int64)
    it = _vector("items", items, np.int64)
    _same_length(users=u, items=it)
    weights = np.asarray(item_genres, dtype=np.float64)
    if weights.ndim != 2:
        raise ValueError(f"item_genres must be a 2-D (items, genres) array, got shape {weights.shape}")
    if (weights < 0).any():
        raise ValueError(f"item_genres must be >= 0, got a minimum of {weights.min()}")
    _check_ids("items", it, weights.shape[0])
    row_sum = weights.sum(axis=1, keepdims=True)
    shares = np.divide(weights, row_sum, out=np.zeros_like(weights), where=row_sum > 0)  # (I, G), rows sum to 1 or 0

    _, user_index = np.unique(u, return_inverse=True)
    order = np.argsort(user_index, kind="stable")
    n_users = int(user_index.max(initial=-1)) + 1
    mass = _group_sums(user_index[order], lambda rows: shares[it[order[rows]]], n_users, shares.shape[1])  # (U, G)
    total = mass.sum(axis=1, keepdims=True)  # (U, 1)
    mass, total = mass[total[:, 0] > 0], total[total[:, 0] > 0]
    p = mass / total
    logp = np.log2(p, out=np.zeros_like(p), where=p > 0)
    return -(p * logp).sum(axis=1) + 0.0  # + 0.0 turns -0.0 into 0.0


def interest_shift(
    users: npt.ArrayLike,
    items: npt.ArrayLike,
    times: npt.ArrayLike,
    item_vectors: npt.ArrayLike,
    window: int = 50,
) -> FloatArray:
    """How far users' interests move between consecutive stretches of their history.

    Each user's interactions, in time order (ties kept in the order given), are cut into consecutive
    non-overlapping windows of ``window`` interactions; a trailing partial window is dropped. For each
    pair of consecutive full windows j, j + 1 of the same user the statistic is
    1 - cos(mean item vector of window j, mean item vector of window j + 1), in [0, 2].

    ``item_vectors`` (I, D) are item embeddings (any scale; only directions count). Returns (P,) over
    all pairs of all users, users in ascending id and each user's pairs in time order; users with
    fewer than two full windows give nothing. A pair with a zero mean vector gives ``nan``.

    >>> vecs = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> # one user, times out of order: by time the items are 0, 0 | 1, 1 | 0 (partial, dropped)
    >>> interest_shift([1, 1, 1, 1, 1], [1, 0, 0, 1, 0], [3, 1, 2, 4, 5], vecs, window=2)
    array([1.])
    """
    u = _vector("users", users, np.int64)
    it = _vector("items", items, np.int64)
    t = _vector("times", times, np.float64)
    _same_length(users=u, items=it, times=t)
    if isinstance(window, bool) or not isinstance(window, int | np.integer) or window < 1:
        raise ValueError(f"window must be an integer >= 1, got {window!r}")
    vectors = np.asarray(item_vectors)  # kept as given (float32 stays float32); blocks are summed in float64
    if vectors.ndim != 2:
        raise ValueError(f"item_vectors must be a 2-D (items, dims) array, got shape {vectors.shape}")
    _check_ids("items", it, vectors.shape[0])

    order, user_index, starts = _user_time_order(u, t)
    sizes = np.diff(np.append(starts, u.size))  # (U,) interactions per user
    rank = np.arange(u.size) - np.repeat(starts, sizes)  # position of each sorted row within its user
    full = sizes // window  # (U,) full windows per user
    keep = rank < np.repeat(full * window, sizes)
    rows = order[keep]  # rows of the full windows, window after window; each window is `window` rows
    n_windows = rows.size // window
    if n_windows < 2:
        return np.zeros(0, np.float64)
    window_id = np.repeat(np.arange(n_windows), window)
    means = _group_sums(window_id, lambda r: vectors[it[rows[r]]], n_windows, vectors.shape[1]) / window  # (W, D)
    owner = user_index[order][keep][::window]  # (W,) user of each window
    same = owner[1:] == owner[:-1]
    a, b = means[:-1][same], means[1:][same]
    norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cos = np.where(norms > 0, (a * b).sum(axis=1) / norms, np.nan)
    return 1.0 - np.clip(cos, -1.0, 1.0)


# ---------------------------------------------------------------- sessions and freshness
def sessions(users: npt.ArrayLike, times: npt.ArrayLike, gap: float) -> tuple[IntArray, FloatArray]:
    """Split each user's time-ordered interactions into sessions wherever the time between two
    consecutive interactions exceeds ``gap`` (strictly; a pause of exactly ``gap`` stays in the session).

    Returns (lengths (S,), pauses (G,)): the number of interactions in each session, and the time from
    the last interaction of a session to the first of the user's next session. Both list users in
    ascending id and, within a user, in time order; G = S - number of users.

    >>> lengths, pauses = sessions([0, 0, 0, 0, 1, 1], [0, 1, 10, 11, 5, 100], gap=5)
    >>> lengths.tolist(), pauses.tolist()  # user 0: (0, 1) | (10, 11); user 1: (5) | (100)
    ([2, 2, 1, 1], [9.0, 95.0])
    """
    u = _vector("users", users, np.int64)
    t = _vector("times", times, np.float64)
    _same_length(users=u, times=t)
    _non_negative("gap", gap)
    order, user_index, _ = _user_time_order(u, t)
    t, ui = t[order], user_index[order]
    step = np.diff(t)  # (N - 1,) time to the next interaction
    same_user = ui[1:] == ui[:-1]
    pause = same_user & (step > gap)
    new_session = np.concatenate([[True], ~same_user | pause]) if u.size else np.zeros(0, bool)
    starts = np.flatnonzero(new_session)
    lengths = np.diff(np.append(starts, u.size)).astype(np.int64)
    return lengths, step[pause]


def new_item_uptake(items: npt.ArrayLike, times: npt.ArrayLike, first_seen: npt.ArrayLike, horizon: float) -> float:
    """Share of interactions whose item was at most ``horizon`` old at the time:
    times - first_seen[items] <= horizon.

    ``first_seen`` (I,) is each item's arrival (release, or first appearance in the log), in the unit
    of ``times``; an item with ``nan`` there never counts as new. An age below zero (an interaction
    before the item's recorded arrival) counts as new. ``nan`` for an empty log.

    >>> new_item_uptake([0, 1, 1, 0], [5, 5, 20, 50], first_seen=[0, 4], horizon=10)  # ages 5, 1, 16, 50
    0.5
    """
    it = _vector("items", items, np.int64)
    t = _vector("times", times, np.float64)
    _same_length(items=it, times=t)
    _non_negative("horizon", horizon)
    seen = _vector("first_seen", first_seen, np.float64)
    _check_ids("items", it, seen.size)
    if it.size == 0:
        return math.nan
    return float(np.mean(t - seen[it] <= horizon))


# ---------------------------------------------------------------- the summary
def describe_log(
    users: npt.ArrayLike,
    items: npt.ArrayLike,
    times: npt.ArrayLike,
    num_items: int,
    item_genres: npt.ArrayLike,
    item_vectors: npt.ArrayLike,
    first_seen: npt.ArrayLike,
    session_gap: float,
    new_horizon: float,
    window: int = 50,
) -> dict[str, float]:
    """A flat dict of the numbers above for one log, so a real and a simulated log line up key by key.

    ``num_items`` is the catalog size I (untouched items count in ``gini`` and ``top10_share``);
    ``item_genres`` (I, G), ``item_vectors`` (I, D) and ``first_seen`` (I,) as in the functions above.
    ``session_gap`` and ``new_horizon`` are in the unit of ``times``. Keys:

    - ``gini``, ``top10_share``: popularity concentration over all ``num_items`` items;
    - ``genre_entropy_mean``, ``genre_entropy_median``: per-user genre entropy in bits;
    - ``interest_shift_mean``, ``interest_shift_median``: over window pairs of ``window`` interactions;
    - ``session_length_median``, ``session_length_p90``, ``session_length_mean``: interactions per
      session (p90 by linear interpolation), and ``sessions_per_user_mean``;
    - ``new_item_uptake``: share of interactions on items at most ``new_horizon`` old;
    - ``interactions``, ``users``, ``items_touched``: sizes (as floats).

    >>> d = describe_log([0, 0, 1], [0, 1, 1], [0, 1, 9], 4, np.eye(4), np.eye(4), [0, 0, 0, 0], 5, 1, window=1)
    >>> d["users"], d["items_touched"], d["session_length_mean"], d["new_item_uptake"]
    (2.0, 2.0, 1.5, 0.6666666666666666)
    """
    if isinstance(num_items, bool) or not isinstance(num_items, int | np.integer) or num_items < 0:
        raise ValueError(f"num_items must be an integer >= 0, got {num_items!r}")
    u = _vector("users", users, np.int64)
    it = _vector("items", items, np.int64)
    t = _vector("times", times, np.float64)
    _same_length(users=u, items=it, times=t)
    _check_ids("items", it, int(num_items))
    _non_negative("session_gap", session_gap)
    _non_negative("new_horizon", new_horizon)
    for name, array, axis0 in (("item_genres", item_genres, 2), ("item_vectors", item_vectors, 2)):
        shape = np.shape(array)
        if len(shape) != axis0 or shape[0] != num_items:
            raise ValueError(f"{name} must have shape ({num_items}, ...) to match num_items, got {shape}")
    if np.shape(first_seen) != (num_items,):
        raise ValueError(f"first_seen must have shape ({num_items},) to match num_items, got {np.shape(first_seen)}")

    counts = np.bincount(it, minlength=int(num_items))
    entropy = user_genre_entropy(u, it, item_genres)
    shift = interest_shift(u, it, t, item_vectors, window=window)
    lengths, _ = sessions(u, t, session_gap)
    n_users = int(np.unique(u).size)
    return {
        "gini": gini(counts),
        "top10_share": top_share(counts, 0.1),
        "genre_entropy_mean": _stat(np.mean, entropy),
        "genre_entropy_median": _stat(np.median, entropy),
        "interest_shift_mean": _stat(np.mean, shift[~np.isnan(shift)]),  # zero-vector pairs left out
        "interest_shift_median": _stat(np.median, shift[~np.isnan(shift)]),
        "session_length_median": _stat(np.median, lengths),
        "session_length_p90": float(np.percentile(lengths, 90)) if lengths.size else math.nan,
        "session_length_mean": _stat(np.mean, lengths),
        "sessions_per_user_mean": lengths.size / n_users if n_users else math.nan,
        "new_item_uptake": new_item_uptake(it, t, first_seen, new_horizon),
        "interactions": float(u.size),
        "users": float(n_users),
        "items_touched": float(np.count_nonzero(counts)),
    }


# ---------------------------------------------------------------- helpers
def _vector(name: str, values: npt.ArrayLike, dtype: type[np.generic]) -> np.ndarray:
    """``values`` as a 1-D array of ``dtype``; ids must already be integers (no silent rounding)."""
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {array.shape}")
    if dtype is np.int64 and array.size and not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"{name} must hold integer ids, got dtype {array.dtype}")
    return array.astype(dtype, copy=False)


def _same_length(**arrays: np.ndarray) -> None:
    """Raise when the per-interaction arrays differ in length."""
    lengths = {name: a.size for name, a in arrays.items()}
    if len(set(lengths.values())) > 1:
        shown = ", ".join(f"{name}={n}" for name, n in lengths.items())
        raise ValueError(f"{', '.join(lengths)} must have the same length, got {shown}")


def _check_ids(name: str, ids: np.ndarray, size: int) -> None:
    """Raise when an id falls outside [0, size)."""
    if ids.size and (ids.min() < 0 or ids.max() >= size):
        raise ValueError(f"{name} must be in [0, {size}), got values from {ids.min()} to {ids.max()}")


def _non_negative(name: str, value: float) -> None:
    """Raise unless ``value`` is a real number >= 0."""
    if not (isinstance(value, int | float | np.integer | np.floating) and value >= 0):
        raise ValueError(f"{name} must be a number >= 0, got {value!r}")


def _user_time_order(users: IntArray, times: FloatArray) -> tuple[IntArray, IntArray, IntArray]:
    """Rows sorted by user, then time, ties in the given order: (order (N,), user_index (N,) dense ids
    in the original row order, starts (U,) first sorted position of each user)."""
    _, user_index = np.unique(users, return_inverse=True)
    by_time = np.argsort(times, kind="stable")
    order = by_time[np.argsort(user_index[by_time], kind="stable")]
    counts = np.bincount(user_index, minlength=int(user_index.max(initial=-1)) + 1)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64) if counts.size else counts
    return order, user_index.reshape(-1), starts


def _group_sums(group: IntArray, gather: Callable[[slice], np.ndarray], n_groups: int, width: int) -> FloatArray:
    """(n_groups, width) sums of rows over ``group`` (N,), sorted ascending; ``gather(slice)`` returns
    the (k, width) rows of a slice of positions. Works in blocks so 1M rows of wide vectors stay small."""
    n = group.size
    out = np.zeros((n_groups, width), np.float64)
    block = max(1, _BLOCK_CELLS // max(width, 1))
    for lo in range(0, n, block):
        hi = min(n, lo + block)
        g = group[lo:hi]
        starts = np.flatnonzero(np.concatenate([[True], g[1:] != g[:-1]]))
        # Groups are distinct within a block, so += by fancy index adds each once; a group split
        # across two blocks adds in both.
        out[g[starts]] += np.add.reduceat(np.asarray(gather(slice(lo, hi)), dtype=np.float64), starts, axis=0)
    return out


def _stat(fn: Callable[[np.ndarray], np.floating], values: np.ndarray) -> float:
    """``fn(values)`` as a float, ``nan`` for no values (and no warning)."""
    return float(fn(values)) if values.size else math.nan
