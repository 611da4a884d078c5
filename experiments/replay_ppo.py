"""The PPO policy trained in the calibrated world, replayed on the real log as a ranker of the catalog.

The policy scores candidates from public features only, so it can rank any movie, including those
that arrive after its training world's calibration window: each real event becomes observations
of the same shape as the env's, built from the real log with the calibration's clock
(``t0``, ``ticks_per_day``):

- candidates: every available movie, 20 at a time in the candidate slots 12-31 (the slots the
  world's generator fills with uniformly sampled items, so no movie poses as "newest" or
  "trending"); slots 0-11 are masked. Token: the movie's text features (MiniLM, projected with the
  world's own PCA map, fitted on the calibration's texts), log1p of its age in ticks, log1p of its
  real events so far (the platform's click count) and log1p of clicks / the calibration's pilot
  click rate (a rating log has no impressions; this is what the world's counts would show).
- history: the user's 16 latest events, newest first: text, log1p age when rated, engagement 0.5
  (a rating log has no watch time), log1p ticks since.
- context: events so far in the current session (ratings less than an hour apart) for both the
  step and click counts, log1p earlier sessions, log1p ticks since the previous session.

With the default policy (no candidate self-attention) a candidate's score depends on the user's
tokens and its own, not on the other candidates in its chunk; it does depend on its slot's learned
embedding, one of the 20 interchangeable "sampled" slots.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from gymnasium import spaces

from freshrec.envs.features import Projection
from freshrec.envs.text.encoder import make_encoder
from freshrec.experiments.replay_log import HistoryScorer, ReplayLog
from freshrec.simulators.calibration import calibrated
from freshrec.simulators.calibration.moments import DAY

SAMPLED = slice(12, 32)  # the generator's uniformly sampled candidate slots (after 6 newest and 6 trending)
ENGAGEMENT = 0.5  # unknown in a rating log


class PPOScorer(HistoryScorer):
    """A saved PPO model (``best_model.zip``) trained on ``freshrec/MovieLens100K-v0``, as a replay scorer."""

    name = "ppo"

    def __init__(self, model: str | Path, data: str = "ml-100k", encoder: str = "minilm") -> None:
        from freshrec.agents.ppo.agent import load_policy

        self.policy = load_policy(model, device="cpu", encoder=encoder)  # refuses one trained on other items
        self.data, self.encoder = data, encoder
        space = self.policy.observation_space
        assert isinstance(space, spaces.Dict)
        width = {key: int(np.prod(box.shape or (0,))) for key, box in space.spaces.items()}
        self.m, self.h, self.q = width["candidate_mask"], width["history_mask"], width["skipped_mask"]
        self.f = width["candidate_features"] // self.m

    def fit(self, train: ReplayLog) -> None:
        super().fit(train)
        cal = calibrated(self.data)
        self.t0, self.tpd = cal.t0, cal.ticks_per_day
        self.rate = float(cal.params["pilot_click_rate"]["value"])
        self.gap = 3600.0  # seconds: the calibration's session gap
        p = self.f - 3
        encoder = make_encoder(self.encoder)
        projection = Projection.fit(encoder.encode(list(cal.item_text)).astype(np.float64), p)
        texts = [t if t else "unknown" for t in train.item_texts]
        self.text = projection(encoder.encode(texts).astype(np.float64))  # (I, P)
        self.first_seen = train.first_seen_time.copy()  # seconds; inf until the item's first event
        self.times: list[list[float]] = [[] for _ in range(train.num_users)]
        for user, t in zip(train.users.tolist(), train.timestamps.tolist(), strict=True):
            self.times[user].append(t)

    def observe(self, user: int, item: int, now: float) -> None:
        super().observe(user, item, now)
        self.times[user].append(now)
        self.first_seen[item] = min(self.first_seen[item], now)

    def _ticks(self, seconds: np.ndarray | float) -> np.ndarray:
        return np.maximum((np.asarray(seconds, np.float64)) / DAY * self.tpd, 0.0)

    def _user_tokens(self, user: int, now: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """History features (H, F), history mask (H,), context (4,)."""
        items = self.histories[user][-self.h :][::-1]  # newest first
        times = np.array(self.times[user][-self.h :][::-1])
        hist = np.zeros((self.h, self.f), np.float32)
        n = len(items)
        if n:
            idx = np.array(items)
            hist[:n, : self.f - 3] = self.text[idx]
            hist[:n, -3] = np.log1p(self._ticks(times - self.first_seen[idx]))
            hist[:n, -2] = ENGAGEMENT
            hist[:n, -1] = np.log1p(self._ticks(now - times))
        mask = np.arange(self.h) < n
        # Sessions: runs of events less than ``gap`` apart; the current one continues if the last event is recent.
        all_times = np.array(self.times[user])
        breaks = np.flatnonzero(np.diff(all_times) > self.gap) + 1 if all_times.size else np.zeros(0, np.int64)
        in_session = 0
        sessions_before = breaks.size + (1 if all_times.size else 0)
        gap = 0.0
        if all_times.size and now - all_times[-1] <= self.gap:  # the current session goes on
            start = breaks[-1] if breaks.size else 0
            in_session = all_times.size - start
            sessions_before -= 1
            if breaks.size:
                gap = float(self._ticks(all_times[start] - all_times[start - 1]))
        elif all_times.size:
            gap = float(self._ticks(now - all_times[-1]))
        context = np.array([in_session, in_session, np.log1p(sessions_before), np.log1p(gap)], np.float32)
        return hist, mask, context

    @torch.no_grad()
    def scores(self, user: int, now: float) -> np.ndarray:
        out = np.full(self.num_items, -1e9)  # finite: unavailable items (the replay removes them anyway)
        avail = np.flatnonzero(self.first_seen < now)
        width = SAMPLED.stop - SAMPLED.start
        chunks = -(-avail.size // width)
        if chunks == 0:
            return out
        hist, hmask, context = self._user_tokens(user, now)
        p = self.f - 3
        cand = np.zeros((chunks, self.m, self.f), np.float32)
        cmask = np.zeros((chunks, self.m), np.int8)
        padded = np.full(chunks * width, -1)
        padded[: avail.size] = avail
        block = padded.reshape(chunks, width)
        valid = block >= 0
        safe = np.maximum(block, 0)
        tokens = np.zeros((chunks, width, self.f), np.float32)
        tokens[:, :, :p] = self.text[safe]
        tokens[:, :, p] = np.log1p(self._ticks(now - self.first_seen[safe]))
        tokens[:, :, p + 1] = np.log1p(self.counts[safe])
        tokens[:, :, p + 2] = np.log1p(self.counts[safe] / self.rate)
        cand[:, SAMPLED] = tokens * valid[:, :, None]
        cmask[:, SAMPLED] = valid
        obs: dict[str, np.ndarray] = {
            "candidate_features": cand.reshape(chunks, -1),
            "candidate_mask": cmask,
            "candidate_ids": np.where(cmask == 1, 0, -1),
            "candidate_topics": np.zeros((chunks, self.m), np.int64),
            "history_features": np.broadcast_to(hist.reshape(1, -1), (chunks, self.h * self.f)).copy(),
            "history_mask": np.broadcast_to(hmask.astype(np.int8), (chunks, self.h)).copy(),
            "history_ids": np.full((chunks, self.h), -1, np.int64),
            "history_topics": np.full((chunks, self.h), -1, np.int64),
            "skipped_features": np.zeros((chunks, self.q * self.f), np.float32),
            "skipped_mask": np.zeros((chunks, self.q), np.int8),
            "skipped_ids": np.full((chunks, self.q), -1, np.int64),
            "skipped_topics": np.full((chunks, self.q), -1, np.int64),
            "user_id": np.zeros((chunks, 1), np.int64),
            "context": np.broadcast_to(context, (chunks, context.size)).copy(),
        }
        tensor, _ = self.policy.obs_to_tensor(obs)
        logits = self.policy.score(tensor).cpu().numpy()[:, SAMPLED]  # (chunks, 20)
        out[block[valid]] = logits[valid]
        return out
