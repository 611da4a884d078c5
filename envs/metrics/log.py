"""Recording: a cheap `Recorder` that copies what the metrics need out of the env's ``info``, and the `StepLog` it yields.

One row per user-step (a session's transition). ``S`` = rows, ``K`` = slate size, ``I`` = items in the arrival table.
The recorder writes into preallocated column buffers that double when full, so a step costs a handful of slice
assignments (a few µs) plus O(N·K) copying, and holds no Python object per row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from freshrec.envs.metrics.summary import summarize

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
Float32Array = npt.NDArray[np.float32]
BoolArray = npt.NDArray[np.bool_]

# (StepLog field, info key, dtype, has a slot axis) for every column copied straight from a step's info.
_INFO_COLUMNS: tuple[tuple[str, str, type[np.generic], bool], ...] = (
    ("time", "time", np.int64, False),
    ("user_id", "user_id", np.int64, False),
    ("session_id", "session_id", np.int64, False),
    ("session_step", "session_step", np.int64, False),
    ("slate_item_ids", "slate_item_ids", np.int64, True),
    ("slate_topics", "slate_topics", np.int64, True),
    ("slate_age", "slate_age", np.float32, True),
    ("slate_click_prob", "slate_click_prob", np.float32, True),
    ("slate_relevance", "slate_relevance", np.float32, True),
    ("slate_relevant", "slate_relevant", np.bool_, True),
    ("ideal_relevance", "ideal_relevance", np.float32, True),
    ("num_relevant", "num_relevant", np.int64, False),
    ("clicked_position", "clicked_position", np.int64, False),
    ("clicked_item_id", "clicked_item_id", np.int64, False),
    ("engagement", "engagement", np.float32, False),
    ("shifted", "shifted", np.bool_, False),
    ("repeated", "repeated_positions", np.bool_, True),
)
# Columns passed to record_step as arguments rather than inside info (ranked_hits: from its ``ranking``).
_ARG_COLUMNS: tuple[tuple[str, type[np.generic]], ...] = (
    ("reward", np.float64),
    ("terminated", np.bool_),
    ("truncated", np.bool_),
    ("ranked_hits", np.int64),
)
_ROW_FIELDS: tuple[str, ...] = tuple(c[0] for c in _INFO_COLUMNS) + tuple(c[0] for c in _ARG_COLUMNS)
_SLOT_FIELDS: frozenset[str] = frozenset(c[0] for c in _INFO_COLUMNS if c[3])
_DTYPES: dict[str, type[np.generic]] = {c[0]: c[2] for c in _INFO_COLUMNS} | dict(_ARG_COLUMNS)


@dataclass(frozen=True, eq=False)
class StepLog:
    """Everything recorded, as read-only column arrays: one row per user-step plus the item arrival table.

    Rows are in recording order (a vector env's sessions in index order within a call). Slot columns are (S, K).
    """

    time: IntArray  # (S,) world tick at which the slate was shown
    user_id: IntArray  # (S,)
    session_id: IntArray  # (S,) unique per session within a world
    session_step: IntArray  # (S,) 0-based step index within its session
    slate_item_ids: IntArray  # (S, K) global ids, -1 = empty slot
    slate_topics: IntArray  # (S, K) -1 = empty
    slate_age: Float32Array  # (S, K) ticks since arrival, 0 for empty
    slate_click_prob: Float32Array  # (S, K) true click probabilities of the shown slate
    slate_relevance: Float32Array  # (S, K) graded relevance in [0, 1]
    slate_relevant: BoolArray  # (S, K) relevance >= 0.5
    ideal_relevance: Float32Array  # (S, K) the K largest candidate relevances, descending
    num_relevant: IntArray  # (S,) relevant candidates among the M
    clicked_position: IntArray  # (S,) the clicked slot of the slate (0..K-1), -1 = no click
    clicked_item_id: IntArray  # (S,) -1 = no click
    engagement: Float32Array  # (S,) 0 when no click
    shifted: BoolArray  # (S,) first step under abruptly shifted interests
    repeated: BoolArray  # (S, K) the slot repeated an earlier position (so it is empty)
    reward: FloatArray  # (S,)
    terminated: BoolArray  # (S,)
    truncated: BoolArray  # (S,)
    ranked_hits: IntArray  # (S,) relevant candidates in the agent's top ``ranking_depth``; -1 = no ranking recorded
    item_ids: IntArray  # (I,) sorted, unique: items live at the first reset or arriving later
    item_arrival: FloatArray  # (I,) arrival tick (negative = before tick 0)
    item_live_at_start: BoolArray  # (I,) live at the first reset, i.e. not an arrival during the recording
    item_retired: FloatArray  # (I,) world tick after the step that retired it; NaN = not retired while recording
    new_age: float = 50.0  # an item younger than this (ticks) counts as fresh
    ranking_depth: int = 0  # how deep the recorded rankings went (0: none recorded)

    def __post_init__(self) -> None:
        s = len(self.time)
        k = self.slate_item_ids.shape[1] if self.slate_item_ids.ndim == 2 else -1
        for name in _ROW_FIELDS:
            want = (s, k) if name in _SLOT_FIELDS else (s,)
            got = getattr(self, name).shape
            if got != want:
                raise ValueError(f"StepLog.{name} has shape {got}, expected {want}")
        n = len(self.item_ids)
        for name in ("item_arrival", "item_live_at_start", "item_retired"):
            if getattr(self, name).shape != (n,):
                raise ValueError(f"StepLog.{name} has shape {getattr(self, name).shape}, expected ({n},)")

    @property
    def num_steps(self) -> int:
        """S, the number of recorded user-steps (rows)."""
        return len(self.time)

    @property
    def slate_size(self) -> int:
        """K, the number of slots per slate."""
        return int(self.slate_item_ids.shape[1])

    @classmethod
    def build(
        cls,
        slate_item_ids: npt.ArrayLike,
        *,
        item_ids: npt.ArrayLike = (),
        item_arrival: npt.ArrayLike | None = None,
        item_live_at_start: npt.ArrayLike | None = None,
        item_retired: npt.ArrayLike | None = None,
        new_age: float = 50.0,
        ranking_depth: int = 0,
        **columns: npt.ArrayLike,
    ) -> StepLog:
        """A StepLog from hand-written columns (tests, adapters); every column left out gets a neutral default.

        Defaults: time = 0..S-1, user_id = session_id = 0, session_step = 0..S-1, topics 0 (-1 where empty),
        slate_relevant = relevance >= 0.5, clicked_item_id = the item at clicked_position, no click, no reward,
        nothing terminated/truncated/shifted/repeated, no ranking (ranked_hits -1); item table empty, arrival 0,
        live at start, not retired (the table is sorted by item id).
        """
        ids = np.array(slate_item_ids, dtype=np.int64, ndmin=2)
        s, k = ids.shape
        unknown = set(columns) - set(_ROW_FIELDS)
        if unknown:
            raise TypeError(f"unknown StepLog columns: {sorted(unknown)}")
        empty = ids < 0

        def col(name: str, default: npt.ArrayLike) -> np.ndarray[Any, Any]:
            shape = (s, k) if name in _SLOT_FIELDS else (s,)
            value = columns.get(name, default)
            return np.array(np.broadcast_to(np.asarray(value, dtype=_DTYPES[name]), shape))

        relevance = col("slate_relevance", 0.0)
        clicked = col("clicked_position", -1)
        rows = np.arange(s)
        default_clicked_id = np.where(clicked >= 0, ids[rows, np.maximum(clicked, 0)], -1)
        item = np.array(item_ids, dtype=np.int64).reshape(-1)
        n_items = item.size
        by_id = np.argsort(item, kind="stable")  # the item table is kept sorted by id

        def item_col(
            value: npt.ArrayLike | None, default: float | bool, dtype: type[np.generic]
        ) -> np.ndarray[Any, Any]:
            given = np.asarray(default if value is None else value, dtype=dtype)
            return np.array(np.broadcast_to(given, n_items))[by_id]

        return cls(
            time=col("time", np.arange(s)),
            user_id=col("user_id", 0),
            session_id=col("session_id", 0),
            session_step=col("session_step", np.arange(s)),
            slate_item_ids=ids,
            slate_topics=col("slate_topics", np.where(empty, -1, 0)),
            slate_age=col("slate_age", 0.0),
            slate_click_prob=col("slate_click_prob", 0.0),
            slate_relevance=relevance,
            slate_relevant=col("slate_relevant", (relevance >= 0.5) & ~empty),
            ideal_relevance=col("ideal_relevance", 0.0),
            num_relevant=col("num_relevant", 0),
            clicked_position=clicked,
            clicked_item_id=col("clicked_item_id", default_clicked_id),
            engagement=col("engagement", 0.0),
            shifted=col("shifted", False),
            repeated=col("repeated", False),
            reward=col("reward", 0.0),
            terminated=col("terminated", False),
            truncated=col("truncated", False),
            ranked_hits=col("ranked_hits", -1),
            item_ids=item[by_id],
            item_arrival=item_col(item_arrival, 0.0, np.float64),
            item_live_at_start=item_col(item_live_at_start, True, np.bool_),
            item_retired=item_col(item_retired, np.nan, np.float64),
            new_age=float(new_age),
            ranking_depth=int(ranking_depth),
        )


class Recorder:
    """Collects a StepLog from a single env (per-session keys are scalars / (K,)) or a vector env (leading (N,) axis).

    Call `record_reset` with each reset's info and `record_step` after every step; `to_log` snapshots what was
    recorded. Items live at the first reset (before any step) are the start catalog; items first seen in a step's
    ``world_arrived_item_ids`` arrive at that step's ``world_time`` (the tick after the step, when they can first be
    shown); items first seen in a later reset's live list arrive at the tick the env reports for them.

    Rows go into preallocated column buffers. When one is full the next is allocated with double the capacity and
    the full one is kept as it is (amortised doubling without copying: total capacity stays below twice the rows,
    and each row is copied once, by `to_log`).
    """

    def __init__(self, new_age: float = 50.0, capacity: int = 4096) -> None:
        self.new_age = float(new_age)
        self._capacity = max(int(capacity), 1)  # rows the current buffer holds
        self._fill = 0  # rows used in the current buffer
        self._done_rows = 0  # rows in the full buffers
        self._k = -1  # slate size, fixed by the first step
        self._depth = 0  # ranking depth, fixed by the first step with a ranking (0: none yet)
        self._cols: dict[str, np.ndarray[Any, Any]] = {}  # the current buffer: (capacity,) or (capacity, K) per column
        self._full: list[tuple[dict[str, np.ndarray[Any, Any]], int]] = []  # earlier buffers and their used rows
        # (info key, column) pairs of the current buffer, so record_step is one tight loop.
        self._bind: list[tuple[str, np.ndarray[Any, Any]]] = []
        # Item events in recording order; chunks are concatenated and de-duplicated (first sighting wins) in to_log.
        self._item_chunks: list[tuple[IntArray, FloatArray, bool]] = []  # (ids (A,), arrival (A,), live at start)
        self._retired_chunks: list[tuple[IntArray, float]] = []  # (ids (R,), world tick)

    def __len__(self) -> int:
        return self._done_rows + self._fill

    def record_reset(self, info: Mapping[str, Any]) -> None:
        """Note the catalog reported at a reset: items live then, with their arrival ticks."""
        live = info.get("world_live_item_ids")
        if live is None:
            return
        ids = np.array(live, dtype=np.int64).reshape(-1)
        arrival = np.array(info["world_live_item_arrival"], dtype=np.float64).reshape(-1)
        if ids.size:
            self._item_chunks.append((ids, arrival, len(self) == 0))

    def record_step(
        self,
        info: Mapping[str, Any],
        reward: npt.ArrayLike,
        terminated: npt.ArrayLike,
        truncated: npt.ArrayLike,
        ranking: npt.ArrayLike | None = None,
    ) -> None:
        """Append one row per session of this transition (one for a single env, N for a vector env).

        ``ranking`` ((R,) or (N, R) candidate positions, best first: ``Agent.rank``) is the agent's
        ranking of the candidates it acted on; each row then records how many of its top R are
        relevant by ``info["candidate_relevance"]`` (recall@R, ``ranking_recall``). R must stay the
        same over a recording.
        """
        ids = info["slate_item_ids"]
        nd = np.ndim(ids)
        if nd == 1:
            n = 1
        elif nd == 2:
            n = len(ids)
        else:
            raise ValueError(f"info['slate_item_ids'] must be (K,) or (N, K), got shape {np.shape(ids)}")
        if self._k < 0:
            self._k = int(np.shape(ids)[-1])
            self._new_buffer(self._capacity)
        if self._fill + n > self._capacity:
            self._full.append((self._cols, self._fill))
            self._done_rows += self._fill
            self._new_buffer(max(2 * self._capacity, n))
        i = self._fill
        cols = self._cols
        hits = -1 if ranking is None else self._ranked_hits(info, ranking, n)
        if nd == 1:
            # Integer indexing is about twice as fast as a length-1 slice; this is the single env's hot loop.
            for key, buf in self._bind:
                buf[i] = info[key]
            cols["reward"][i] = reward
            cols["terminated"][i] = terminated
            cols["truncated"][i] = truncated
            cols["ranked_hits"][i] = hits
        else:
            j = i + n
            for key, buf in self._bind:
                buf[i:j] = info[key]
            cols["reward"][i:j] = reward
            cols["terminated"][i:j] = terminated
            cols["truncated"][i:j] = truncated
            cols["ranked_hits"][i:j] = hits
        self._fill = i + n
        arrived = info.get("world_arrived_item_ids")
        if arrived is not None and len(arrived):
            a = np.array(arrived, dtype=np.int64).reshape(-1)
            self._item_chunks.append((a, np.full(a.shape, float(info["world_time"])), False))
        retired = info.get("world_retired_item_ids")
        if retired is not None and len(retired):
            self._retired_chunks.append((np.array(retired, dtype=np.int64).reshape(-1), float(info["world_time"])))

    def _ranked_hits(self, info: Mapping[str, Any], ranking: npt.ArrayLike, n: int) -> IntArray:
        """(n,) relevant candidates (relevance >= 0.5) among each row's ranked positions."""
        if "candidate_relevance" not in info:
            raise KeyError("record_step(ranking=...) needs info['candidate_relevance'] (a freshrec env's step info)")
        relevance = np.asarray(info["candidate_relevance"]).reshape(n, -1)  # (n, M)
        ranked = np.asarray(ranking, dtype=np.int64).reshape(n, -1)  # (n, R)
        depth = ranked.shape[1]
        if self._depth not in (0, depth):
            raise ValueError(f"ranking depth {depth}: this recording's rankings are {self._depth} deep")
        if ranked.size and (ranked.min() < 0 or ranked.max() >= relevance.shape[1]):
            raise ValueError(f"ranking holds positions outside [0, {relevance.shape[1]}) (the candidates)")
        self._depth = depth
        # Marked on the candidates, not gathered: a ranking that repeats a relevant position counts it once.
        marked = np.zeros(relevance.shape, np.bool_)
        np.put_along_axis(marked, ranked, True, axis=1)
        return (marked & (relevance >= 0.5)).sum(axis=1)

    def _new_buffer(self, capacity: int) -> None:
        # np.empty: rows past the fill are never read, and fresh pages are only touched as rows are written.
        k = self._k
        self._cols = {
            name: np.empty((capacity, k) if slot else (capacity,), dtype) for name, _, dtype, slot in _INFO_COLUMNS
        }
        self._cols |= {name: np.empty(capacity, dtype) for name, dtype in _ARG_COLUMNS}
        self._capacity = capacity
        self._fill = 0
        self._bind = [(key, self._cols[name]) for name, key, _, _ in _INFO_COLUMNS]

    def _items(self) -> tuple[IntArray, FloatArray, BoolArray, FloatArray]:
        if not self._item_chunks:
            return np.zeros(0, np.int64), np.zeros(0, np.float64), np.zeros(0, np.bool_), np.zeros(0, np.float64)
        ids = np.concatenate([c[0] for c in self._item_chunks])  # (sum A,) in recording order
        arrival = np.concatenate([c[1] for c in self._item_chunks])
        live = np.concatenate([np.full(len(c[0]), c[2]) for c in self._item_chunks])
        # np.unique's index is each id's first occurrence: the first sighting decides arrival and live-at-start.
        uniq, first = np.unique(ids, return_index=True)
        retired = np.full(len(uniq), np.nan)
        if self._retired_chunks:
            r_ids = np.concatenate([c[0] for c in self._retired_chunks])
            r_tick = np.concatenate([np.full(len(c[0]), c[1]) for c in self._retired_chunks])
            r_uniq, r_first = np.unique(r_ids, return_index=True)
            pos = np.minimum(np.searchsorted(uniq, r_uniq), len(uniq) - 1)
            known = uniq[pos] == r_uniq  # retirements of items never seen arriving are dropped
            retired[pos[known]] = r_tick[r_first[known]]
        return uniq, arrival[first], live[first], retired

    def to_log(self) -> StepLog:
        """A read-only snapshot of everything recorded so far (copies; recording can go on)."""
        parts = [*self._full, (self._cols, self._fill)]
        k = max(self._k, 0)
        cols: dict[str, np.ndarray[Any, Any]] = {}
        for name, dtype in _DTYPES.items():
            if self._k < 0:  # no step yet
                cols[name] = np.zeros((0, k) if name in _SLOT_FIELDS else (0,), dtype)
            else:  # concatenate always copies, so later steps cannot reach the snapshot
                cols[name] = np.concatenate([buf[name][:fill] for buf, fill in parts])
        item_ids, arrival, live, retired = self._items()
        cols |= {"item_ids": item_ids, "item_arrival": arrival, "item_live_at_start": live, "item_retired": retired}
        for a in cols.values():
            a.flags.writeable = False
        return StepLog(**cols, new_age=self.new_age, ranking_depth=self._depth)

    def summary(self, k: int | None = None) -> dict[str, float]:
        """`summarize` of `to_log` (every metric; the @k ones on the top k slots, default the whole slate)."""
        return summarize(self.to_log(), k=k)
