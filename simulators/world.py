"""The world: data (``WorldState``) plus one batched transition (``World.step``) over B concurrent sessions.

The same code serves one session (B = 1, the single env) and thousands (the vector env); there is
no scalar copy of the dynamics. ``World.step`` draws the tick's randomness, then runs two compiled
loops (``kernel.serve`` over the sessions, ``events.advance`` for the tick's events) that mutate
the state's arrays in place, and returns what happened. Randomness comes only from the four
generators that ``World.reset(seed)`` spawns: ``init`` (the population and the first catalog),
``rng`` (choices, engagement, leaving, gradual drift of online users), ``exo`` (arrivals and
abrupt shifts, drawn ahead in blocks, so every agent run on a seed meets the same new items and
the same shocks at the same ticks), ``cand`` (the candidate sampler) and ``ret`` (return gaps and
the drift of users while away: kept apart so that agents whose sessions end at different times
still share the choice stream).

>>> from freshrec.simulators.config import WorldConfig
>>> world = World(WorldConfig.regime("full").replace(users__users=50), num_sessions=2)
>>> state = world.reset(seed=0)
>>> result = world.step(state, np.array([[0, 1, 2, 3, 4], [4, 3, 2, 1, 0]]))
>>> result.item_ids.shape, state.time
((2, 5), 1.0)
"""

from __future__ import annotations

import numpy as np

from freshrec.simulators import dynamics, events, kernel
from freshrec.simulators.catalog import CatalogDynamics, unit
from freshrec.simulators.config import ConfigError, WorldConfig
from freshrec.simulators.shifts import ShiftDynamics
from freshrec.simulators.state import Catalog, Sessions, StepResult, Users, WorldState
from freshrec.simulators.text import TextBank

_TEXT_BANK_SEED = 20_241_201  # the style words' hidden directions are part of the world's definition
_SCAN_PICK = 32  # restarting at most this many slots at once: scan for the soonest returns


class World(CatalogDynamics, ShiftDynamics):
    """A population of users with drifting interests meeting a catalog whose items arrive and age."""

    def __init__(self, config: WorldConfig | None = None, num_sessions: int = 1) -> None:
        self.config = config = config or WorldConfig()
        if isinstance(num_sessions, bool) or not isinstance(num_sessions, int | np.integer) or num_sessions < 1:
            raise ConfigError(f"num_sessions = {num_sessions!r}: must be an integer >= 1")
        if num_sessions >= config.users.users:
            raise ConfigError(
                f"num_sessions = {num_sessions}: must be less than UserConfig.users = {config.users.users} "
                "(each session serves a different user); raise users"
            )
        num_sessions = int(num_sessions)
        self.num_sessions: int = num_sessions
        c = config.catalog
        self.bank = TextBank.build(c.topics, c.latent_dim, np.random.default_rng(_TEXT_BANK_SEED))
        self._sampled = config.slate.num_candidates - config.slate.newest - config.slate.trending
        self._trend_factor = dynamics.half_life_factor(config.slate.trending_every, c.trend_half_life)
        self._params = world_params(config)
        self._no_normal = np.zeros((0, c.latent_dim))

    # ---------------------------------------------------------------- reset
    def reset(self, seed: int | None = None) -> WorldState:
        """A fresh world: population, full catalog, B sessions of the first users, candidates."""
        c, u, sl = self.config.catalog, self.config.users, self.config.slate
        init, rng, exo, cand, ret = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(5))
        centres, items, anchor, topics = self._populate(init)
        n0, s_ = c.initial_items, c.slots
        catalog = Catalog(
            item_id=np.full(s_, -1, np.int64),
            topic=np.zeros(s_, np.int64),
            latent=np.zeros((s_, c.latent_dim), np.float32),
            quality=np.zeros(s_, np.float32),
            arrival=np.zeros(s_, np.float64),
            text=np.zeros(s_, np.int64),
            live=np.zeros(s_, bool),
            clicks=np.zeros(s_, np.float32),
            impressions=np.zeros(s_, np.float32),
            trend=np.zeros(s_, np.float32),
            trend_pending=np.zeros(s_, np.float32),
            trending=np.zeros(sl.trending, np.int64),
            next_slot=n0 % s_,
            next_item_id=n0,
        )
        catalog.item_id[:n0] = np.arange(n0)
        for name in ("topic", "latent", "quality", "text", "arrival"):
            getattr(catalog, name)[:n0] = items[name]
        catalog.live[:n0] = True
        catalog.trending[:] = np.arange(sl.trending)  # slots not live yet are masked out by the generator

        h = sl.history
        users = Users(
            interest=anchor.astype(np.float32),
            anchor=anchor.astype(np.float32),
            anchor_topic=topics.astype(np.int64),
            boredom=np.zeros((u.users, c.topics), np.float32),
            last_seen=np.zeros(u.users),
            last_shift=np.full(u.users, -np.inf),
            return_at=init.uniform(0.0, u.return_gap, size=u.users),
            session=np.full(u.users, -1, np.int64),
            sessions=np.zeros(u.users, np.int64),
            hist_item=np.full((u.users, h), -1, np.int64),
            hist_text=np.zeros((u.users, h), np.int64),
            hist_topic=np.zeros((u.users, h), np.int64),
            hist_age=np.zeros((u.users, h), np.float32),
            hist_time=np.zeros((u.users, h), np.float64),
            hist_engagement=np.zeros((u.users, h), np.float32),
        )
        b, m, q = self.num_sessions, sl.num_candidates, sl.skipped
        sessions = Sessions(
            user=np.zeros(b, np.int64),
            session_id=np.zeros(b, np.int64),
            step=np.zeros(b, np.int64),
            clicks=np.zeros(b, np.int64),
            reward=np.zeros(b, np.float64),
            patience=np.zeros(b, np.float32),
            shifted=np.zeros(b, bool),
            gap=np.zeros(b, np.float64),
            candidates=np.zeros((b, m), np.int64),
            candidate_valid=np.zeros((b, m), bool),
            skip_item=np.full((b, q), -1, np.int64),
            skip_text=np.zeros((b, q), np.int64),
            skip_topic=np.zeros((b, q), np.int64),
            skip_age=np.zeros((b, q), np.float32),
            skip_valid=np.zeros((b, q), bool),
        )
        state = WorldState(
            time=0.0,
            catalog=catalog,
            users=users,
            sessions=sessions,
            rng=rng,
            exo=exo,
            cand=cand,
            ret=ret,
            centres=centres,
            next_session_id=0,
            arrival_buffer={},
            arrival_cursor=0,
            shift_buffer={},
            shift_cursor=0,
            sample=np.zeros((b, 0), np.int64),
            sample_time=-1.0,
            sample_pool=0,
        )
        self._refill_arrivals(state)
        self._refill_shifts(state)
        self._start_sessions(state, np.arange(b))
        return state

    def _populate(self, init: np.random.Generator) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray, np.ndarray]:
        """The world's hidden make-up at reset, drawn from ``init``.

        Returns the topic centres (T, D); the initial items as a dict of (n0,) or (n0, D) arrays
        (``topic``, ``latent``, ``quality``, ``text``, ``arrival`` tick, at most 0); the users'
        long-term interests (U, D) and topics (U,). A calibrated world overrides this with real data.
        """
        c, u = self.config.catalog, self.config.users
        centres = unit(init.standard_normal((c.topics, c.latent_dim))).astype(np.float32)
        n0 = c.initial_items
        items = self._draw_items(init, n0, centres)
        rate = c.arrival_rate if c.arrival_rate > 0 else 1.0
        items["arrival"] = -(n0 - np.arange(n0)) / rate  # staggered: the newest arrived one tick ago
        topics = init.integers(c.topics, size=u.users)
        anchor = unit(
            centres[topics] + u.interest_spread * init.standard_normal((u.users, c.latent_dim)) / np.sqrt(c.latent_dim)
        )
        return centres, items, anchor, topics

    # ---------------------------------------------------------------- step
    def step(self, state: WorldState, positions: np.ndarray) -> StepResult:
        """Show each session the slate ``positions`` (B, K) (indices into its M candidates), advance one tick.

        Positions must lie in [0, M) (the env checks and names a bad one). A position that repeats an
        earlier one in the same slate is shown as an empty slot. Sessions whose user left stay in place
        until ``restart``; the env restarts them before their next step.
        """
        st, cat, us = state.sessions, state.catalog, state.users
        b, k = positions.shape
        m, d = st.candidates.shape[1], us.interest.shape[1]
        draws = state.rng.random((b, 2))  # choice, leaving
        normal = state.rng.standard_normal((b, d + 1))  # gradual drift, engagement noise
        e = np.empty
        slots, item_ids, topics = e((b, k), np.int64), e((b, k), np.int64), e((b, k), np.int64)
        ages, repeated, click_prob = e((b, k), np.float32), e((b, k), bool), e((b, k), np.float32)
        clicked, engaged, reward = e(b, np.int64), e(b, np.float32), e(b, np.float32)
        terminated, shifted, relevance = e(b, bool), e(b, bool), e((b, m), np.float32)
        now = state.time
        kernel.serve(
            now, positions, draws, normal, self._params,
            st.candidates, st.candidate_valid, st.user, st.patience, st.step, st.clicks, st.reward, st.shifted,
            st.skip_item, st.skip_text, st.skip_topic, st.skip_age, st.skip_valid,
            us.interest, us.anchor, us.boredom, us.last_seen,
            us.hist_item, us.hist_text, us.hist_topic, us.hist_age, us.hist_time, us.hist_engagement,
            cat.item_id, cat.topic, cat.latent, cat.quality, cat.arrival, cat.text, cat.impressions, cat.clicks,
            cat.trend_pending,
            slots, item_ids, topics, ages, repeated, clicked, engaged, reward, terminated, click_prob, relevance,
            shifted,
        )  # fmt: skip
        # The clock moves: arrivals, the trending refresh, abrupt shifts, then the next candidates.
        self._refill(state)
        state.time = now = now + 1.0
        ab, sb, start = state.arrival_buffer, state.shift_buffer, state.shift_cursor
        (state.arrival_cursor, arrived, retired, state.shift_cursor, before, state.sample, state.sample_pool) = (
            events.advance(
                now, int(now) % self.config.slate.trending_every == 0, self._trend_factor, self.config.slate.newest,
                state.cand.random((b, self._sampled)),
                state.arrival_cursor, ab["time"], ab["topic"], ab["latent"], ab["quality"], ab["text"],
                start, sb["time"], sb["user"], sb["topic"], sb["after"],
                cat.next_slot, cat.next_item_id, cat.item_id, cat.topic, cat.latent, cat.quality, cat.arrival,
                cat.text, cat.live, cat.clicks, cat.impressions, cat.trend, cat.trend_pending, cat.trending,
                us.anchor, us.anchor_topic, us.last_shift, us.session, us.interest,
                st.shifted, st.candidates, st.candidate_valid,
            )
        )  # fmt: skip
        state.sample_time = now
        cat.next_slot = (cat.next_slot + arrived.size) % cat.item_id.size
        cat.next_item_id += arrived.size
        end = state.shift_cursor
        return StepResult(
            slots=slots, item_ids=item_ids, topics=topics, ages=ages, repeated=repeated, clicked=clicked,
            engagement=engaged, reward=reward, terminated=terminated, click_prob=click_prob, relevance=relevance,
            shifted=shifted, time=now - 1.0, arrived=arrived, retired=retired, shift_users=sb["user"][start:end],
            shift_topics=sb["topic"][start:end], shift_before=before, shift_after=sb["after"][start:end],
        )  # fmt: skip

    def candidate_relevance(self, state: WorldState, boredom_weight: float | None = None) -> np.ndarray:
        """Ground truth (B, M): each candidate's click probability if shown alone now (0 where masked).

        Hidden information: only the oracle baselines and the metrics may use it. ``boredom_weight``
        (a diagnostic, for the reweighted oracles) computes it as if boredom cost that much utility per
        unit instead of the config's ``users.boredom_weight``; ignored when the world has no boredom.
        """
        params = self._params
        if boredom_weight is not None:
            if not 0.0 <= boredom_weight <= 100.0:  # UserConfig.boredom_weight's range
                raise ValueError(f"boredom_weight = {boredom_weight}: must be in [0, 100]")
            params = params.copy()
            params[kernel.BOREDOM_WEIGHT] = boredom_weight
        st, cat, us = state.sessions, state.catalog, state.users
        return kernel.relevance(
            state.time, st.candidates, st.candidate_valid, st.user, us.interest, us.boredom,
            cat.latent, cat.quality, cat.arrival, cat.topic, params,
        )  # fmt: skip

    # ---------------------------------------------------------------- sessions
    def restart(self, state: WorldState, done: np.ndarray) -> None:
        """End the sessions where ``done`` (B,) is true and give each slot the next returning user."""
        idx = np.flatnonzero(done)
        if idx.size == 0:
            return
        st, us, u = state.sessions, state.users, self.config.users
        exponential = state.ret.standard_exponential(idx.size)  # return gaps: mean * Exp(1)
        kernel.end_sessions(
            idx, state.time, exponential, u.return_gap, u.return_sensitivity,
            st.user, st.clicks, st.step, us.return_at, us.session,
        )  # fmt: skip
        self._start_sessions(state, idx)

    def _start_sessions(self, state: WorldState, idx: np.ndarray) -> None:
        """Slots ``idx`` take the offline users who want to return soonest (exact ties: the lower id)."""
        st, us, u = state.sessions, state.users, self.config.users
        n = idx.size
        if n <= _SCAN_PICK:  # a scan beats partitioning the whole population for a few slots
            pick = kernel.soonest_offline(us.return_at, us.session, n)
        else:
            wait = np.where(us.session < 0, us.return_at, np.inf)
            pick = np.argpartition(wait, n - 1)[:n] if n < wait.size else np.arange(wait.size)
            pick = pick[np.lexsort((pick, wait[pick]))]
        # Drift while away, in closed form: the normals come from ``ret`` (kept apart from choices).
        normal = state.ret.standard_normal((n, us.interest.shape[1])) if u.gradual_drift else self._no_normal
        kernel.start_sessions(
            idx, pick, state.time, state.next_session_id, normal, self._params,
            us.interest, us.anchor, us.boredom, us.last_seen, us.last_shift, us.session, us.sessions,
            st.user, st.session_id, st.step, st.clicks, st.reward, st.patience, st.shifted, st.gap,
            st.skip_item, st.skip_valid,
        )  # fmt: skip
        state.next_session_id += n
        self._propose(state, idx)


def world_params(config: WorldConfig) -> np.ndarray:
    """The config's numbers as the kernel's float64 parameter vector (switches as 0/1, positions in ``kernel``)."""
    ch, u, c = config.choice, config.users, config.catalog
    p = np.zeros(kernel.NUM_PARAMS)
    p[kernel.AFFINITY], p[kernel.NO_CLICK] = ch.affinity_weight, ch.no_click_utility
    p[kernel.POSITION_BIAS], p[kernel.ENGAGEMENT_NOISE] = ch.position_bias, ch.engagement_noise
    p[kernel.REWARD_ENGAGEMENT] = ch.reward == "engagement"
    p[kernel.APPEAL], p[kernel.HALF_LIFE] = c.freshness_appeal, c.freshness_half_life
    p[kernel.BOREDOM], p[kernel.BOREDOM_WEIGHT], p[kernel.BOREDOM_DECAY] = u.boredom, u.boredom_weight, u.boredom_decay
    p[kernel.CONSUMPTION], p[kernel.PULL] = u.consumption_drift, u.consumption_pull
    p[kernel.GRADUAL], p[kernel.REVERSION], p[kernel.DRIFT_STD] = u.gradual_drift, u.drift_reversion, u.drift_std
    p[kernel.PATIENCE], p[kernel.PATIENCE_GAIN], p[kernel.PATIENCE_MAX] = u.patience, u.patience_gain, u.patience_max
    p[kernel.LEAVE_HAZARD] = u.leave_hazard
    return p
