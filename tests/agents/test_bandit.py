"""LinUCB: it learns a planted linear click rule, its exploration bonus shrinks as a hand formula says, batching is exact."""

from __future__ import annotations

import numpy as np
import pytest

import freshrec.agents.bandit as bandit
from freshrec.agents.bandit import LinUCBAgent, make_linucb
from freshrec.agents.log import AgentSpec, Transitions
from freshrec.agents.registry import make_agent

M, F, H, K = 8, 5, 3, 2  # P = F - 3 = 2 text dims; d = F + P + 1 = 8
SIGNAL = 3  # the token column clicks depend on (the "log1p age" slot, used here as a plain feature)


def synthetic_log(rows: int, seed: int) -> Transitions:
    """Random slates of K among M random candidates; slate item k is clicked with prob 0.45 * u_k (u = column SIGNAL).

    Since 0.45 * u summed over the K = 2 shown items stays below 1, at most one click is drawn per slate
    and each shown item's click probability is exactly linear in its u.
    """
    rng = np.random.default_rng(seed)
    tokens = rng.random((rows, M, F)).astype(np.float32)
    ids = np.arange(rows * M, dtype=np.int64).reshape(rows, M)
    pos = np.argsort(rng.random((rows, M)), axis=1)[:, :K]
    u = np.take_along_axis(tokens[:, :, SIGNAL], pos, axis=1)  # (R, K)
    p = 0.45 * u
    draw = rng.random(rows)
    clicked = np.where(draw < p[:, 0], 0, np.where(draw < p[:, 0] + p[:, 1], 1, -1))
    slate_ids = np.take_along_axis(ids, pos, axis=1)
    return Transitions(
        time=np.zeros(rows, np.int64),
        user_id=np.arange(rows, dtype=np.int64),
        session_id=np.arange(rows, dtype=np.int64),
        candidate_ids=ids,
        candidate_features=tokens,
        history_ids=np.full((rows, H), -1, np.int64),
        slate_positions=pos.astype(np.int64),
        slate_item_ids=slate_ids,
        clicked_position=clicked.astype(np.int64),
        clicked_item_id=np.where(clicked >= 0, slate_ids[np.arange(rows), np.maximum(clicked, 0)], -1),
        engagement=np.zeros(rows, np.float32),
        reward=(clicked >= 0).astype(np.float32),
        done=np.zeros(rows, bool),
    )


def observation(tokens: np.ndarray, history_tokens: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """A batched observation of candidate tokens (N, M, F), with an empty history unless given (N, H, F)."""
    n = tokens.shape[0]
    hist = np.zeros((n, H, F), np.float32) if history_tokens is None else history_tokens
    hmask = np.abs(hist).sum(axis=2) > 0
    return {
        "candidate_ids": np.arange(n * M, dtype=np.int64).reshape(n, M) + 10_000,
        "candidate_mask": np.ones((n, M), np.int8),
        "candidate_features": tokens.reshape(n, -1).astype(np.float32),
        "history_features": hist.reshape(n, -1).astype(np.float32),
        "history_mask": hmask.astype(np.int8),
        "history_ids": np.where(hmask, np.arange(H)[None] + 20_000, -1),
    }


def test_learns_a_linear_click_rule() -> None:
    agent = LinUCBAgent(K, F)
    for t in range(10):  # online, one batch a tick
        agent.observe(synthetic_log(400, seed=t))
    theta = agent.theta
    assert theta[SIGNAL] == pytest.approx(0.45, abs=0.08)  # the planted slope
    others = np.delete(theta[:F], SIGNAL)
    assert np.abs(others).max() < 0.08
    # Candidates equal but for u: the two highest u come first, in order.
    tokens = np.full((1, M, F), 0.5, np.float32)
    tokens[0, :, SIGNAL] = [0.1, 0.9, 0.5, 0.3, 0.8, 0.2, 0.6, 0.4]
    assert agent.act(observation(tokens), True).tolist() == [[1, 4]]
    # On random candidates it picks the high-u ones: the mean u of its slates is near the best possible.
    rng = np.random.default_rng(99)
    tokens = rng.random((200, M, F)).astype(np.float32)
    slates = agent.act(observation(tokens), True)
    u = tokens[:, :, SIGNAL]
    chosen = np.take_along_axis(u, slates, axis=1).mean()
    best = -np.sort(-u, axis=1)[:, :K].mean()
    assert chosen > 0.95 * best and chosen > u.mean() + 0.25


def test_exploration_bonus_shrinks_with_data_as_by_hand() -> None:
    # The same context shown n times (empty history: x = [token, 0, 0, 1]): A = reg I + n x x', so
    # x' A⁻¹ x = |x|² / (reg + n |x|²) (Sherman-Morrison), whatever the clicks were.
    agent = LinUCBAgent(1, F, reg=2.0)
    token = np.array([0.3, -0.2, 0.5, 1.0, 0.25], np.float32)
    x = np.concatenate([token, [0.0, 0.0, 1.0]]).astype(np.float64)
    norm2 = float(x @ x)

    def log(n: int, start: int) -> Transitions:
        """Rows start .. start + n - 1 of the repeated context; even rows are clicks."""
        click = (start + np.arange(n)) % 2 == 0
        tokens = np.zeros((n, M, F), np.float32)
        tokens[:, 0] = token
        return Transitions(
            time=np.zeros(n, np.int64),
            user_id=np.zeros(n, np.int64),
            session_id=np.zeros(n, np.int64),
            candidate_ids=np.tile(np.arange(M, dtype=np.int64), (n, 1)),
            candidate_features=tokens,
            history_ids=np.full((n, H), -1, np.int64),
            slate_positions=np.zeros((n, 1), np.int64),
            slate_item_ids=np.zeros((n, 1), np.int64),
            clicked_position=np.where(click, 0, -1),
            clicked_item_id=np.where(click, 0, -1),
            engagement=np.zeros(n, np.float32),
            reward=np.zeros(n, np.float32),
            done=np.zeros(n, bool),
        )

    seen = 0
    widths = []
    for n in (0, 1, 3, 10, 40):
        if n > seen:
            agent.observe(log(n - seen, seen))
            seen = n
        width = float(agent.bonus(x))
        assert width == pytest.approx(np.sqrt(norm2 / (2.0 + n * norm2)), rel=1e-9)
        widths.append(width)
    assert np.all(np.diff(widths) < 0)
    # The agent builds exactly this x for that candidate with an empty history.
    tokens = np.zeros((1, M, F), np.float32)
    tokens[0, 0] = token
    feats = agent.features(tokens, np.zeros((1, F - 3), np.float32))
    assert np.allclose(feats[0, 0], x)
    # Half the 40 rows were clicks: theta = A⁻¹ b = 20 x / (reg + 40 |x|²).
    assert float(agent.theta @ x) == pytest.approx(20 * norm2 / (2.0 + 40 * norm2), rel=1e-9)


def test_whole_log_equals_tick_by_tick_and_chunking(monkeypatch: pytest.MonkeyPatch) -> None:
    parts = [synthetic_log(50, seed=s) for s in range(6)]
    ticks = LinUCBAgent(K, F)
    for part in parts:
        ticks.observe(part)
    monkeypatch.setattr(bandit, "CHUNK", 7)  # many small chunks inside one observe
    whole = LinUCBAgent(K, F)
    whole.observe(Transitions.concat(parts))
    assert np.allclose(whole.A, ticks.A, rtol=1e-12) and np.allclose(whole.b, ticks.b, rtol=1e-12)
    # Every shown item is one observation: trace(A) - trace(reg I) = Σ |x|² over the 6 * 50 * K shown items.
    assert whole.A[-1, -1] == pytest.approx(1.0 + 6 * 50 * K)
    assert whole.b[-1] == pytest.approx(sum(int((p.clicked_position >= 0).sum()) for p in parts))


def test_history_features_from_ids_match_the_observation() -> None:
    # Items seen in an observation are remembered by id, so a logged row's history (ids only) gets the
    # same mean text the observation's history tokens gave at act time.
    agent = LinUCBAgent(K, F)
    rng = np.random.default_rng(3)
    tokens = rng.random((1, M, F)).astype(np.float32)
    hist = np.zeros((1, H, F), np.float32)
    hist[0, :2] = rng.random((2, F)) + 0.1
    obs = observation(tokens, hist)
    agent.act(obs, True)
    from_ids = agent._history_mean(obs["history_ids"])
    assert np.allclose(from_ids, hist[0, :2, : F - 3].mean(axis=0))
    assert np.allclose(agent._history_mean(np.array([[-1, 123_456, -1]])), 0.0)  # unknown ids: no history


def test_thompson_sampling_is_seeded_and_valid() -> None:
    a, b = LinUCBAgent(K, F, seed=5), LinUCBAgent(K, F, seed=5)
    log = synthetic_log(200, seed=0)
    a.observe(log)
    b.observe(log)
    obs = observation(np.random.default_rng(1).random((16, M, F)).astype(np.float32))
    sa, sb = a.act(obs, False), b.act(obs, False)
    assert np.array_equal(sa, sb)
    assert sa.shape == (16, K) and all(len(set(row)) == K for row in sa.tolist())


def test_factory_and_registry() -> None:
    spec = AgentSpec(slate_size=K, num_candidates=M, feature_dim=F, history=H)
    agent = make_linucb(spec, 0, None)
    assert isinstance(agent, LinUCBAgent) and agent.alpha == 0.5 and agent.dim == F + (F - 3) + 1
    assert isinstance(make_agent("linucb", spec, 0, None), LinUCBAgent)
    with pytest.raises(ValueError, match="alpha"):
        LinUCBAgent(K, F, alpha=-1.0)
