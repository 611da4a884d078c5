"""Abrupt interest shifts: a Poisson process over the population drawn ahead in blocks from the
exogenous stream, so every agent run on a seed meets the same shocks at the same ticks. A mixin of ``World``.
"""

from __future__ import annotations

import numpy as np

from freshrec.simulators.catalog import BLOCK, EMPTY_I, unit
from freshrec.simulators.config import WorldConfig
from freshrec.simulators.state import WorldState


class ShiftDynamics:
    """Drawing and applying abrupt shifts, for ``World``."""

    config: WorldConfig

    def _refill_shifts(self, state: WorldState) -> None:
        """Draw the next block of abrupt shifts: a Poisson process of rate users * hazard, users uniform."""
        u, c = self.config.users, self.config.catalog
        rate = u.users * u.shift_hazard if u.abrupt_shifts else 0.0
        if rate <= 0:
            state.shift_buffer = {"time": np.array([np.inf])}
            state.shift_cursor = 0
            return
        exo = state.exo
        left = {k: v[state.shift_cursor :] for k, v in state.shift_buffer.items()}
        start = float(state.shift_buffer["time"][-1]) if state.shift_buffer else 0.0
        new: dict[str, np.ndarray] = {
            "time": start + np.cumsum(exo.exponential(1.0 / rate, size=BLOCK)),
            "user": exo.integers(u.users, size=BLOCK),
            "topic": exo.integers(c.topics, size=BLOCK),
            "noise": exo.standard_normal((BLOCK, c.latent_dim)).astype(np.float32),
        }
        # The new long-term interests, computed for the whole block at once (not per tick).
        after = state.centres[new["topic"]] + u.interest_spread * new["noise"] / np.sqrt(c.latent_dim)
        new["after"] = unit(after).astype(np.float32)
        state.shift_buffer = {k: np.concatenate([left[k], v]) if k in left else v for k, v in new.items()}
        state.shift_cursor = 0

    def _shift(self, state: WorldState) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Abrupt shifts due by now: long-term interest jumps to a new topic; an online user's interest too."""
        buf = state.shift_buffer
        times = buf["time"]
        end = state.shift_cursor + int(np.searchsorted(times[state.shift_cursor :], state.time, side="right"))
        while end == len(times) and np.isfinite(times[-1]):
            self._refill_shifts(state)
            buf, times = state.shift_buffer, state.shift_buffer["time"]
            end = int(np.searchsorted(times, state.time, side="right"))
        start, state.shift_cursor = state.shift_cursor, end
        if end == start:
            empty = np.zeros((0, self.config.catalog.latent_dim), np.float32)
            return EMPTY_I, EMPTY_I, empty, empty
        us = state.users
        users, topics, after = buf["user"][start:end], buf["topic"][start:end], buf["after"][start:end]
        before = us.anchor.take(users, axis=0)
        us.anchor[users] = after
        us.anchor_topic[users] = topics
        us.last_shift[users] = state.time
        session = us.session[users]
        online = session >= 0
        us.interest[users[online]] = after[online]  # online users feel it now; offline ones at their return
        state.sessions.shifted[session[online]] = True
        return users, topics, before, after
