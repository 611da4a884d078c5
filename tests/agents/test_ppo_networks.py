"""The Transformer extractor's own attention path against PyTorch's layers (``reference_layers=True``)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from freshrec.agents.ppo.networks import (
    TOPIC_MATCH_COLUMNS,
    TOPIC_RECENCY,
    MLPExtractor,
    TransformerExtractor,
    text_match,
    topic_match_columns,
)
from freshrec.envs.sb3 import FreshRecSB3VecEnv
from freshrec.envs.vector import FreshRecVectorEnv


@pytest.fixture(scope="module")
def batch() -> tuple[object, dict[str, torch.Tensor]]:
    """Observations of 16 sessions some steps in: histories and skipped lists partly padded."""
    env = FreshRecSB3VecEnv(FreshRecVectorEnv(num_envs=16, encoder="hashing:64"))
    env.seed(0)
    obs = env.reset()
    rng = np.random.default_rng(0)
    for _ in range(12):
        obs, *_ = env.step(np.stack([rng.permutation(32)[:5] for _ in range(16)]))
    mask = obs["history_mask"]
    assert 0 < mask.mean() < 1 and (mask.sum(1) < mask.shape[1]).any()  # padding in the batch, not all padding
    return env.observation_space, {k: torch.as_tensor(v).float() for k, v in obs.items()}


def pair(space: object, **kw: object) -> tuple[TransformerExtractor, TransformerExtractor]:
    torch.manual_seed(3)
    fast = TransformerExtractor(space, **kw)  # type: ignore[arg-type]
    torch.manual_seed(3)
    ref = TransformerExtractor(space, reference_layers=True, **kw)  # type: ignore[arg-type]
    return fast, ref


@pytest.mark.parametrize("heads", [1, 2])
@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("self_attention", [False, True])
@pytest.mark.parametrize("match", [False, True])
def test_same_weights_outputs_and_gradients_as_pytorch_layers(
    batch: tuple[object, dict[str, torch.Tensor]], heads: int, layers: int, self_attention: bool, match: bool
) -> None:
    space, obs = batch
    fast, ref = pair(
        space, d_model=16, layers=layers, heads=heads, candidate_self_attention=self_attention, match_features=match
    )
    # Same parameter names, in the same order, initialised to the same values from the same seed.
    a, b = fast.state_dict(), ref.state_dict()
    assert list(a) == list(b)
    assert all(torch.equal(a[k], b[k]) for k in a)
    out_fast, out_ref = fast(obs), ref(obs)
    assert out_fast.shape == (16, 33, 16) and torch.isfinite(out_fast).all()
    torch.testing.assert_close(out_fast, out_ref, rtol=1e-5, atol=1e-5)
    weights = torch.randn_like(out_fast)  # a generic loss: every output element gets a gradient
    (out_fast * weights).sum().backward()
    (out_ref * weights).sum().backward()
    for (name, p), q in zip(fast.named_parameters(), ref.parameters(), strict=True):
        assert p.grad is not None and q.grad is not None, name
        # float32 sums over the batch: gradients reach the hundreds, so the absolute tolerance follows their scale.
        scale = max(1.0, q.grad.abs().max().item())
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-4, atol=max(1e-5, 1e-6 * scale), msg=name)


def test_either_kind_loads_the_others_weights(batch: tuple[object, dict[str, torch.Tensor]]) -> None:
    space, obs = batch
    torch.manual_seed(0)
    trained_ref = TransformerExtractor(space, d_model=16, reference_layers=True)  # type: ignore[arg-type]
    fast, _ = pair(space, d_model=16)
    fast.load_state_dict(trained_ref.state_dict())
    torch.testing.assert_close(fast(obs), trained_ref(obs), rtol=1e-5, atol=1e-5)


def test_padded_history_tokens_do_not_change_the_output(batch: tuple[object, dict[str, torch.Tensor]]) -> None:
    """What sits in a padded slot is never read: the padding mask is applied."""
    space, obs = batch
    fast, _ = pair(space, d_model=16)
    noisy = dict(obs)
    pad = (obs["history_mask"] < 0.5).repeat_interleave(obs["history_features"].shape[1] // 16, dim=1)
    noisy["history_features"] = torch.where(pad, torch.randn_like(obs["history_features"]) * 5, obs["history_features"])
    assert not torch.equal(noisy["history_features"], obs["history_features"])
    torch.testing.assert_close(fast(noisy), fast(obs))


@pytest.mark.parametrize("reference", [False, True])
def test_masked_candidates_are_not_read_by_candidate_self_attention(
    batch: tuple[object, dict[str, torch.Tensor]], reference: bool
) -> None:
    """With candidates attending to each other, a masked candidate (a duplicate or filler item with real
    features) changes no valid candidate's output; a row with every candidate masked stays finite."""
    space, obs = batch
    torch.manual_seed(3)
    net = TransformerExtractor(space, d_model=16, candidate_self_attention=True, reference_layers=reference)  # type: ignore[arg-type]
    masked = dict(obs)
    mask = obs["candidate_mask"].clone()
    mask[:, 20:] = 0.0  # the last 12 candidates of every row are masked
    mask[0] = 0.0  # and every candidate of row 0
    masked["candidate_mask"] = mask
    f = obs["candidate_features"].shape[1] // mask.shape[1]
    hidden = (mask < 0.5).repeat_interleave(f, dim=1)
    noisy = dict(masked)
    noisy["candidate_features"] = torch.where(
        hidden, torch.randn_like(obs["candidate_features"]) * 5, obs["candidate_features"]
    )
    out, out_noisy = net(masked), net(noisy)  # (B, 1 + M, d)
    assert torch.isfinite(out).all() and torch.isfinite(out_noisy).all()
    valid = mask > 0.5  # (B, M): the valid candidates (all but row 0's, among the first 20 positions)
    assert valid[1:, :20].any() and not valid[:, 20:].any()
    torch.testing.assert_close(out_noisy[:, 1:][valid], out[:, 1:][valid])
    torch.testing.assert_close(out_noisy[:, 0], out[:, 0])  # the summary token never reads candidates
    assert not torch.allclose(net(obs)[:, 1:][valid], out[:, 1:][valid])  # masking the last 12 changed what they read


def test_text_match_against_a_loop(batch: tuple[object, dict[str, torch.Tensor]]) -> None:
    """``text_match`` row by row: products with the masked means, the nearest click, zeros without history."""
    _, obs = batch
    b, m, f = obs["candidate_features"].shape[0], 32, 19
    cand = obs["candidate_features"].reshape(b, m, f)
    hist, skip = obs["history_features"].reshape(b, 16, f), obs["skipped_features"].reshape(b, 10, f)
    hist_pad, skip_pad = obs["history_mask"] < 0.5, obs["skipped_mask"] < 0.5  # new tensors: safe to edit
    hist_pad[0], skip_pad[1] = True, True  # session 0 without clicks, session 1 without skips
    got = text_match(cand, hist, hist_pad, skip, skip_pad).numpy()
    assert not got[0, :, :16].any() and not got[0, :, -1].any() and not got[1, :, 16:32].any()
    assert got.shape == (b, m, 2 * 16 + 1)
    p = 16
    for i in range(b):
        c = cand[i, :, :p].numpy()
        h = hist[i, ~hist_pad[i], :p].numpy()
        s = skip[i, ~skip_pad[i], :p].numpy()
        mean_h = h.mean(0) if len(h) else np.zeros(p)
        mean_s = s.mean(0) if len(s) else np.zeros(p)
        nearest = (c @ h.T).max(1) if len(h) else np.zeros(m)
        want = np.concatenate([c * mean_h, c * mean_s, nearest[:, None]], axis=1) * p
        np.testing.assert_allclose(got[i], want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kind", ["transformer", "mlp"])
def test_match_features_read_only_valid_tokens(batch: tuple[object, dict[str, torch.Tensor]], kind: str) -> None:
    """With match features on, padded history and skipped slots still change nothing, and the features are used."""
    space, obs = batch
    torch.manual_seed(0)
    cls = TransformerExtractor if kind == "transformer" else MLPExtractor
    on = cls(space, d_model=16, match_features=True)  # type: ignore[arg-type]
    assert isinstance(on.embed.match, torch.nn.Linear) and cls(space, d_model=16).embed.match is None  # type: ignore[arg-type]
    noisy = dict(obs)
    for key in ("history", "skipped"):
        pad = (obs[f"{key}_mask"] < 0.5).repeat_interleave(19, dim=1)
        assert pad.any(), key
        noisy[f"{key}_features"] = torch.where(
            pad, torch.randn_like(obs[f"{key}_features"]) * 5, obs[f"{key}_features"]
        )
    before = on(obs)
    torch.testing.assert_close(on(noisy), before)
    with torch.no_grad():  # the match embedding reaches the output: without it the candidates' rows change
        on.embed.match.weight.zero_()  # type: ignore[union-attr]
        on.embed.match.bias.zero_()  # type: ignore[union-attr]
    after = on(obs)
    assert not torch.allclose(after[:, 1:], before[:, 1:])


def off_then_on(space: object, obs: dict[str, torch.Tensor], kind: str, new: str, **flag: bool) -> torch.nn.Module:
    """The ``kind`` extractor built with ``flag``, after checking it against one built without it from the same
    seed: the flag adds only parameters named ``new*``, the rest start equal, and so do the outputs (the new map
    starts at zero and draws nothing from torch's generator)."""
    cls = TransformerExtractor if kind == "transformer" else MLPExtractor
    torch.manual_seed(0)
    off = cls(space, d_model=16)  # type: ignore[arg-type]
    torch.manual_seed(0)
    on = cls(space, d_model=16, **flag)  # type: ignore[arg-type]
    shared = {k: v for k, v in on.state_dict().items() if not k.startswith(new)}
    assert len(shared) < len(on.state_dict()) and list(shared) == list(off.state_dict())
    assert all(torch.equal(v, off.state_dict()[k]) for k, v in shared.items())
    torch.testing.assert_close(on(obs), off(obs))
    return on


def assert_moves_candidate_3(
    on: torch.nn.Module, before: torch.Tensor, moved: dict[str, torch.Tensor], kind: str
) -> None:
    """Candidate 3's row (row 1 + 3) changes when its input moved; for the MLP (no attention between candidates)
    the other candidates' rows stay."""
    after = on(moved)
    assert not torch.allclose(after[:, 4], before[:, 4])
    if kind == "mlp":
        torch.testing.assert_close(after[:, 1:4], before[:, 1:4])


@pytest.mark.parametrize("kind", ["transformer", "mlp"])
def test_topic_embeddings_start_at_zero_and_read_each_tokens_topic(
    batch: tuple[object, dict[str, torch.Tensor]], kind: str
) -> None:
    """Off: no table. On: same initial weights and outputs as off (zero table, no extra draws from the
    generator); once trained, a candidate's row follows its own topic, and padded slots' topics are never read."""
    space, obs = batch
    on = off_then_on(space, obs, kind, "embed.topics", topic_embeddings=True)
    assert on.embed.topics is not None
    assert on.embed.topics.weight.shape == (20 + 1, 16)  # the default world's 20 topics, plus padding

    with torch.no_grad():  # as if trained: every topic its own embedding
        on.embed.topics.weight.normal_()
    before = on(obs)
    moved = dict(obs)
    moved["candidate_topics"] = obs["candidate_topics"].clone()
    moved["candidate_topics"][:, 3] = (obs["candidate_topics"][:, 3] + 1) % 20  # candidate 3 changes topic
    assert_moves_candidate_3(on, before, moved, kind)
    noisy = dict(obs)  # any topic in a padded history or skipped slot: nothing changes
    for key in ("history", "skipped"):
        pad = obs[f"{key}_mask"] < 0.5
        assert pad.any() and (obs[f"{key}_topics"][pad] == -1).all(), key
        noisy[f"{key}_topics"] = torch.where(pad, torch.randint_like(obs[f"{key}_topics"], 20), obs[f"{key}_topics"])
    torch.testing.assert_close(on(noisy), before)


def test_topic_embeddings_need_the_topics_in_the_space(batch: tuple[object, dict[str, torch.Tensor]]) -> None:
    from gymnasium import spaces

    space, _ = batch
    assert isinstance(space, spaces.Dict)
    without = spaces.Dict({k: v for k, v in space.spaces.items() if k != "candidate_topics"})
    TransformerExtractor(without, d_model=16)  # off: not needed
    with pytest.raises(ValueError, match="candidate_topics"):
        TransformerExtractor(without, d_model=16, topic_embeddings=True)


@pytest.fixture(scope="module")
def revealed() -> tuple[object, dict[str, torch.Tensor]]:
    """Observations of 16 sessions some steps in, from an env that reveals the hidden relevance."""
    env = FreshRecSB3VecEnv(FreshRecVectorEnv(num_envs=16, encoder="hashing:64", reveal_relevance=True))
    env.seed(0)
    obs = env.reset()
    rng = np.random.default_rng(0)
    for _ in range(6):
        obs, *_ = env.step(np.stack([rng.permutation(32)[:5] for _ in range(16)]))
    return env.observation_space, {k: torch.as_tensor(v).float() for k, v in obs.items()}


@pytest.mark.parametrize("kind", ["transformer", "mlp"])
def test_revealed_relevance_starts_at_zero_and_moves_its_own_candidate(
    revealed: tuple[object, dict[str, torch.Tensor]], kind: str
) -> None:
    """On: the same initial weights and outputs as off (a zero map, no extra draws from the generator); once
    trained, a candidate's row follows its own relevance (for the MLP, only its row)."""
    space, obs = revealed
    on = off_then_on(space, obs, kind, "embed.relevance", reveal_relevance=True)
    assert on.embed.relevance is not None

    with torch.no_grad():  # as if trained
        on.embed.relevance.normal_()
    before = on(obs)
    moved = dict(obs)
    moved["candidate_relevance"] = obs["candidate_relevance"].clone()
    moved["candidate_relevance"][:, 3] = 1.0 - obs["candidate_relevance"][:, 3]  # candidate 3's truth changes
    assert_moves_candidate_3(on, before, moved, kind)
    without = dict(obs)
    del without["candidate_relevance"]
    with pytest.raises(ValueError, match="candidate_relevance"):
        on(without)


def test_revealed_relevance_needs_it_in_the_space(batch: tuple[object, dict[str, torch.Tensor]]) -> None:
    space, _ = batch  # an env built without reveal_relevance
    with pytest.raises(ValueError, match=r"candidate_relevance.*reveal_relevance=True"):
        TransformerExtractor(space, d_model=16, reveal_relevance=True)  # type: ignore[arg-type]


def test_topic_match_columns_by_hand() -> None:
    """One user who clicked topics [2, 5, 2] (newest first, then padding) and skipped [5, -1]; candidates of
    topics 2, 5 and 7: the history share, the recency-weighted count, the skipped share and the newest click."""
    obs = {
        "candidate_topics": torch.tensor([[2.0, 5.0, 7.0]]),
        "history_topics": torch.tensor([[2.0, 5.0, 2.0, -1.0]]),
        "skipped_topics": torch.tensor([[5.0, -1.0]]),
    }
    r = TOPIC_RECENCY
    expected = torch.tensor([[[2 / 4, 1 + r**2, 0.0, 1.0], [1 / 4, r, 1 / 2, 0.0], [0.0, 0.0, 0.0, 0.0]]])
    torch.testing.assert_close(topic_match_columns(obs), expected)


@pytest.mark.parametrize("kind", ["transformer", "mlp"])
def test_topic_match_starts_at_zero_and_moves_its_own_candidate(
    batch: tuple[object, dict[str, torch.Tensor]], kind: str
) -> None:
    """On: the same initial weights and outputs as off (a zero map, no extra draws from the generator); once
    trained, a candidate's row follows its own topic's match with the user."""
    space, obs = batch
    on = off_then_on(space, obs, kind, "embed.topic_match", topic_match=True)
    assert on.embed.topic_match is not None and on.embed.topic_match.shape == (TOPIC_MATCH_COLUMNS, 16)

    with torch.no_grad():  # as if trained
        on.embed.topic_match.normal_()
    before = on(obs)
    moved = dict(obs)
    moved["candidate_topics"] = obs["candidate_topics"].clone()
    newest = obs["history_topics"][:, 0]
    clicked = newest >= 0
    assert clicked.any()
    # candidate 3 takes the user's newest click's topic where there is one, and a topic nobody clicked elsewhere
    moved["candidate_topics"][:, 3] = torch.where(clicked, newest, torch.full_like(newest, 99.0))
    assert not torch.equal(topic_match_columns(moved)[:, 3], topic_match_columns(obs)[:, 3])
    assert_moves_candidate_3(on, before, moved, kind)
