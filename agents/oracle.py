"""The myopic oracle: the K candidates with the highest true click probability now. It reads HIDDEN state.

Not a recommender an agent could be: it looks inside the simulator (each user's hidden interest,
each item's hidden latent and quality) through ``World.candidate_relevance``. It is the upper
bound for one-step accuracy (precision@K, nDCG@K against the simulator's relevance) on the states
it meets, not for long-term return: it never explores, ignores what its slates do to boredom and
patience later, and does not plan. Its slates also change the states it meets (bored users,
relevance used up), so another agent's precision over its own trajectory can exceed the oracle's
over the oracle's (LinUCB does over 100 ticks on seed 3 of the default env); on the same states it
is never beaten.

``oracle-boredom-<w>`` (registry) is a diagnostic, not a baseline: the same oracle ranking by the
click probability the candidates would have if boredom cost ``w`` utility per unit instead of the
world's ``users.boredom_weight`` (0.3 by default). Above the world's weight it turns away from a
topic sooner than the next click asks, below it later: the simplest test of whether planning around
boredom earns more than the myopic choice (see docs/ppo-results.md, "Does planning around boredom
pay?"). At the world's weight it is the myopic oracle, slate for slate.

``oracle-rollout`` (registry; a diagnostic too) plans with the simulator itself: one step of policy
iteration on the myopic oracle (a rollout policy, Bertsekas & Tsitsiklis). Each step it copies the
world, and for each of a few candidate slates (the myopic one and those of boredom weights 0, 0.9
and 2) plays that slate and then the myopic oracle for ``horizon`` ticks in the copy, on
``futures`` fresh random futures (the same for every slate, so slates are compared on common random
numbers; never the world's own next draws). Each session gets the slate whose simulated sessions
earned the most reward; ties go to the myopic slate. The copies do know the world's pre-drawn
schedule of item arrivals and interest shifts, which makes it stronger than any agent could be.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from freshrec.agents.base import Agent, top_k
from freshrec.agents.log import AgentSpec


class MyopicOracleAgent(Agent):
    """Top K candidates by ``world.candidate_relevance(state)``, each one's solo click probability (hidden truth).

    Built for one ``FreshRecVectorEnv`` (or ``FreshRecEnv``): every ``act`` reads the env's current
    ``state`` (looked up afresh, so a ``reset(seed=...)`` that builds a new state is followed), so
    the observation passed to ``act`` must be the env's latest one (all sessions, or some of them,
    such as one session's observation passed to ``predict``). ``act`` checks that: each observation
    row's user and candidate ids must be those of a session in the state, else ``ValueError`` (an
    observation from another env, or a stale one). It learns nothing (``observe`` is a no-op) and
    is deterministic; ties go to the lower candidate position.
    """

    def __init__(self, env: Any, slate_size: int, boredom_weight: float | None = None) -> None:
        base = env.unwrapped if hasattr(env, "unwrapped") else env
        if not hasattr(base, "world") or not hasattr(base, "state"):
            raise TypeError(f"MyopicOracleAgent needs a FreshRecEnv or FreshRecVectorEnv, got {type(env).__name__}")
        if boredom_weight is not None and not 0.0 <= boredom_weight <= 100.0:
            raise ValueError(f"boredom_weight = {boredom_weight}: must be in [0, 100] (None: the world's own)")
        self.env = base
        self.slate_size = slate_size
        self.boredom_weight = boredom_weight
        """None: rank by the true relevance; a number: by relevance as if boredom weighed that (a diagnostic)."""

    def relevance(self) -> np.ndarray:
        """(N, M) solo click probability of every candidate in the env's current state (0 where masked): the truth,
        or, with ``boredom_weight``, what it would be were boredom weighed so."""
        state = self.env.state
        if state is None:
            raise RuntimeError("MyopicOracleAgent: the env has no state yet; call reset() first")
        rel: np.ndarray = self.env.world.candidate_relevance(state, self.boredom_weight)
        return rel

    def rows_of(self, observation: dict[str, np.ndarray]) -> np.ndarray:
        """(n,) the env's session row behind each observation row; ValueError if one is not the env's current state.

        A full batch is matched as is (the usual case: one comparison); a subset, such as one session's
        observation passed to ``predict``, is matched by user id and candidate ids.
        """
        state = self.env.state
        if state is None:
            raise RuntimeError("MyopicOracleAgent: the env has no state yet; call reset() first")
        st = state.sessions
        truth = np.where(st.candidate_valid, state.catalog.item_id.take(st.candidates), -1)  # (N, M)
        ids = observation["candidate_ids"]  # (n, M)
        if ids.ndim != 2 or ids.shape[1] != truth.shape[1]:
            raise ValueError(
                f"MyopicOracleAgent: observation has candidates {ids.shape}, the env's state {truth.shape}; "
                "the oracle works only with the env it was built for"
            )
        users = observation["user_id"].reshape(-1) if "user_id" in observation else None
        if (
            ids.shape == truth.shape
            and np.array_equal(ids, truth)
            and (users is None or np.array_equal(users, st.user))
        ):
            return np.arange(truth.shape[0])
        same = (ids[:, None, :] == truth[None, :, :]).all(axis=2)  # (n, N)
        if users is not None:
            same &= users[:, None] == st.user[None, :]
        missing = np.flatnonzero(~same.any(axis=1))
        if missing.size:
            raise ValueError(
                f"MyopicOracleAgent: observation row {int(missing[0])} is not a session of the env's current state "
                "(a stale observation, or one from another env); the oracle works only with the env it was built "
                "for, on its latest observation"
            )
        return same.argmax(axis=1)

    def rank(self, observation: dict[str, np.ndarray], k: int, deterministic: bool) -> np.ndarray:
        """Top k candidates by hidden relevance, after checking that ``observation`` is the env's current one."""
        rows = self.rows_of(observation)
        return top_k(self.relevance()[rows], observation["candidate_mask"], k)


def make_myopic_oracle(spec: AgentSpec, seed: int, env: Any) -> MyopicOracleAgent:
    """Registry factory: reads ``env.unwrapped.world`` and ``env.unwrapped.state`` (hidden truth)."""
    return MyopicOracleAgent(env, spec.slate_size)


def make_reweighted_oracle(spec: AgentSpec, seed: int, env: Any, boredom_weight: float) -> MyopicOracleAgent:
    """Registry factory of ``oracle-boredom-<w>``: the oracle ranking as if boredom weighed ``boredom_weight``."""
    return MyopicOracleAgent(env, spec.slate_size, boredom_weight)


class RolloutOracleAgent(MyopicOracleAgent):
    """The myopic oracle improved by simulated lookahead (``oracle-rollout``; see the module docstring).

    ``weights``: boredom weights whose oracle slates are the alternatives to the myopic one; with none it
    is the myopic oracle. ``horizon`` ticks per simulated future, ``futures`` futures per slate, ``seed``
    for their randomness. Costs ``(1 + len(weights)) * futures * horizon`` world steps per step.
    """

    def __init__(
        self,
        env: Any,
        slate_size: int,
        seed: int,
        horizon: int = 20,
        futures: int = 2,
        weights: tuple[float, ...] = (0.0, 0.9, 2.0),
    ) -> None:
        super().__init__(env, slate_size)
        if horizon < 1 or futures < 1:
            raise ValueError(f"horizon = {horizon}, futures = {futures}: each must be >= 1")
        self.horizon, self.futures, self.weights = horizon, futures, tuple(weights)
        self.seed, self.calls = seed, 0
        self.limit = getattr(self.env, "max_episode_steps", None)  # sessions end there (truncated), as in the env
        self.chosen = np.zeros(1 + len(self.weights), np.int64)
        """How many sessions took each alternative's slate so far (the myopic one first)."""

    def rank(self, observation: dict[str, np.ndarray], k: int, deterministic: bool) -> np.ndarray:
        """Per session, the top k of the alternative whose first K (its slate) earned most in the simulated futures."""
        rows = self.rows_of(observation)
        state, world, mask = self.env.state, self.env.world, observation["candidate_mask"]
        truth = world.candidate_relevance(state)  # (N, M)
        options = [top_k(truth[rows], mask, k)] + [
            top_k(world.candidate_relevance(state, w)[rows], mask, k) for w in self.weights
        ]  # each (n, k), the myopic ranking first
        myopic = top_k(truth, state.sessions.candidate_valid, self.slate_size)  # (N, K): rows not asked about
        value = np.zeros((len(options), truth.shape[0]))  # (alternatives, N) simulated reward
        self.calls += 1
        for j, ranking in enumerate(options):
            slates = myopic.copy()
            slates[rows] = ranking[:, : self.slate_size]
            for f in range(self.futures):
                value[j] += self._simulate(slates, np.random.SeedSequence([self.seed, self.calls, f]))
        best = value[:, rows].argmax(axis=0)  # (n,) first maximum: the myopic slate on ties
        self.chosen += np.bincount(best, minlength=len(options))
        return np.stack(options)[best, np.arange(rows.size)]

    def _simulate(self, slates: np.ndarray, seeds: np.random.SeedSequence) -> np.ndarray:
        """(N,) reward of each session over ``horizon`` ticks in a copy of the world: ``slates`` (N, K)
        first, then the myopic oracle's; a session's reward stops when it ends (the next one in its slot
        is another user's)."""
        world, clone = self.env.world, copy.deepcopy(self.env.state)
        clone.rng, clone.cand, clone.ret = (np.random.default_rng(s) for s in seeds.spawn(3))
        total = np.zeros(slates.shape[0])
        alive = np.ones(slates.shape[0], bool)
        for _ in range(self.horizon):
            result = world.step(clone, slates)
            total += np.where(alive, result.reward, 0.0)
            ended = result.terminated | (self.limit is not None and clone.sessions.step >= self.limit)
            alive &= ~ended
            if not alive.any():
                break
            world.restart(clone, ended)
            slates = top_k(world.candidate_relevance(clone), clone.sessions.candidate_valid, self.slate_size)
        return total


def make_rollout_oracle(spec: AgentSpec, seed: int, env: Any, **options: Any) -> RolloutOracleAgent:
    """Registry factory of ``oracle-rollout``; ``options`` (horizon, futures, weights) go to the agent."""
    return RolloutOracleAgent(env, spec.slate_size, seed, **options)
