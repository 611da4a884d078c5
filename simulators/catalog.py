"""The catalog's side of the world: item draws, arrivals (drawn ahead from the exogenous stream), the
public trending list, and the candidate generator. A mixin of ``World``; state stays in ``WorldState``.

Shapes: S item slots, B sessions, M candidates, R = M - newest - trending uniformly sampled places.
"""

from __future__ import annotations

import numpy as np

from freshrec.simulators import dynamics
from freshrec.simulators.config import WorldConfig
from freshrec.simulators.state import WorldState
from freshrec.simulators.text import TextBank

BLOCK = 512  # exogenous events drawn ahead per refill
EMPTY_I = np.zeros(0, np.int64)


def unit(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit norm."""
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


class CatalogDynamics:
    """Arrivals, trending and candidates, for ``World``."""

    config: WorldConfig
    bank: TextBank
    num_sessions: int
    _head: int

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
            state.arrival_buffer = {"time": np.array([np.inf])}
            state.arrival_cursor = 0
            return
        start = float(buf["time"][-1]) if buf else 0.0
        new = self._draw_items(state.exo, BLOCK, state.centres)
        new["time"] = start + np.cumsum(state.exo.exponential(1.0 / rate, size=BLOCK))
        state.arrival_buffer = {k: np.concatenate([left[k], v]) if k in left else v for k, v in new.items()}
        state.arrival_cursor = 0

    def _arrive(self, state: WorldState) -> tuple[np.ndarray, np.ndarray]:
        """New items that arrived by now take the oldest slots; returns (arrived ids, retired ids)."""
        buf = state.arrival_buffer
        times = buf["time"]
        end = state.arrival_cursor + int(np.searchsorted(times[state.arrival_cursor :], state.time, side="right"))
        while end == len(times) and np.isfinite(times[-1]):  # the block ran out: draw the next one
            self._refill_arrivals(state)
            buf, times = state.arrival_buffer, state.arrival_buffer["time"]
            end = int(np.searchsorted(times, state.time, side="right"))
        start = state.arrival_cursor
        n = end - start
        if n == 0:
            return EMPTY_I, EMPTY_I
        state.arrival_cursor = end
        cat, s_ = state.catalog, self.config.catalog.slots
        take = slice(max(start, end - s_), end)  # more arrivals than slots in one tick: only the last S stay
        n = take.stop - take.start
        slots = (cat.next_slot + np.arange(n)) % s_
        retired = cat.item_id[slots][cat.live[slots]]
        ids = cat.next_item_id + np.arange(n)
        cat.item_id[slots] = ids
        for name in ("topic", "latent", "quality", "text"):
            getattr(cat, name)[slots] = buf[name][take]
        cat.arrival[slots] = state.time
        cat.live[slots] = True
        for name in ("clicks", "impressions", "trend", "trend_pending"):
            getattr(cat, name)[slots] = 0.0
        cat.next_slot = int((cat.next_slot + n) % s_)
        cat.head = cat.pool = None
        cat.next_item_id += n
        return ids, retired

    def _refresh_trending(self, state: WorldState) -> None:
        """Decay the public trending counts and take the current top ones (ties: lower slot first)."""
        cat, sl = state.catalog, self.config.slate
        factor = dynamics.half_life_factor(sl.trending_every, self.config.catalog.trend_half_life)
        cat.trend *= factor
        cat.trend += cat.trend_pending
        cat.trend_pending[:] = 0.0
        cat.head = None
        if sl.trending:
            score = np.where(cat.live, cat.trend, -1.0)
            cat.trending[:] = np.argsort(-score, kind="stable")[: sl.trending]  # stable: ties go to the lower slot

    def _propose(self, state: WorldState, idx: np.ndarray) -> None:
        """M candidates for sessions ``idx``: the newest arrivals, the trending list, then a uniform sample.

        The generator reads public signals only. The newest and trending heads are shared by all
        sessions at a tick (a slot in both lists appears once; its second copy is masked out). The
        rest is a per-session uniform sample without replacement of the live items, drawn once per
        tick for every session slot from the generator's own stream: it depends on the seed and the
        tick only, so every agent run on a seed gets the same samples (items also in the head are
        masked out; with fewer live items than places the remaining places are masked out). Only the
        trending list, a public signal, reflects what the agent did.
        """
        cat, sl, st = state.catalog, self.config.slate, state.sessions
        s_ = self.config.catalog.slots
        if cat.head is None:  # changes only with arrivals and trending refreshes
            newest = (cat.next_slot - 1 - np.arange(sl.newest)) % s_
            cat.head = np.concatenate([newest, cat.trending])
            cat.head_valid = cat.live[cat.head]
            if sl.trending and sl.newest:
                cat.head_valid[sl.newest :] &= ~(cat.trending[:, None] == newest).any(axis=1)
            cat.in_head = np.zeros(s_, bool)
            cat.in_head[cat.head[cat.head_valid]] = True
        head, head_valid, in_head = cat.head, cat.head_valid, cat.in_head
        assert head_valid is not None and in_head is not None
        r = sl.num_candidates - self._head
        if r > 0:
            if cat.pool is None:  # changes only with arrivals
                cat.pool = np.flatnonzero(cat.live)
            pool = cat.pool
            if state.sample_time != state.time:  # one draw per tick for all B slots
                if pool.size <= r:  # not enough live items: offer them all, mask the rest
                    block = np.broadcast_to(np.resize(pool, r), (self.num_sessions, r)).copy()
                else:
                    block = pool[sample_without_replacement(state.cand, pool.size, self.num_sessions, r)]
                state.sample, state.sample_time = block, state.time
            sample = state.sample[idx]  # (n, R) slots
            valid = ~in_head.take(sample)
            if pool.size <= r:
                valid &= np.arange(r) < pool.size
            st.candidates[idx, self._head :] = sample
            st.candidate_valid[idx, self._head :] = valid
        st.candidates[idx, : self._head] = head
        st.candidate_valid[idx, : self._head] = head_valid


def sample_without_replacement(gen: np.random.Generator, population: int, rows: int, size: int) -> np.ndarray:
    """(rows, size) indices in [0, population), distinct within each row; duplicates are redrawn.

    Drawing with replacement and redrawing the few collisions is far cheaper than a permutation of
    the population per row when size << population (the usual case: 20 of ~1,000).
    """
    draw = gen.integers(population, size=(rows, size))
    while True:
        draw.sort(axis=1)
        dup = np.zeros_like(draw, dtype=bool)
        dup[:, 1:] = draw[:, 1:] == draw[:, :-1]
        count = int(dup.sum())
        if count == 0:
            return draw
        draw[dup] = gen.integers(population, size=count)
