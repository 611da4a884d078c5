"""The world: data (``WorldState``) plus one batched transition (``World.step``) over B concurrent sessions.

The same code serves one session (B = 1, the single env) and thousands (the vector env); there is
no scalar copy of the dynamics. ``World.step`` mutates the state's arrays in place (for speed) and
returns what happened. Randomness comes only from the four generators that ``World.reset(seed)``
spawns: ``init`` (the population and the first catalog), ``rng`` (choices, engagement, leaving,
gradual drift of online users), ``exo`` (arrivals and abrupt shifts, drawn ahead in blocks, so every
agent run on a seed meets the same new items and the same shocks at the same ticks), ``cand`` (the
candidate sampler) and ``ret`` (return gaps and the drift of users while away: kept apart so that
agents whose sessions end at different times still share the choice stream).

>>> from freshrec.simulators.config import WorldConfig
>>> world = World(WorldConfig.regime("full").replace(users__users=50), num_sessions=2)
>>> state = world.reset(seed=0)
>>> result = world.step(state, np.array([[0, 1, 2, 3, 4], [4, 3, 2, 1, 0]]))
>>> result.item_ids.shape, state.time
((2, 5), 1.0)
"""

from __future__ import annotations

import numpy as np

from freshrec.simulators import dynamics
from freshrec.simulators.catalog import CatalogDynamics, unit
from freshrec.simulators.config import ConfigError, WorldConfig
from freshrec.simulators.shifts import ShiftDynamics
from freshrec.simulators.state import Catalog, Sessions, StepResult, Users, WorldState
from freshrec.simulators.text import TextBank

_TEXT_BANK_SEED = 20_241_201  # the style words' hidden directions are part of the world's definition


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
        k = config.slate.slate_size
        self._earlier = np.tril(np.ones((k, k), dtype=bool), -1)  # (K, K): j < i, to find repeated positions
        self._rows = np.arange(num_sessions)
        self._one = np.ones(num_sessions)
        self._head = config.slate.newest + config.slate.trending

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
            head=None,
            head_valid=None,
            in_head=None,
            pool=None,
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
        cfg, st, cat, us = self.config, state.sessions, state.catalog, state.users
        ch, uc, c = cfg.choice, cfg.users, cfg.catalog
        rows = self._rows[:, None]
        b, k = positions.shape
        # (B, K, K) pairs: position i repeats an earlier position j < i.
        repeated: np.ndarray = ((positions[:, :, None] == positions[:, None, :]) & self._earlier).any(axis=2)
        cand = st.candidates  # (B, M) slots
        valid = st.candidate_valid[rows, positions] & ~repeated  # (B, K)
        slots = np.where(valid, cand[rows, positions], -1)
        users = st.user
        now = state.time

        # Utilities of every candidate (ground truth for relevance and recall), then of the slate.
        interest = us.interest.take(users, axis=0)  # (B, D)
        util = self._utilities(state, interest)  # (B, M)
        relevance = np.where(st.candidate_valid, dynamics.solo_click_prob(util, ch.no_click_utility), 0.0)
        slate_util = util[rows, positions]  # (B, K)
        if ch.position_bias:
            slate_util = slate_util - ch.position_bias * np.arange(k)
        probs = dynamics.slate_click_probs(slate_util, valid, ch.no_click_utility)

        draws = state.rng.random((b, 2))  # choice, leaving
        normal = state.rng.standard_normal((b, c.latent_dim + 1))  # gradual drift, engagement noise
        clicked = dynamics.sample_choice(probs, draws[:, 0])
        has = clicked >= 0
        cpos = np.where(has, clicked, 0)
        flat = self._rows
        # Engagement comes from the item's utility; the position only changed the chance of the click.
        item_util = util[flat, positions[flat, cpos]]
        engaged = np.where(
            has, dynamics.engagement(item_util, ch.engagement_noise * normal[:, -1], ch.no_click_utility), 0.0
        ).astype(np.float32)
        reward = engaged if ch.reward == "engagement" else has.astype(np.float32)
        cslot = slots[flat, cpos]  # (B,) valid where ``has``

        # Public counts.
        s_ = cat.item_id.size
        cat.impressions += np.bincount(slots[valid], minlength=s_)
        hit = cslot[has]
        hits = np.bincount(hit, minlength=s_)
        cat.clicks += hits
        cat.trend_pending += hits

        # Users: boredom, consumption-driven and gradual drift, history, patience.
        if uc.boredom:
            boredom = us.boredom.take(users, axis=0) * uc.boredom_decay
            boredom[flat[has], cat.topic[hit]] += 1.0
            us.boredom[users] = boredom
        if uc.consumption_drift:
            interest[has] += uc.consumption_pull * (cat.latent[hit] - interest[has])
        if uc.gradual_drift:
            interest = dynamics.ou_advance(
                interest, us.anchor.take(users, axis=0), self._one, uc.drift_reversion, uc.drift_std, normal[:, :-1]
            )
        us.interest[users] = interest
        us.last_seen[users] = now + 1.0
        if has.any():
            self._log_clicks(state, users[has], hit, engaged[has], now)
        self._log_skips(state, slots, np.where(has[:, None], np.arange(k) != cpos[:, None], True) & valid, now)
        st.patience = dynamics.patience_update(st.patience, has, engaged, uc.patience_gain, uc.patience_max)
        terminated = (st.patience <= 0) | (draws[:, 1] < uc.leave_hazard)
        st.step += 1
        st.clicks += has
        st.reward += reward
        shifted = st.shifted.copy()
        st.shifted[:] = False

        safe = np.maximum(slots, 0)  # read the shown items before arrivals can take their slots
        item_ids = np.where(valid, cat.item_id[safe], -1)
        topics = np.where(valid, cat.topic[safe], -1)
        ages = np.where(valid, now - cat.arrival[safe], 0.0).astype(np.float32)

        # The clock moves: arrivals, trending refresh, abrupt shifts; then next candidates.
        state.time = now + 1.0
        arrived, retired = self._arrive(state)
        if int(state.time) % cfg.slate.trending_every == 0:
            self._refresh_trending(state)
        shift = self._shift(state)
        self._propose(state, self._rows)
        return StepResult(
            slots=slots,
            item_ids=item_ids,
            topics=topics,
            ages=ages,
            repeated=repeated,
            clicked=clicked,
            engagement=engaged,
            reward=reward,
            terminated=terminated,
            click_prob=probs.astype(np.float32),
            relevance=relevance.astype(np.float32),
            shifted=shifted,
            time=now,
            arrived=arrived,
            retired=retired,
            shift_users=shift[0],
            shift_topics=shift[1],
            shift_before=shift[2],
            shift_after=shift[3],
        )

    def _utilities(self, state: WorldState, interest: np.ndarray) -> np.ndarray:
        """True utilities (B, M) of each session's candidates now, given the users' interests (B, D)."""
        cfg, st, cat, us = self.config, state.sessions, state.catalog, state.users
        uc, c = cfg.users, cfg.catalog
        cand = st.candidates  # gathers use .take along axis 0: several times faster than fancy indexing
        if uc.boredom:
            # boredom[user, topic of candidate]: flat index into the (U, T) table
            flat = st.user[:, None] * c.topics + cat.topic.take(cand)
            bored = us.boredom.reshape(-1).take(flat)
        else:
            bored = 0.0
        return dynamics.utilities(
            interest, cat.latent.take(cand, axis=0), cat.quality.take(cand), state.time - cat.arrival.take(cand),
            bored,  # type: ignore[arg-type]
            cfg.choice.affinity_weight, c.freshness_appeal, c.freshness_half_life,
            uc.boredom_weight if uc.boredom else 0.0,
        )  # fmt: skip

    def candidate_relevance(self, state: WorldState) -> np.ndarray:
        """Ground truth (B, M): each candidate's click probability if shown alone now (0 where masked).

        Hidden information: only the oracle baseline and the metrics may use it.
        """
        util = self._utilities(state, state.users.interest[state.sessions.user])
        rel = dynamics.solo_click_prob(util, self.config.choice.no_click_utility)
        return np.where(state.sessions.candidate_valid, rel, 0.0)

    def _log_clicks(
        self, state: WorldState, users: np.ndarray, slots: np.ndarray, engaged: np.ndarray, now: float
    ) -> None:
        """Push the clicked items onto the front of their users' click histories (newest first)."""
        us, cat = state.users, state.catalog
        values = (
            (us.hist_item, cat.item_id[slots]),
            (us.hist_text, cat.text[slots]),
            (us.hist_topic, cat.topic[slots]),
            (us.hist_age, now - cat.arrival[slots]),
            (us.hist_time, now),
            (us.hist_engagement, engaged),
        )
        for array, value in values:
            array[users, 1:] = array[users, :-1]
            array[users, 0] = value

    def _log_skips(self, state: WorldState, slots: np.ndarray, skipped: np.ndarray, now: float) -> None:
        """Push this slate's positions onto the front of each session's skipped memory (clicked/empty masked)."""
        st, cat = state.sessions, state.catalog
        q, k = st.skip_item.shape[1], slots.shape[1]
        safe = np.maximum(slots, 0)
        new = (
            (st.skip_item, cat.item_id[safe]),
            (st.skip_text, cat.text[safe]),
            (st.skip_topic, cat.topic[safe]),
            (st.skip_age, (now - cat.arrival[safe]).astype(np.float32)),
            (st.skip_valid, skipped),
        )
        for array, value in new:
            if q > k:
                array[:, k:] = array[:, : q - k]
                array[:, :k] = value
            else:
                array[:] = value[:, :q]

    # ---------------------------------------------------------------- sessions
    def restart(self, state: WorldState, done: np.ndarray) -> None:
        """End the sessions where ``done`` (B,) is true and give each slot the next returning user."""
        idx = np.flatnonzero(done)
        if idx.size == 0:
            return
        st, us, u = state.sessions, state.users, self.config.users
        leaving = st.user[idx]
        ctr = st.clicks[idx] / np.maximum(st.step[idx], 1)
        mean_gap = dynamics.return_gap_mean(ctr, u.return_gap, u.return_sensitivity)
        us.return_at[leaving] = state.time + state.ret.exponential(mean_gap)
        us.session[leaving] = -1
        self._start_sessions(state, idx)

    def _start_sessions(self, state: WorldState, idx: np.ndarray) -> None:
        """Slots ``idx`` take the offline users who want to return soonest (exact ties: any, deterministically)."""
        st, us, u = state.sessions, state.users, self.config.users
        n = idx.size
        wait = np.where(us.session < 0, us.return_at, np.inf)
        pick = np.argpartition(wait, n - 1)[:n] if n < wait.size else np.arange(wait.size)
        pick = pick[np.lexsort((pick, wait[pick]))]
        now = state.time
        # Bring the returning users up to date in closed form: drift and boredom while they were away.
        seen = us.last_seen[pick]
        shifted = us.last_shift[pick] >= seen  # equal: the shift came on the tick of their last step, after it
        if u.gradual_drift:
            since = np.where(shifted, us.last_shift[pick], seen)  # a shift restarted the walk at the new anchor
            start = np.where(shifted[:, None], us.anchor[pick], us.interest[pick])
            us.interest[pick] = dynamics.ou_advance(
                start, us.anchor[pick], np.maximum(now - since, 0.0), u.drift_reversion, u.drift_std,
                state.ret.standard_normal((n, self.config.catalog.latent_dim)),
            )  # fmt: skip
        else:
            us.interest[pick] = np.where(shifted[:, None], us.anchor[pick], us.interest[pick])
        if u.boredom:
            us.boredom[pick] = dynamics.boredom_decay(us.boredom[pick], np.maximum(now - seen, 0.0), u.boredom_decay)
        st.gap[idx] = np.where(us.sessions[pick] > 0, now - seen, 0.0)
        us.last_seen[pick] = now
        us.session[pick] = idx
        us.sessions[pick] += 1
        st.user[idx] = pick
        st.session_id[idx] = state.next_session_id + np.arange(n)
        state.next_session_id += n
        st.step[idx] = 0
        st.clicks[idx] = 0
        st.reward[idx] = 0.0
        st.patience[idx] = u.patience
        st.shifted[idx] = shifted
        st.skip_item[idx] = -1
        st.skip_valid[idx] = False
        self._propose(state, idx)
