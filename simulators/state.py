"""The world's state as plain arrays, and what one step returns (responses and ground truth).

Shapes: S item slots, U users, B concurrent sessions, K slate size, M candidates, H history length,
Q skipped-item memory, D latent dimensions, T topics. Times are ticks (float64); item and user ids
are int64 and never reused (a slot's id changes when a new item takes it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Catalog:
    """Item slots. Hidden: latent, quality. Public: id, topic, text, arrival, counts."""

    item_id: np.ndarray  # (S,) int64, -1 for an empty slot
    topic: np.ndarray  # (S,) int64
    latent: np.ndarray  # (S, D) float32, unit rows (hidden)
    quality: np.ndarray  # (S,) float32 (hidden)
    arrival: np.ndarray  # (S,) float64 tick the item arrived
    text: np.ndarray  # (S,) int64 index into the world's TextBank
    live: np.ndarray  # (S,) bool availability mask
    clicks: np.ndarray  # (S,) float32 public click count since arrival
    impressions: np.ndarray  # (S,) float32 public impression count since arrival
    trend: np.ndarray  # (S,) float32 public time-decayed clicks (refreshed every SlateConfig.trending_every)
    trend_pending: np.ndarray  # (S,) float32 clicks since the last refresh
    trending: np.ndarray  # (n_trending,) int64 slots of the current trending list
    next_slot: int  # ring pointer: the next arrival takes this slot modulo S (first in, first out)
    next_item_id: int


@dataclass
class Users:
    """The persistent population. Everything here is hidden except ids and the click history."""

    interest: np.ndarray  # (U, D) float32 current interest z
    anchor: np.ndarray  # (U, D) float32 long-term interest a (z reverts to it)
    anchor_topic: np.ndarray  # (U,) int64 topic the long-term interest was drawn around
    boredom: np.ndarray  # (U, T) float32
    last_seen: np.ndarray  # (U,) float64 tick up to which interest and boredom are current
    last_shift: np.ndarray  # (U,) float64 tick of the latest abrupt shift (-inf: none)
    return_at: np.ndarray  # (U,) float64 tick the user wants to come back (offline users)
    session: np.ndarray  # (U,) int64 index of the session slot serving the user, -1 when offline
    sessions: np.ndarray  # (U,) int64 sessions started so far
    # Click history, newest first: what the platform logged about the user's clicks.
    hist_item: np.ndarray  # (U, H) int64 item id, -1 = padding
    hist_text: np.ndarray  # (U, H) int64
    hist_topic: np.ndarray  # (U, H) int64
    hist_age: np.ndarray  # (U, H) float32 the item's age when clicked
    hist_time: np.ndarray  # (U, H) float64 tick of the click
    hist_engagement: np.ndarray  # (U, H) float32


@dataclass
class Sessions:
    """B concurrent session slots; each serves one user until the user leaves or the session is cut."""

    user: np.ndarray  # (B,) int64
    session_id: np.ndarray  # (B,) int64, unique within the world
    step: np.ndarray  # (B,) int64 steps taken in this session
    clicks: np.ndarray  # (B,) int64
    reward: np.ndarray  # (B,) float64 summed reward
    patience: np.ndarray  # (B,) float32 (hidden)
    shifted: np.ndarray  # (B,) bool an abrupt shift hit the user since their previous step
    gap: np.ndarray  # (B,) float64 ticks the user was away before this session (0 for a first session)
    candidates: np.ndarray  # (B, M) int64 slots offered now
    candidate_valid: np.ndarray  # (B, M) bool
    # The last Q slate positions shown, newest first; clicked positions and empty slots are masked out.
    skip_item: np.ndarray  # (B, Q) int64
    skip_text: np.ndarray  # (B, Q) int64
    skip_topic: np.ndarray  # (B, Q) int64
    skip_age: np.ndarray  # (B, Q) float32
    skip_valid: np.ndarray  # (B, Q) bool


@dataclass
class WorldState:
    """Everything the world is; two states built from the same seed are equal array for array."""

    time: float  # ticks since reset; one step of every session takes one tick
    catalog: Catalog
    users: Users
    sessions: Sessions
    rng: np.random.Generator  # endogenous draws (choices, engagement, leaving, gradual drift, returns)
    exo: np.random.Generator  # exogenous draws (arrivals, abrupt shifts): identical for every agent
    cand: np.random.Generator  # the candidate sampler's draws
    ret: np.random.Generator  # return gaps and the closed-form drift of returning users
    centres: np.ndarray  # (T, D) float32 hidden topic centres
    next_session_id: int
    arrival_buffer: dict[str, np.ndarray]  # pre-drawn attributes of the next arrivals, consumed in order
    arrival_cursor: int
    shift_buffer: dict[str, np.ndarray]  # pre-drawn abrupt shifts (times, users, topics, new interests)
    shift_cursor: int
    sample: np.ndarray  # (B, R) int64 this tick's uniform candidate sample per session slot
    sample_time: float  # the tick ``sample`` was drawn for
    sample_pool: int  # the number of live items ``sample`` was drawn from


@dataclass(slots=True)  # not frozen: a frozen dataclass's __init__ costs ~2 us, a tenth of a small step
class StepResult:
    """What one world step produced: responses (public) and ground truth (hidden), arrays over sessions."""

    slots: np.ndarray  # (B, K) int64 slots shown, -1 for an empty position
    item_ids: np.ndarray  # (B, K) int64, -1 for an empty position
    topics: np.ndarray  # (B, K) int64, -1 for an empty position
    ages: np.ndarray  # (B, K) float32 ticks since each shown item arrived (0 for an empty position)
    repeated: np.ndarray  # (B, K) bool position repeats an earlier one (shown as empty)
    clicked: np.ndarray  # (B,) int64 clicked position, -1 none
    engagement: np.ndarray  # (B,) float32
    reward: np.ndarray  # (B,) float32
    terminated: np.ndarray  # (B,) bool the user left
    click_prob: np.ndarray  # (B, K) float32 true MNL probabilities of the shown slate
    relevance: np.ndarray  # (B, M) float32 true solo click probability of every candidate
    shifted: np.ndarray  # (B,) bool the step was the user's first after an abrupt shift
    time: float  # tick at which the slate was shown
    arrived: np.ndarray  # (A,) int64 item ids that arrived after the step
    retired: np.ndarray  # (R,) int64 item ids they replaced
    shift_users: np.ndarray  # (E,) int64 users whose long-term interest shifted during the tick
    shift_topics: np.ndarray  # (E,) int64 their new topics
    shift_before: np.ndarray  # (E, D) float32 long-term interest before
    shift_after: np.ndarray  # (E, D) float32 long-term interest after
