"""``FreshRecEnv``: one recommendation session at a time in a persistent, drifting world."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from freshrec.envs.core import (
    check_actions,
    check_id_regime,
    check_render_mode,
    make_world,
    render_nothing,
    reset_info,
    squeeze,
    step_info,
)
from freshrec.envs.observation import observation_space, observe
from freshrec.envs.text.encoder import check_encoder
from freshrec.simulators.config import WorldConfig
from freshrec.simulators.state import WorldState


class FreshRecEnv(gym.Env[dict[str, np.ndarray], np.ndarray]):
    """Recommend slates to simulated users whose interests drift, from a catalog whose items arrive and age.

    ## Description
    A persistent population of users (10,000 by default) meets a catalog of 1,000 item slots. Each
    episode is one *session* of one user: every step the platform offers M = 32 candidate items
    (the 6 newest arrivals, the 6 trending items and 20 drawn uniformly from the live items, a drawn
    item already among the first 12 being masked out), the agent picks a slate of K = 5 of them,
    and the user clicks at most one (multinomial logit with a no-click option). Users' hidden
    interests drift gradually (a mean-reverting random
    walk), shift abruptly (a hazard per tick, logged as ground truth) and follow what they consume;
    they get bored of a topic they keep consuming, lose patience with unanswered slates, leave, and
    come back later (sooner after a good session) with their state carried on and drifted for the
    time away (closed form). New items arrive (one per tick on average) and replace the oldest;
    users like newness (a bonus that halves every 100 ticks). One step is one tick of the world's
    clock. ``reset()`` without a seed continues the same world with the next returning user;
    ``reset(seed=...)`` builds a new world. The same batched transition serves ``FreshRecVectorEnv``.

    ## Action Space
    ``MultiDiscrete([M] * K)``: K positions into the M candidates, slate order = position order.
    A position that repeats an earlier one in the slate is shown as an **empty slot** (the user
    cannot click it; ``info["repeated_positions"]`` flags it). A position whose ``candidate_mask`` is 0 is
    an empty slot too (item id -1, never clicked, not flagged). A position outside [0, M) raises
    ``ValueError`` naming the slate position, its value and the allowed range.

    ## Observation Space
    A flat ``Dict`` (public signals only; F = text_dim + 3 = 19 by default):

    | key | shape | dtype | meaning |
    |---|---|---|---|
    | candidate_features | (M * F,) | float32 | M tokens of F, row-major (``reshape(M, F)``): text projection (P), log1p age, log1p clicks, log1p impressions |
    | candidate_ids | (M,) | int64 | global item ids (never reused) |
    | candidate_topics | (M,) | int64 | item category |
    | candidate_mask | (M,) | int8 | 1 = offered (0: a sampled duplicate of a newest/trending item, or a short catalog) |
    | history_features | (H * F,) | float32 | user's last H clicks, newest first: text, log1p age at click, engagement, log1p ticks since |
    | history_ids / history_topics | (H,) | int64 | -1 = padding |
    | history_mask | (H,) | int8 | 1 = a real click |
    | skipped_features | (Q * F,) | float32 | the last two slates' items not clicked: text, log1p age when shown, 0, 0 |
    | skipped_ids / skipped_topics | (Q,) | int64 | -1 = padding, clicked or empty |
    | skipped_mask | (Q,) | int8 | |
    | user_id | (1,) | int64 | the user (ids for id-based agents) |
    | context | (4,) | float32 | step in session, clicks in session, log1p earlier sessions, log1p ticks away |

    With ``reveal_relevance=True`` (off by default) also ``candidate_relevance`` (M,) float32: each
    candidate's solo click probability now (``World.candidate_relevance``, 0 where masked), hidden
    truth, what the myopic oracle ranks by. A diagnostic, not a recommender's input: a learner given
    it shows how much of its gap to the oracle is missing information and how much is learning
    (docs/ppo-results.md, "Information or learning").

    Defaults: M = 32 (enough for a ranker to matter, small enough for a Transformer over every
    candidate), K = 5 (a phone screen), H = 16, Q = 10 (two slates), P = 16 (PCA of the 384-d MiniLM
    embedding keeps the topic and style structure of the synthetic titles).

    ## Rewards
    1 for a click, 0 otherwise (``reward="click"``, the default), or the clicked item's engagement
    in (0, 1) (``config.choice.reward="engagement"``).

    ## Starting State
    ``reset(seed=s)``: topic centres, 10,000 users (long-term interest near one topic) and a full
    catalog of 1,000 items with staggered ages are drawn from ``s``; the user who wants to return
    soonest starts the first session. Later resets serve the next returning user.

    ## Episode End
    ``terminated``: the user leaves (patience exhausted, or the 1% per-step leave hazard).
    ``truncated``: the session reached the registration's ``max_episode_steps`` (100), applied by
    Gymnasium's ``TimeLimit``.

    ## Info
    Ground truth for metrics and tests (see ``freshrec.envs.metrics``): the slate's true click
    probabilities, graded relevance (solo click probability) and relevant flags (>= 0.5), the K best
    relevances among the candidates, the number of relevant candidates, every candidate's graded
    relevance (``candidate_relevance`` (M,), 0 for masked ones: what a ranking deeper than the slate
    is scored against), the click (``clicked_position``: the slot of the slate, 0..K-1, not a candidate
    position; -1 for none) and engagement, item ids, topics and ages of the slate, whether an
    abrupt shift hit the user since their last step, and world events of the tick (``world_arrived_item_ids``, ``world_retired_item_ids``,
    ``world_shift_*`` with the before/after long-term interest).

    ## Arguments
    ``gymnasium.make("freshrec/DriftingUsers-v0", encoder="minilm", text_dim=16, config=None,
    reveal_relevance=False)``: ``regime`` ("full", "drift", "stationary") is set by the id (another
    given with the id is refused by the first reset, ``ValueError``); ``config`` (a ``WorldConfig``, or
    the mapping of its groups' fields that ``env.spec.to_json()`` writes) replaces it wholesale;
    ``encoder`` is "minilm" or "hashing:DIM" (fast, for tests); ``reveal_relevance`` adds the hidden
    truth above (a diagnostic); ``render_mode`` may only be None (there are no render modes; another
    is refused, ``ValueError``).

    ``freshrec/MovieLens100K-v0`` (regime ``"movielens"``) is the same env on a world calibrated on
    MovieLens-100k (``freshrec.simulators.calibration``): the items are the real movies (title and
    genres through the encoder), arriving in the order and at the time they first appear in the real
    log (10 ticks per day); the users are the 751 real users active in the first 80% of the log,
    starting from interests fitted on their first ratings; drift size, session lengths and return
    gaps are fitted on the real timelines. ``data="PATH"`` builds it from a raw MovieLens folder
    instead (ml-100k ``u.data``/``u.item`` or ml-1m ``ratings.dat``/``movies.dat``). The catalog
    then holds every real movie (no retirement) and the arrivals stop when the real list ends.

    ## Version History
    * v0: first release. Since the world's step was compiled (numba, December 2026) its random
      streams differ from the first, numpy implementation: the same laws and distributions, so
      figures recorded before reproduce within their confidence intervals, not bit for bit.
      ``info["candidate_relevance"]`` was added later (December 2026); nothing else changed.

    >>> env = FreshRecEnv(regime="full", encoder="hashing:64")
    >>> obs, info = env.reset(seed=0)
    >>> obs["candidate_features"].shape, env.action_space
    ((608,), MultiDiscrete([32 32 32 32 32]))
    >>> obs, reward, terminated, truncated, info = env.step(np.array([0, 1, 2, 3, 4]))
    >>> sorted(info)[:3]
    ['candidate_relevance', 'clicked_item_id', 'clicked_position']
    """

    metadata: dict[str, Any] = {"render_modes": []}  # noqa: RUF012 (Gymnasium's convention)

    def __init__(
        self,
        regime: str = "full",
        config: WorldConfig | Mapping[str, Any] | None = None,
        encoder: str = "minilm",
        text_dim: int = 16,
        data: str | Path | None = None,
        reveal_relevance: bool = False,
        render_mode: str | None = None,
    ) -> None:
        check_render_mode(render_mode)
        self.world, self.text = make_world(regime, config, 1, encoder, text_dim, data)
        self.encoder = check_encoder(encoder)  # what the item tokens were made of (``item_encoding``)
        self.text_dim = int(text_dim)
        cfg = self.world.config
        self.config = cfg
        self.reveal_relevance = bool(reveal_relevance)
        self.observation_space = observation_space(cfg, text_dim, self.reveal_relevance)  # type: ignore[assignment]
        self.action_space = spaces.MultiDiscrete(np.full(cfg.slate.slate_size, cfg.slate.num_candidates))
        self.state: WorldState | None = None
        self._ended = False

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """A new world when ``seed`` is given (or on the first reset); otherwise the next user's session.

        ``options``: none are understood; any given is refused by name rather than ignored."""
        if options:
            raise ValueError(f"options: {sorted(options)} not understood (the single env takes no reset options)")
        check_id_regime(self)
        super().reset(seed=seed)
        if seed is not None or self.state is None:
            self.state = self.world.reset(int(self.np_random.integers(2**63 - 1)))
        else:
            self.world.restart(self.state, np.ones(1, bool))
        self._ended = False
        return self._obs(), squeeze(reset_info(self.state))

    render = render_nothing

    def step(self, action: np.ndarray) -> tuple[dict[str, np.ndarray], float, bool, bool, dict[str, Any]]:
        """Show the slate ``action`` (K positions into the candidates) and advance the world one tick."""
        if self.state is None or self._ended:
            raise RuntimeError("step() before reset() or after the session ended: call reset()")
        cfg = self.config.slate
        positions = check_actions(action, 1, cfg.slate_size, cfg.num_candidates)
        session_step = self.state.sessions.step.copy()
        result = self.world.step(self.state, positions)
        info = step_info(self.state, result, positions, session_step, index=0)
        terminated = bool(result.terminated[0])
        self._ended = terminated
        return self._obs(), float(result.reward[0]), terminated, False, info

    def _obs(self) -> dict[str, np.ndarray]:
        assert self.state is not None
        obs = observe(self.state, self.text, flat=True)  # one session: the flat arrays are its observation
        if self.reveal_relevance:
            obs["candidate_relevance"] = self.world.candidate_relevance(self.state)[0].astype(np.float32)
        return obs
