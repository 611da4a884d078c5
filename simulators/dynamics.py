"""The world's laws as small pure functions on arrays, each testable against a value worked out by hand.

Shapes: B sessions, K slate positions, M candidates, D latent dimensions, T topics.
"""

from __future__ import annotations

import math

import numpy as np


def utilities(
    interest: np.ndarray,
    item_latent: np.ndarray,
    quality: np.ndarray,
    age: np.ndarray,
    boredom_of_topic: np.ndarray,
    affinity_weight: float,
    freshness_appeal: float,
    freshness_half_life: float,
    boredom_weight: float,
) -> np.ndarray:
    """True utility of items for users: w*<z, x> + quality + appeal*2^(-age/half_life) - b*boredom.

    interest (B, D), item_latent (B, M, D), quality/age/boredom_of_topic (B, M) -> (B, M).
    """
    affinity = np.matmul(item_latent, interest[:, :, None])[:, :, 0]  # (B, M)
    util = affinity_weight * affinity + quality
    if freshness_appeal:
        util = util + freshness_appeal * np.exp2(-age / freshness_half_life)
    if boredom_weight:
        util = util - boredom_weight * boredom_of_topic
    return util


def solo_click_prob(util: np.ndarray, no_click_utility: float) -> np.ndarray:
    """The chance an item would be clicked if shown alone: sigmoid(u - u0). Graded ground-truth relevance."""
    return 1.0 / (1.0 + np.exp(no_click_utility - util))


def slate_click_probs(util: np.ndarray, valid: np.ndarray, no_click_utility: float) -> np.ndarray:
    """Multinomial logit over the slate plus a no-click option: p_k = e^{u_k} / (e^{u0} + sum_j e^{u_j}).

    util (B, K), valid (B, K) bool (empty slots get probability 0) -> (B, K); 1 - row sum = P(no click).

    >>> p = slate_click_probs(np.array([[0.0, np.log(2.0)]]), np.array([[True, True]]), 0.0)
    >>> p.round(3).tolist()   # e^0 : e^ln2 : e^0 = 1 : 2 : 1 of 4
    [[0.25, 0.5]]
    """
    # Shift by the row max (no-click included) so exp never overflows; the ratio is unchanged.
    shift = np.maximum(np.where(valid, util, -np.inf).max(axis=1, keepdims=True), no_click_utility)
    expu = np.where(valid, np.exp(util - shift), 0.0)
    return expu / (np.exp(no_click_utility - shift) + expu.sum(axis=1, keepdims=True))


def sample_choice(probs: np.ndarray, uniform: np.ndarray) -> np.ndarray:
    """Clicked position per row (-1 = no click) by inverse CDF: probs (B, K), uniform (B,) in [0, 1).

    >>> sample_choice(np.array([[0.25, 0.5], [0.25, 0.5]]), np.array([0.2, 0.9])).tolist()
    [0, -1]
    """
    cum = np.cumsum(probs, axis=1)  # (B, K)
    pos = (cum <= uniform[:, None]).sum(axis=1)  # first position whose cumulative prob exceeds u
    return np.where(pos < probs.shape[1], pos, -1)


def engagement(util: np.ndarray, noise: np.ndarray, no_click_utility: float) -> np.ndarray:
    """Engagement (watch fraction) of a clicked item: sigmoid(u - u0 + noise), in (0, 1)."""
    return 1.0 / (1.0 + np.exp(no_click_utility - util - noise))


def ou_advance(
    interest: np.ndarray, anchor: np.ndarray, elapsed: np.ndarray, reversion: float, std: float, normal: np.ndarray
) -> np.ndarray:
    """Exact Ornstein-Uhlenbeck transition over ``elapsed`` ticks (one tick online, a whole gap offline).

    z' = a + (z - a) e^{-theta t} + sigma * sqrt((1 - e^{-2 theta t}) / (2 theta)) * n, with n ~ N(0, I).
    interest, anchor, normal (B, D); elapsed (B,) -> (B, D). For t = 1 and small theta the step std is ~sigma.
    """
    decay = np.exp(-reversion * elapsed)[:, None]
    scale = std * np.sqrt((1.0 - decay * decay) / (2.0 * reversion))
    return anchor + (interest - anchor) * decay + scale * normal


def boredom_decay(boredom: np.ndarray, elapsed: np.ndarray, factor: float) -> np.ndarray:
    """Boredom after ``elapsed`` ticks of geometric fading: b * factor^t. boredom (B, T), elapsed (B,)."""
    return boredom * np.power(factor, elapsed)[:, None]


def patience_update(
    patience: np.ndarray, clicked: np.ndarray, engaged: np.ndarray, gain: float, cap: float
) -> np.ndarray:
    """A click restores ``gain * engagement`` (up to ``cap``); an unanswered slate costs 1."""
    return np.where(clicked, np.minimum(patience + gain * engaged, cap), patience - 1.0)


def return_gap_mean(session_ctr: np.ndarray, gap: float, sensitivity: float) -> np.ndarray:
    """Mean ticks until a user comes back: gap * exp(-sensitivity * (ctr - 0.5)); good sessions shorten it."""
    return gap * np.exp(-sensitivity * (session_ctr - 0.5))


def half_life_factor(ticks: float, half_life: float) -> float:
    """The factor that halves a quantity every ``half_life`` ticks, applied for ``ticks`` ticks."""
    return math.exp2(-ticks / half_life)
