"""The platform's log, as agents see it: what each session was offered and shown, and what was clicked.

Public signals only (no hidden utility, relevance or interest). The harness builds one
``Transitions`` per tick from the observation the agent acted on, its slates and the env's
response, and hands it to ``Agent.observe``; the burn-in log is the same type, concatenated.
Rows are user-steps; shapes below are for R rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Transitions:
    """R logged user-steps (one tick of N sessions, or a whole log concatenated)."""

    time: np.ndarray  # (R,) int64 tick the slate was shown
    user_id: np.ndarray  # (R,) int64
    session_id: np.ndarray  # (R,) int64
    candidate_ids: np.ndarray  # (R, M) int64 item ids offered, -1 = masked
    candidate_features: np.ndarray  # (R, M, F) float32 their public features (see the env's observation)
    history_ids: np.ndarray  # (R, H) int64 the user's last clicks before this step, newest first, -1 = padding
    slate_positions: np.ndarray  # (R, K) int64 positions the agent chose
    slate_item_ids: np.ndarray  # (R, K) int64 items shown, -1 = empty slot
    clicked_position: np.ndarray  # (R,) int64 the clicked slot of the slate (0..K-1), -1 = no click
    clicked_item_id: np.ndarray  # (R,) int64 -1 = no click
    engagement: np.ndarray  # (R,) float32
    reward: np.ndarray  # (R,) float32
    done: np.ndarray  # (R,) bool the session ended at this step

    def __len__(self) -> int:
        return int(self.time.shape[0])

    @staticmethod
    def from_step(
        obs: dict[str, np.ndarray],
        slates: np.ndarray,
        info: dict[str, Any],
        reward: np.ndarray,
        terminated: np.ndarray,
        truncated: np.ndarray,
    ) -> Transitions:
        """One tick of a vector env: ``obs`` is what the agent acted on, the rest what ``step`` returned."""
        n, m = obs["candidate_mask"].shape
        return Transitions(
            time=np.asarray(info["time"], np.int64),
            user_id=np.asarray(info["user_id"], np.int64),
            session_id=np.asarray(info["session_id"], np.int64),
            candidate_ids=obs["candidate_ids"],
            candidate_features=obs["candidate_features"].reshape(n, m, -1),
            history_ids=obs["history_ids"],
            slate_positions=np.asarray(slates, np.int64).reshape(n, -1),
            slate_item_ids=np.asarray(info["slate_item_ids"], np.int64),
            clicked_position=np.asarray(info["clicked_position"], np.int64),
            clicked_item_id=np.asarray(info["clicked_item_id"], np.int64),
            engagement=np.asarray(info["engagement"], np.float32),
            reward=np.asarray(reward, np.float32),
            done=np.asarray(terminated, bool) | np.asarray(truncated, bool),
        )

    @staticmethod
    def concat(parts: Sequence[Transitions]) -> Transitions:
        """One log from many (row order kept)."""
        if not parts:
            raise ValueError("Transitions.concat: nothing to concatenate")
        return Transitions(**{f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(Transitions)})

    def clicks(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(users, items, times) of the clicks in this log, in row order."""
        hit = self.clicked_item_id >= 0
        return self.user_id[hit], self.clicked_item_id[hit], self.time[hit]

    # Pickled compactly (the harness's burn-in cache writes a 300-tick log per world): in the envs' layout a
    # candidate's text columns depend on the item alone and its last three (age, clicks, impressions) on the
    # (item, tick), so the (R, M, F) features are stored as two small tables, 187 MB -> about 8 MB at the
    # harness's size, and int64 ids that fit as int32. Loading gives back the very same arrays: the tables
    # are checked bit for bit against the array before they replace it, and a log they do not fit
    # (another layout, hand-built data) is stored as it is.
    def __getstate__(self) -> dict[str, Any]:
        state: dict[str, Any] = {f.name: getattr(self, f.name) for f in fields(self)}
        packed = _pack_features(self.candidate_ids, self.time, self.candidate_features)
        if packed is not None:
            state["candidate_features"] = packed
        for name, a in state.items():
            if isinstance(a, np.ndarray) and a.dtype == np.int64 and a.size and _fits_int32(a):
                state[name] = _Narrowed(a.astype(np.int32))
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        # Also reads a plain ``__dict__`` (pickles written before the compact form).
        state = {k: v.array.astype(np.int64) if isinstance(v, _Narrowed) else v for k, v in state.items()}
        if isinstance(state["candidate_features"], _PackedFeatures):
            state["candidate_features"] = state["candidate_features"].unpack(state["candidate_ids"], state["time"])
        for name, value in state.items():
            object.__setattr__(self, name, value)


_INT32 = np.iinfo(np.int32)


def _fits_int32(a: np.ndarray) -> bool:
    return bool(_INT32.min <= a.min() and a.max() <= _INT32.max)


_DYNAMIC = 3  # trailing feature columns that change with time (log1p age, clicks, impressions)


@dataclass(frozen=True)
class _Narrowed:
    """An int64 array stored as int32 in a pickle (every value fits)."""

    array: np.ndarray


@dataclass(frozen=True)
class _PackedFeatures:
    """(R, M, F) candidate features as per-item text rows plus per-(item, tick) dynamic rows."""

    items: np.ndarray  # (I,) sorted item ids seen unmasked
    text: np.ndarray  # (I, F - 3) their text columns
    keys: np.ndarray  # (J,) sorted item * span + (tick - t0) of every (item, tick) offered
    dynamic: np.ndarray  # (J, 3) the last three columns there
    masked: np.ndarray  # (S, F) rows of masked slots (id -1) kept verbatim: whatever the env left there
    t0: int
    span: int

    def unpack(self, candidate_ids: np.ndarray, time: np.ndarray) -> np.ndarray:
        r, m = candidate_ids.shape
        item = candidate_ids.reshape(-1)
        live = item >= 0
        tick = np.repeat(time, m)[live]
        p = self.text.shape[1]
        key = item[live] * self.span + tick - self.t0
        out = np.empty((r * m, p + _DYNAMIC), self.text.dtype)
        out[~live] = self.masked
        out[live, :p] = self.text[np.searchsorted(self.items, item[live])]
        out[live, p:] = self.dynamic[np.searchsorted(self.keys, key)]
        return out.reshape(r, m, -1)


def _pack_features(candidate_ids: np.ndarray, time: np.ndarray, features: np.ndarray) -> _PackedFeatures | None:
    """The compact form of ``features``, or None where it would not give them back bit for bit."""
    r, m = candidate_ids.shape
    if r == 0 or features.dtype.kind != "f" or features.ndim != 3 or features.shape[:2] != (r, m):
        return None
    if features.shape[2] <= _DYNAMIC:
        return None
    p = features.shape[2] - _DYNAMIC
    flat = features.reshape(r * m, -1)
    item = candidate_ids.reshape(-1)
    live = item >= 0
    t0, span = int(time.min()), int(time.max() - time.min()) + 1
    if live.any() and int(item.max()) >= np.iinfo(np.int64).max // span:
        return None  # the (item, tick) key would overflow
    items, at_item = np.unique(item[live], return_inverse=True)
    keys, at_key = np.unique(item[live] * span + np.repeat(time, m)[live] - t0, return_inverse=True)
    text = np.zeros((items.size, p), features.dtype)
    text[at_item.reshape(-1)] = flat[live, :p]
    dynamic = np.zeros((keys.size, _DYNAMIC), features.dtype)
    dynamic[at_key.reshape(-1)] = flat[live, p:]
    packed = _PackedFeatures(items, text, keys, dynamic, flat[~live], t0, span)
    again = packed.unpack(candidate_ids, time)
    bits = f"u{features.dtype.itemsize}"  # bit patterns: -0.0 and NaN must come back as they were
    return packed if np.array_equal(np.ascontiguousarray(features).view(bits), again.view(bits)) else None


@dataclass(frozen=True)
class AgentSpec:
    """What an agent may know about the env before acting: sizes from its spaces, nothing hidden."""

    slate_size: int  # K
    num_candidates: int  # M
    feature_dim: int  # F = text_dim + 3 columns per item token
    history: int  # H

    @staticmethod
    def from_env(env: Any) -> AgentSpec:
        """Read the sizes off a FreshRecEnv or FreshRecVectorEnv (or anything with their ``config``)."""
        base = env.unwrapped if hasattr(env, "unwrapped") else env
        cfg = base.config
        space = getattr(base, "single_observation_space", None) or base.observation_space  # vector or single env
        m = cfg.slate.num_candidates
        f = int(space["candidate_features"].shape[-1]) // m
        return AgentSpec(cfg.slate.slate_size, m, f, cfg.slate.history)
