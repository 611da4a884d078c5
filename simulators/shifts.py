"""Abrupt interest shifts: a Poisson process over the population drawn ahead in blocks from the
exogenous stream, so every agent run on a seed meets the same shocks at the same ticks. A mixin of ``World``.
"""

from __future__ import annotations

import numpy as np

from freshrec.simulators import events
from freshrec.simulators.catalog import BLOCK
from freshrec.simulators.config import WorldConfig
from freshrec.simulators.state import WorldState


class ShiftDynamics:
    """Drawing and applying abrupt shifts, for ``World``."""

    config: WorldConfig

    def _refill_shifts(self, state: WorldState) -> None:
        """Draw the next block of abrupt shifts: a Poisson process of rate users * hazard, users uniform.

        A block holds about 64 ticks of shifts (at least ``BLOCK``): refills stay rare at any rate.
        """
        u, c = self.config.users, self.config.catalog
        rate = u.users * u.shift_hazard if u.abrupt_shifts else 0.0
        if rate <= 0:
            state.shift_buffer = {  # never delivers: one entry at an infinite time
                "time": np.array([np.inf]),
                "user": np.zeros(1, np.int64),
                "topic": np.zeros(1, np.int64),
                "after": np.zeros((1, c.latent_dim), np.float32),
            }
            state.shift_cursor = 0
            return
        exo, size = state.exo, max(BLOCK, int(64 * rate))
        left = {k: v[state.shift_cursor :] for k, v in state.shift_buffer.items()}
        start = float(state.shift_buffer["time"][-1]) if state.shift_buffer else 0.0
        new: dict[str, np.ndarray] = {
            "time": start + np.cumsum(exo.exponential(1.0 / rate, size=size)),
            "user": exo.integers(u.users, size=size),
            "topic": exo.integers(c.topics, size=size),
        }
        # The new long-term interests, for the whole block at once (not per tick): near the new topic's centre.
        noise = exo.standard_normal((size, c.latent_dim), dtype=np.float32)
        new["after"] = events.around_centres(state.centres, new["topic"], noise, u.interest_spread)
        state.shift_buffer = {k: np.concatenate([left[k], v]) if k in left else v for k, v in new.items()}
        state.shift_cursor = 0
