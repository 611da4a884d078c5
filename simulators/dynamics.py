"""The world's laws as small pure functions, each testable against a value worked out by hand.

Shapes: B sessions, K slate positions, M candidates, D latent dimensions, T topics.

Each law is written once, compiled (``freshrec.simulators.jit``), and serves two callers: the
world's step kernel (``freshrec.simulators.kernel``) calls the scalar or one-row form inside its
loop over sessions, and the batched forms below (what the tests and the oracle call) loop the same
row form over B rows.
"""

from __future__ import annotations

import math

import numpy as np

from freshrec.simulators.jit import jit, ufunc


# ---------------------------------------------------------------- elementwise laws
@ufunc("float64(float64, float64)")
def solo_click_prob(util: float, no_click_utility: float) -> float:
    """The chance an item would be clicked if shown alone: sigmoid(u - u0). Graded ground-truth relevance."""
    return 1.0 / (1.0 + np.exp(no_click_utility - util))


@ufunc("float64(float64, float64, float64)")
def engagement(util: float, noise: float, no_click_utility: float) -> float:
    """Engagement (watch fraction) of a clicked item: sigmoid(u - u0 + noise), in (0, 1)."""
    return 1.0 / (1.0 + np.exp(no_click_utility - util - noise))


@ufunc("float64(float64, boolean, float64, float64, float64)")
def patience_update(patience: float, clicked: bool, engaged: float, gain: float, cap: float) -> float:
    """A click restores ``gain * engagement`` (up to ``cap``); an unanswered slate costs 1."""
    return min(patience + gain * engaged, cap) if clicked else patience - 1.0


@ufunc("float64(float64, float64, float64)")
def return_gap_mean(session_ctr: float, gap: float, sensitivity: float) -> float:
    """Mean ticks until a user comes back: gap * exp(-sensitivity * (ctr - 0.5)); good sessions shorten it."""
    return gap * np.exp(-sensitivity * (session_ctr - 0.5))


@ufunc("float64(float64, float64)")
def decay_factor(elapsed: float, factor: float) -> float:
    """Geometric fading over ``elapsed`` ticks: factor^t (boredom between sessions)."""
    return factor**elapsed


@jit
def freshness(age: float, freshness_appeal: float, freshness_half_life: float) -> float:
    """The newness bonus of an item ``age`` ticks old: appeal * 2^(-age / half_life)."""
    return freshness_appeal * np.exp2(-age / freshness_half_life) if freshness_appeal != 0.0 else 0.0


@jit
def utility(
    affinity: float,
    quality: float,
    fresh: float,
    boredom_of_topic: float,
    affinity_weight: float,
    boredom_weight: float,
) -> float:
    """True utility of one item for one user: w*<z, x> + quality + freshness - b*boredom."""
    return affinity_weight * affinity + quality + fresh - boredom_weight * boredom_of_topic


# ---------------------------------------------------------------- one-row laws (called by the kernel)
@jit
def mnl_row(util: np.ndarray, valid: np.ndarray, no_click_utility: float, out: np.ndarray) -> None:
    """Multinomial logit over one slate plus a no-click option into ``out``: p_k = e^{u_k} / (e^{u0} + sum_j e^{u_j}).

    util (K,), valid (K,) bool (empty slots get probability 0), out (K,).
    """
    shift = no_click_utility  # shift by the max (no-click included) so exp never overflows
    for k in range(util.size):
        if valid[k] and util[k] > shift:
            shift = util[k]
    total = np.exp(no_click_utility - shift)
    for k in range(util.size):
        out[k] = np.exp(util[k] - shift) if valid[k] else 0.0
        total += out[k]
    for k in range(util.size):
        out[k] /= total


@jit
def choice_row(probs: np.ndarray, uniform: float) -> int:
    """Clicked position (-1 = no click) by inverse CDF: the first position whose cumulative prob exceeds u."""
    cum = 0.0
    for k in range(probs.size):
        cum += probs[k]
        if uniform < cum:
            return k
    return -1


@jit
def ou_coefficients(elapsed: float, reversion: float, std: float) -> tuple[float, float]:
    """(decay, noise scale) of the exact Ornstein-Uhlenbeck transition over ``elapsed`` ticks."""
    decay = np.exp(-reversion * elapsed)
    return decay, std * np.sqrt((1.0 - decay * decay) / (2.0 * reversion))


# ---------------------------------------------------------------- batched forms
@jit
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
    """True utilities: interest (B, D), item_latent (B, M, D), quality/age/boredom_of_topic (B, M) -> (B, M).

    u = w*<z, x> + quality + appeal*2^(-age/half_life) - b*boredom.
    """
    b_, m_, d_ = item_latent.shape
    out = np.empty((b_, m_))
    for b in range(b_):
        for m in range(m_):
            affinity = 0.0
            for d in range(d_):
                affinity += item_latent[b, m, d] * interest[b, d]
            fresh = freshness(age[b, m], freshness_appeal, freshness_half_life)
            out[b, m] = utility(affinity, quality[b, m], fresh, boredom_of_topic[b, m], affinity_weight, boredom_weight)
    return out


@jit
def slate_click_probs(util: np.ndarray, valid: np.ndarray, no_click_utility: float) -> np.ndarray:
    """Multinomial logit per row: util (B, K), valid (B, K) bool -> (B, K); 1 - row sum = P(no click).

    >>> p = slate_click_probs(np.array([[0.0, np.log(2.0)]]), np.array([[True, True]]), 0.0)
    >>> p.round(3).tolist()   # e^0 : e^ln2 : e^0 = 1 : 2 : 1 of 4
    [[0.25, 0.5]]
    """
    out = np.empty(util.shape)
    for b in range(util.shape[0]):
        mnl_row(util[b], valid[b], no_click_utility, out[b])
    return out


@jit
def sample_choice(probs: np.ndarray, uniform: np.ndarray) -> np.ndarray:
    """Clicked position per row (-1 = no click) by inverse CDF: probs (B, K), uniform (B,) in [0, 1).

    >>> sample_choice(np.array([[0.25, 0.5], [0.25, 0.5]]), np.array([0.2, 0.9])).tolist()
    [0, -1]
    """
    out = np.empty(probs.shape[0], np.int64)
    for b in range(probs.shape[0]):
        out[b] = choice_row(probs[b], uniform[b])
    return out


@jit
def ou_advance(
    interest: np.ndarray, anchor: np.ndarray, elapsed: np.ndarray, reversion: float, std: float, normal: np.ndarray
) -> np.ndarray:
    """Exact Ornstein-Uhlenbeck transition over ``elapsed`` ticks (one tick online, a whole gap offline).

    z' = a + (z - a) e^{-theta t} + sigma * sqrt((1 - e^{-2 theta t}) / (2 theta)) * n, with n ~ N(0, I).
    interest, anchor, normal (B, D); elapsed (B,) -> (B, D). For t = 1 and small theta the step std is ~sigma.
    """
    out = np.empty(interest.shape)
    for b in range(interest.shape[0]):
        decay, scale = ou_coefficients(elapsed[b], reversion, std)
        for d in range(interest.shape[1]):
            out[b, d] = anchor[b, d] + (interest[b, d] - anchor[b, d]) * decay + scale * normal[b, d]
    return out


def boredom_decay(boredom: np.ndarray, elapsed: np.ndarray, factor: float) -> np.ndarray:
    """Boredom after ``elapsed`` ticks of geometric fading: b * factor^t. boredom (B, T), elapsed (B,)."""
    return boredom * decay_factor(elapsed, factor)[:, None]


def half_life_factor(ticks: float, half_life: float) -> float:
    """The factor that halves a quantity every ``half_life`` ticks, applied for ``ticks`` ticks."""
    return math.exp2(-ticks / half_life)
