"""The catalog's side of the world: item draws, arrivals (drawn ahead from the exogenous stream), the
public trending list, and the candidate generator. A mixin of ``World``; state stays in ``WorldState``.

Shapes: S item slots, B sessions, M candidates, R = M - newest - trending uniformly sampled places.
The per-tick work runs in compiled loops (``freshrec.simulators.kernel``); this mixin fills the buffers.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from freshrec.simulators import events
from freshrec.simulators.config import WorldConfig
from freshrec.simulators.state import WorldState
from freshrec.simulators.text import TextBank

BLOCK = 512  # exogenous events drawn ahead per refill
EMPTY_I = np.zeros(0, np.int64)


def no_arrivals(latent_dim: int) -> dict[str, np.ndarray]:
    """An arrival buffer that never delivers: one entry at an infinite time (typed as real entries are)."""
    return {
        "time": np.array([np.inf]),
        "topic": np.zeros(1, np.int64),
        "latent": np.zeros((1, latent_dim), np.float32),
        "quality": np.zeros(1, np.float32),
        "text": np.zeros(1, np.int64),
    }


def unit(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit norm."""
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


class CatalogDynamics:
    """Arrivals, trending and candidates, for ``World``."""

    config: WorldConfig
    bank: TextBank
    num_sessions: int
    _sampled: int
    _refill_shifts: Callable[[WorldState], None]  # ShiftDynamics, the other mixin of World

    def _draw_items(self, gen: np.random.Generator, n: int, centres: np.ndarray) -> dict[str, np.ndarray]:
        """Hidden and public attributes of ``n`` new items; text picked from topic and latent offset."""
        c = self.config.catalog
        topic = gen.integers(c.topics, size=n)
        offset = c.item_spread * gen.standard_normal((n, c.latent_dim)) / np.sqrt(c.latent_dim)
        latent = unit(centres[topic] + offset).astype(np.float32)
        quality = (c.quality_std * gen.standard_normal(n)).astype(np.float32)
        noun = gen.integers(self.bank.nouns_per_topic, size=n)
        return {"topic": topic, "latent": latent, "quality": quality, "text": self.bank.text_ids(topic, offset, noun)}

    def _refill_arrivals(self, state: WorldState) -> None:
        """Draw the next block of arrivals (a Poisson process of ``arrival_rate`` per tick) from ``exo``."""
        rate = self.config.catalog.arrival_rate
        buf = state.arrival_buffer
        left = {k: v[state.arrival_cursor :] for k, v in buf.items()}
        if rate <= 0:
            state.arrival_buffer = no_arrivals(self.config.catalog.latent_dim)
            state.arrival_cursor = 0
            return
        start = float(buf["time"][-1]) if buf else 0.0
        new = self._draw_items(state.exo, BLOCK, state.centres)
        new["time"] = start + np.cumsum(state.exo.exponential(1.0 / rate, size=BLOCK))
        state.arrival_buffer = {k: np.concatenate([left[k], v]) if k in left else v for k, v in new.items()}
        state.arrival_cursor = 0

    def _propose(self, state: WorldState, idx: np.ndarray) -> None:
        """M candidates for sessions ``idx``: the newest arrivals, the trending list, then a uniform sample.

        The generator reads public signals only. The newest and trending heads are shared by all
        sessions at a tick (a slot in both lists appears once; its second copy is masked out). The
        rest is a per-session uniform sample without replacement of the live items, drawn once per
        tick for every session slot from the generator's own stream: it depends on the seed and the
        tick only, so every agent run on a seed gets the same samples (items also in the head are
        masked out; with fewer live items than places the remaining places are masked out). Only the
        trending list, a public signal, reflects what the agent did. ``World.step`` draws each new
        tick's sample in its kernel; a restart within the tick reuses it.
        """
        cat, sl, st = state.catalog, self.config.slate, state.sessions
        if state.sample_time != state.time:  # only at reset: the step draws the later ticks' samples
            pool = np.flatnonzero(cat.live)
            state.sample = events.sample_slots(pool, state.cand.random((self.num_sessions, self._sampled)))
            state.sample_time, state.sample_pool = state.time, pool.size
        events.fill_candidates(
            idx, state.sample, state.sample_pool, sl.newest, cat.next_slot, cat.trending, cat.live,
            st.candidates, st.candidate_valid,
        )  # fmt: skip

    def _refill(self, state: WorldState) -> None:
        """Make both event buffers reach past the next tick, so the step kernel never runs off their end."""
        time = state.time + 1.0
        while state.arrival_buffer["time"][-1] <= time:
            self._refill_arrivals(state)
        while state.shift_buffer["time"][-1] <= time:
            self._refill_shifts(state)
