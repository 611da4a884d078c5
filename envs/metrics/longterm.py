"""Long-term value: per-session return, length and engagement, and whether users come back for another session.

A session is a (user_id, session_id) group of rows. It is *completed* when both its first step (session_step 0)
and its last step (terminated or truncated) lie in the recording, so its sums are over the whole session; a
session already running when the recording started, or still running when it stopped, is left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from freshrec.envs.metrics.accuracy import mean_or_nan

if TYPE_CHECKING:
    from freshrec.envs.metrics.log import StepLog


@dataclass(frozen=True, eq=False)
class Sessions:
    """Per-session aggregates, one entry per (user_id, session_id) in the log (G sessions)."""

    user_id: npt.NDArray[np.int64]  # (G,)
    session_id: npt.NDArray[np.int64]  # (G,)
    first_row: npt.NDArray[np.int64]  # (G,) row index of the session's first recorded step
    last_row: npt.NDArray[np.int64]  # (G,) row index of its last recorded step
    steps: npt.NDArray[np.int64]  # (G,) recorded steps
    reward: npt.NDArray[np.float64]  # (G,) summed reward
    engagement: npt.NDArray[np.float64]  # (G,) summed engagement
    completed: npt.NDArray[np.bool_]  # (G,) started (session_step 0) and ended (terminated | truncated) in the log


def sessions(log: StepLog) -> Sessions:
    """Group rows into sessions by (user_id, session_id) and sum reward and engagement per session."""
    s = log.num_steps
    rows = np.arange(s)
    # Stable on recording order within a session, so first/last rows are the session's first/last recorded steps.
    order = np.lexsort((rows, log.session_id, log.user_id))
    u, sid = log.user_id[order], log.session_id[order]
    if s == 0:
        z = np.zeros(0, np.int64)
        return Sessions(z, z, z, z, z, np.zeros(0), np.zeros(0), np.zeros(0, np.bool_))
    starts = np.flatnonzero(np.r_[True, (u[1:] != u[:-1]) | (sid[1:] != sid[:-1])])  # (G,)
    ends = np.r_[starts[1:], s]
    first, last = order[starts], order[ends - 1]
    done = log.terminated | log.truncated
    return Sessions(
        user_id=u[starts],
        session_id=sid[starts],
        first_row=first,
        last_row=last,
        steps=(ends - starts).astype(np.int64),
        reward=np.add.reduceat(log.reward[order].astype(np.float64), starts),
        engagement=np.add.reduceat(log.engagement[order].astype(np.float64), starts),
        completed=(log.session_step[first] == 0) & done[last],
    )


def session_return(log: StepLog) -> float:
    """return = mean over completed sessions of the summed reward."""
    g = sessions(log)
    return mean_or_nan(g.reward[g.completed])


def session_length(log: StepLog) -> float:
    """session_length = mean over completed sessions of the number of steps."""
    g = sessions(log)
    return mean_or_nan(g.steps[g.completed].astype(np.float64))


def engagement_per_session(log: StepLog) -> float:
    """engagement_per_session = mean over completed sessions of the summed engagement."""
    g = sessions(log)
    return mean_or_nan(g.engagement[g.completed])


def cumulative_engagement(log: StepLog) -> float:
    """cumulative_engagement = sum of engagement over all recorded steps."""
    return float(log.engagement.astype(np.float64).sum())


def return_rate(log: StepLog) -> float:
    """return_rate = share of users with a completed session whose first completed one is followed by another session.

    "Followed" means a session of the same user whose first recorded step comes after that session's last step in
    recording order (a user runs one session at a time, so this is a later session). Users without a completed
    session are not counted; a user whose first completed session ends the recording counts as not returning.
    """
    g = sessions(log)
    if not g.completed.any():
        return float("nan")
    users, user_of = np.unique(g.user_id, return_inverse=True)  # (U,), (G,)
    first_end = np.full(len(users), np.iinfo(np.int64).max)
    np.minimum.at(first_end, user_of[g.completed], g.last_row[g.completed])  # end row of each first completed session
    latest_start = np.full(len(users), -1)
    np.maximum.at(latest_start, user_of, g.first_row)  # start row of each user's last session
    has_done = first_end < np.iinfo(np.int64).max
    return float(np.mean(latest_start[has_done] > first_end[has_done]))
