"""The world's laws (``freshrec.simulators.dynamics``) against values worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from freshrec.simulators import dynamics

E = math.e


# ---------------------------------------------------------------- choice model
def test_slate_click_probs_hand_values() -> None:
    # u = (1, 2, 0), u0 = 0: weights e^1, e^2, e^0 and e^0 for no click.
    # D = e + e^2 + 1 + 1 = 2.718282 + 7.389056 + 2 = 12.107338
    # p = (e/D, e^2/D, 1/D) = (0.224515, 0.610296, 0.082595); P(no click) = 1/D = 0.082595
    p = dynamics.slate_click_probs(np.array([[1.0, 2.0, 0.0]]), np.ones((1, 3), bool), 0.0)
    np.testing.assert_allclose(p, [[0.22451524, 0.61029569, 0.08259454]], rtol=1e-7)
    assert 1.0 - p.sum() == pytest.approx(0.08259454, rel=1e-6)


def test_slate_click_probs_masked_slot_gets_zero_and_leaves_the_others() -> None:
    # valid (T, F, T), u = (ln 3, 100, 0), u0 = 0: weights 3, (masked), 1, and 1 for no click: D = 5
    # p = (3/5, 0, 1/5) = (0.6, 0, 0.2): the masked item's huge utility must not count.
    util = np.array([[math.log(3.0), 100.0, 0.0]])
    p = dynamics.slate_click_probs(util, np.array([[True, False, True]]), 0.0)
    np.testing.assert_allclose(p, [[0.6, 0.0, 0.2]], atol=1e-12)


def test_slate_click_probs_rows_are_independent_and_no_click_utility_shifts() -> None:
    # Row 0: u = (0, 0), u0 = ln 2: weights 1, 1, 2 -> (1/4, 1/4).
    # Row 1: u = (ln 2, ln 2) (the same as row 0 up to the constant ln 2 against u0 = ln 2): 2, 2, 2 -> (1/3, 1/3).
    util = np.array([[0.0, 0.0], [math.log(2.0), math.log(2.0)]])
    p = dynamics.slate_click_probs(util, np.ones((2, 2), bool), math.log(2.0))
    np.testing.assert_allclose(p, [[0.25, 0.25], [1 / 3, 1 / 3]], rtol=1e-12)


def test_slate_click_probs_extreme_utilities_stay_finite() -> None:
    # u = (1000, 1000), u0 = 0: e^1000 overflows unless shifted; the answer is (1/2, 1/2), no click ~ e^-1000 = 0.
    with np.errstate(over="raise", invalid="raise"):
        p = dynamics.slate_click_probs(np.array([[1000.0, 1000.0]]), np.ones((1, 2), bool), 0.0)
    np.testing.assert_allclose(p, [[0.5, 0.5]])
    # u0 = 1000 far above the items: nobody clicks, no NaN.
    p = dynamics.slate_click_probs(np.array([[0.0, -5.0]]), np.ones((1, 2), bool), 1000.0)
    assert np.all(np.isfinite(p)) and p.max() < 1e-300
    # Every slot empty: all zeros (P(no click) = 1), even with NaN-free garbage utilities behind the mask.
    p = dynamics.slate_click_probs(np.array([[3.0, 7.0]]), np.zeros((1, 2), bool), 0.0)
    np.testing.assert_array_equal(p, [[0.0, 0.0]])


def test_sample_choice_inverse_cdf_hand_values() -> None:
    # p = (0.2, 0, 0.3): cumulative (0.2, 0.2, 0.5). u < 0.2 -> 0; 0.2 <= u < 0.5 -> 2 (position 1 has
    # probability 0 and is never chosen, even at u = 0.2 exactly); u >= 0.5 -> no click (-1).
    probs = np.array([[0.2, 0.0, 0.3]] * 6)
    u = np.array([0.0, 0.19999, 0.2, 0.49999, 0.5, 0.99])
    np.testing.assert_array_equal(dynamics.sample_choice(probs, u), [0, 0, 2, 2, -1, -1])
    # A zero-probability first position is skipped at u = 0.
    assert dynamics.sample_choice(np.array([[0.0, 0.5]]), np.array([0.0])).tolist() == [1]


def test_sample_choice_frequencies_match_probabilities() -> None:
    # 200k draws of p = (0.1, 0.25, 0, 0.4) and no click 0.25: each frequency within 4 standard errors.
    n = 200_000
    p = np.array([0.1, 0.25, 0.0, 0.4])
    picks = dynamics.sample_choice(np.broadcast_to(p, (n, 4)), np.random.default_rng(0).random(n))
    for pos, want in [(0, 0.1), (1, 0.25), (2, 0.0), (3, 0.4), (-1, 0.25)]:
        freq = float(np.mean(picks == pos))
        se = math.sqrt(want * (1 - want) / n)
        assert abs(freq - want) <= 4 * se + 1e-12, (pos, freq, want)


def test_solo_click_prob_hand_values() -> None:
    # sigmoid(u - u0): u = u0 -> 1/2; u = u0 + ln 3 -> 3/4; u = u0 - ln 3 -> 1/4.
    u0 = 4.0
    p = dynamics.solo_click_prob(np.array([4.0, 4.0 + math.log(3.0), 4.0 - math.log(3.0)]), u0)
    np.testing.assert_allclose(p, [0.5, 0.75, 0.25], rtol=1e-12)


def test_engagement_hand_values() -> None:
    # sigmoid(u - u0 + noise): u - u0 = ln 4, noise 0 -> 4/5; noise = -ln 4 -> 1/2; strictly inside (0, 1).
    u0 = 1.0
    util = np.array([1.0 + math.log(4.0)] * 2 + [1.0])
    noise = np.array([0.0, -math.log(4.0), 30.0])
    e = dynamics.engagement(util, noise, u0)
    np.testing.assert_allclose(e[:2], [0.8, 0.5], rtol=1e-12)
    assert 0.0 < e[2] <= 1.0


def test_utilities_hand_values_with_freshness_and_boredom() -> None:
    # z = (1, 0); items x0 = (0.6, 0.8), x1 = (0, 1); quality (0.5, -0.5); ages (0, 100); boredom of their
    # topics (0, 2); w = 5, appeal = 1, half-life = 100, boredom weight = 0.3:
    #   u0 = 5 * 0.6 + 0.5 + 1 * 2^0       - 0.3 * 0 = 3 + 0.5 + 1 = 4.5
    #   u1 = 5 * 0   - 0.5 + 1 * 2^(-1)    - 0.3 * 2 = -0.5 + 0.5 - 0.6 = -0.6
    interest = np.array([[1.0, 0.0]])
    latent = np.array([[[0.6, 0.8], [0.0, 1.0]]])
    args = (interest, latent, np.array([[0.5, -0.5]]), np.array([[0.0, 100.0]]), np.array([[0.0, 2.0]]))
    util = dynamics.utilities(
        *args, affinity_weight=5.0, freshness_appeal=1.0, freshness_half_life=100.0, boredom_weight=0.3
    )
    np.testing.assert_allclose(util, [[4.5, -0.6]], atol=1e-12)
    # Switching the freshness and boredom terms off leaves affinity + quality: (3.5, -0.5).
    util = dynamics.utilities(
        *args, affinity_weight=5.0, freshness_appeal=0.0, freshness_half_life=100.0, boredom_weight=0.0
    )
    np.testing.assert_allclose(util, [[3.5, -0.5]], atol=1e-12)


def test_utilities_batch_rows_use_their_own_interest() -> None:
    # Two sessions, the same single item x = (0, 1): z = (1, 0) gives affinity 0, z = (0, 1) gives 1 (times w = 2).
    interest = np.array([[1.0, 0.0], [0.0, 1.0]])
    latent = np.array([[[0.0, 1.0]], [[0.0, 1.0]]])
    zeros = np.zeros((2, 1))
    util = dynamics.utilities(interest, latent, zeros, zeros, zeros, 2.0, 0.0, 1.0, 0.0)
    np.testing.assert_allclose(util, [[0.0], [2.0]])


# ---------------------------------------------------------------- drift
def _ou_std(std: float, theta: float, t: float) -> float:
    return std * math.sqrt((1.0 - math.exp(-2.0 * theta * t)) / (2.0 * theta))


def test_ou_advance_without_noise_is_the_exponential_pull() -> None:
    # z = (1, 0), a = (0, 1), theta = 0.1, t = 10: a + (z - a) e^-1 = (e^-1, 1 - e^-1) = (0.367879, 0.632121).
    z, a = np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]])
    out = dynamics.ou_advance(z, a, np.array([10.0]), 0.1, 0.0, np.random.default_rng(0).standard_normal((1, 2)))
    np.testing.assert_allclose(out, [[0.36787944, 0.63212056]], rtol=1e-7)
    # Per-row elapsed times: t = 0 leaves z where it is even with noise (the scale is 0).
    out = dynamics.ou_advance(np.vstack([z, z]), np.vstack([a, a]), np.array([0.0, 10.0]), 0.1, 0.3, np.ones((2, 2)))
    np.testing.assert_allclose(out[0], [1.0, 0.0])


def test_ou_advance_noise_scale_hand_value() -> None:
    # sigma = 0.2, theta = 0.05, t = 3, z = a: the step is sqrt(0.04 (1 - e^-0.3) / 0.1) * n = sqrt(0.103673) * n.
    out = dynamics.ou_advance(np.zeros((1, 1)), np.zeros((1, 1)), np.array([3.0]), 0.05, 0.2, np.ones((1, 1)))
    assert out[0, 0] == pytest.approx(math.sqrt(0.10367271), rel=1e-6)
    # One tick with a small theta: the step std is ~sigma (sqrt((1 - e^-2theta)/(2 theta)) = 1 - theta/2 + ...).
    one = dynamics.ou_advance(np.zeros((1, 1)), np.zeros((1, 1)), np.array([1.0]), 1e-4, 0.05, np.ones((1, 1)))
    assert one[0, 0] == pytest.approx(0.05, rel=1e-3)


def test_ou_advance_composes_exactly_t1_then_t2_equals_t1_plus_t2() -> None:
    # The transition is affine in the noises: z2 = a + (z - a) e^{-theta (t1 + t2)} + c1 n1 + c2 n2 with
    # c1 = s(t1) e^{-theta t2}, c2 = s(t2). Variance c1^2 + c2^2
    #    = sigma^2/(2 theta) [(1 - e^{-2 theta t1}) e^{-2 theta t2} + 1 - e^{-2 theta t2}]
    #    = sigma^2/(2 theta) (1 - e^{-2 theta (t1 + t2)}) = s(t1 + t2)^2.
    theta, sigma, t1, t2 = 0.03, 0.4, 7.0, 11.0
    z, a = np.array([[2.0]]), np.array([[-1.0]])

    def two_steps(n1: float, n2: float) -> float:
        mid = dynamics.ou_advance(z, a, np.array([t1]), theta, sigma, np.array([[n1]]))
        return float(dynamics.ou_advance(mid, a, np.array([t2]), theta, sigma, np.array([[n2]]))[0, 0])

    base = two_steps(0.0, 0.0)
    c1, c2 = two_steps(1.0, 0.0) - base, two_steps(0.0, 1.0) - base
    assert base == pytest.approx(-1.0 + 3.0 * math.exp(-theta * (t1 + t2)), rel=1e-12)
    assert c1**2 + c2**2 == pytest.approx(_ou_std(sigma, theta, t1 + t2) ** 2, rel=1e-10)


def test_ou_advance_sampled_mean_and_variance() -> None:
    # 200k draws of one step over t = 25 and of two steps over 10 + 15: both have mean a + (z - a) e^{-25 theta}
    # and variance s(25)^2; checked within 4 standard errors (SE of a variance ~ var * sqrt(2/n)).
    n, theta, sigma = 200_000, 0.02, 0.3
    rng = np.random.default_rng(1)
    z, a = np.full((n, 1), 1.5), np.full((n, 1), 0.5)
    one = dynamics.ou_advance(z, a, np.full(n, 25.0), theta, sigma, rng.standard_normal((n, 1)))[:, 0]
    mid = dynamics.ou_advance(z, a, np.full(n, 10.0), theta, sigma, rng.standard_normal((n, 1)))
    two = dynamics.ou_advance(mid, a, np.full(n, 15.0), theta, sigma, rng.standard_normal((n, 1)))[:, 0]
    mean = 0.5 + 1.0 * math.exp(-theta * 25.0)
    var = _ou_std(sigma, theta, 25.0) ** 2
    for draws in (one, two):
        assert abs(draws.mean() - mean) < 4 * math.sqrt(var / n)
        assert abs(draws.var() - var) < 4 * var * math.sqrt(2.0 / n)


def test_boredom_decay_hand_values_and_composition() -> None:
    # b * factor^t per row: (1, 2) * 0.5^3 = (0.125, 0.25); second row t = 0 keeps (4, 0).
    b = np.array([[1.0, 2.0], [4.0, 0.0]])
    out = dynamics.boredom_decay(b, np.array([3.0, 0.0]), 0.5)
    np.testing.assert_allclose(out, [[0.125, 0.25], [4.0, 0.0]])
    twice = dynamics.boredom_decay(dynamics.boredom_decay(b, np.array([2.0, 5.0]), 0.9), np.array([3.0, 1.5]), 0.9)
    np.testing.assert_allclose(twice, dynamics.boredom_decay(b, np.array([5.0, 6.5]), 0.9), rtol=1e-12)


def test_patience_update_hand_values() -> None:
    # gain 1, cap 10: click with engagement 0.5 -> 5.5; no click -> 5 - 1 = 4; 9.5 + 0.9 = 10.4 capped to 10;
    # 1 without a click -> 0 (the session ends at 0).
    out = dynamics.patience_update(
        np.array([5.0, 5.0, 9.5, 1.0]),
        np.array([True, False, True, False]),
        np.array([0.5, 0.0, 0.9, 0.0]),
        1.0,
        10.0,
    )
    np.testing.assert_allclose(out, [5.5, 4.0, 10.0, 0.0])


def test_return_gap_mean_hand_values() -> None:
    # gap 200, sensitivity 2: ctr 0.5 -> 200; ctr 1 -> 200 e^-1 = 73.5759; ctr 0 -> 200 e = 543.6564.
    out = dynamics.return_gap_mean(np.array([0.5, 1.0, 0.0]), 200.0, 2.0)
    np.testing.assert_allclose(out, [200.0, 73.57588823, 543.65636569], rtol=1e-9)
    # Sensitivity 0: every session the same gap.
    np.testing.assert_allclose(dynamics.return_gap_mean(np.array([0.0, 1.0]), 50.0, 0.0), [50.0, 50.0])


def test_half_life_factor_hand_values() -> None:
    assert dynamics.half_life_factor(100.0, 100.0) == pytest.approx(0.5)
    assert dynamics.half_life_factor(50.0, 100.0) == pytest.approx(1 / math.sqrt(2.0))
    assert dynamics.half_life_factor(0.0, 7.0) == 1.0
