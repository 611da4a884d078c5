"""The Plackett–Luce slate distribution against brute-force enumeration on tiny cases."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from freshrec.agents.ppo.distribution import PlackettLuceDistribution


def enumerate_slates(scores: list[float], k: int) -> dict[tuple[int, ...], float]:
    """Every ordered slate's probability, by the product of sequential softmaxes (by hand, in floats)."""
    out = {}
    for slate in itertools.permutations(range(len(scores)), k):
        p, left = 1.0, set(range(len(scores)))
        for a in slate:
            p *= math.exp(scores[a]) / sum(math.exp(scores[j]) for j in left)
            left.remove(a)
        out[slate] = p
    return out


SCORES = [0.3, -1.0, 2.0, 0.5]


def dist(scores: list[float], k: int, mask: list[int] | None = None) -> PlackettLuceDistribution:
    d = PlackettLuceDistribution(len(scores), k)
    return d.proba_distribution(torch.tensor([scores]), None if mask is None else torch.tensor([mask]))


@pytest.mark.parametrize("k", [1, 2, 3])
def test_log_prob_matches_enumeration(k: int) -> None:
    truth = enumerate_slates(SCORES, k)
    slates = torch.tensor(list(truth))
    d = PlackettLuceDistribution(4, k).proba_distribution(torch.tensor([SCORES] * len(truth)))
    got = d.log_prob(slates).exp().numpy()
    np.testing.assert_allclose(got, list(truth.values()), rtol=1e-5)
    assert got.sum() == pytest.approx(1.0, abs=1e-5)


def test_samples_follow_the_probabilities_and_never_repeat() -> None:
    torch.manual_seed(0)
    truth = enumerate_slates(SCORES, 2)
    d = PlackettLuceDistribution(4, 2).proba_distribution(torch.tensor([SCORES] * 40_000))
    samples = d.sample()
    assert all(len(set(row)) == 2 for row in samples.tolist())
    counts: dict[tuple[int, ...], int] = {}
    for row in map(tuple, samples.tolist()):
        counts[row] = counts.get(row, 0) + 1
    for slate, p in truth.items():  # binomial standard error at 40k draws is at most 0.0025
        assert counts.get(slate, 0) / 40_000 == pytest.approx(p, abs=0.01)


def test_mode_is_top_k_in_order() -> None:
    assert dist(SCORES, 3).mode().tolist() == [[2, 3, 0]]


def test_rankings_extend_the_slate_even_with_ties() -> None:
    d = dist([0.5, 2.0, 0.5, 2.0, 0.5, 1.0], 2, mask=[1, 1, 1, 1, 0, 1])
    slate = d.mode()
    assert sorted(slate[0].tolist()) == [1, 3]
    for k in (1, 2, 3, 6):
        ranking = d.ranking(k, deterministic=True)[0].tolist()
        assert ranking[: min(k, 2)] == slate[0, :k].tolist()  # the slate, then the rest
        assert len(set(ranking)) == k
    full = d.ranking(6, deterministic=True)[0].tolist()
    assert full[2] == 5 and sorted(full[3:5]) == [0, 2] and full[5] == 4  # the masked candidate last
    torch.manual_seed(0)
    drawn = d.sample()
    torch.manual_seed(0)
    assert d.ranking(5, deterministic=False)[:, :2].tolist() == drawn.tolist()  # the same draw, then more
    with pytest.raises(ValueError, match="k = 7"):
        d.ranking(7, deterministic=True)


def test_masked_candidates_are_never_drawn_while_valid_ones_remain() -> None:
    torch.manual_seed(1)
    d = PlackettLuceDistribution(4, 2).proba_distribution(
        torch.tensor([SCORES] * 2000), torch.tensor([[1, 0, 0, 1]] * 2000)
    )
    assert set(d.sample().flatten().tolist()) == {0, 3}
    assert d.mode()[0].tolist() == [3, 0]
    # A slate through a masked candidate is (numerically) impossible, yet finite.
    lp = d.log_prob(torch.tensor([[2, 0]]).expand(2000, 2))
    assert torch.isfinite(lp).all() and (lp < -1e3).all()


def test_fewer_valid_candidates_than_slots_fill_with_masked_ones_last() -> None:
    torch.manual_seed(2)
    d = PlackettLuceDistribution(4, 3).proba_distribution(
        torch.tensor([SCORES] * 500), torch.tensor([[0, 1, 0, 0]] * 500)
    )
    slates = d.sample()
    assert (slates[:, 0] == 1).all()
    assert all(len(set(row)) == 3 for row in slates.tolist())
    # Among masked candidates the draw is uniform, so its log-probability is finite: log(1 * 1/3 * 1/2).
    assert d.log_prob(torch.tensor([[1, 0, 2]])).tolist()[0] == pytest.approx(math.log(1 / 6), abs=1e-3)


def test_entropy_estimate_is_unbiased() -> None:
    torch.manual_seed(3)
    truth = enumerate_slates(SCORES, 2)
    exact = -sum(p * math.log(p) for p in truth.values())
    d = PlackettLuceDistribution(4, 2).proba_distribution(torch.tensor([SCORES] * 40_000))
    assert d.entropy().mean().item() == pytest.approx(exact, abs=0.01)


def test_log_prob_gradient_reaches_the_scores() -> None:
    scores = torch.tensor([SCORES], requires_grad=True)
    PlackettLuceDistribution(4, 2).proba_distribution(scores).log_prob(torch.tensor([[2, 0]])).sum().backward()
    assert scores.grad is not None and torch.isfinite(scores.grad).all() and scores.grad[0, 2] > 0


@pytest.mark.parametrize(("m", "k"), [(3, 0), (3, 4)])
def test_bad_slate_size_is_rejected_by_name(m: int, k: int) -> None:
    with pytest.raises(ValueError, match="slate_size"):
        PlackettLuceDistribution(m, k)
