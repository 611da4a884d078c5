"""Fit a world to a real interaction log (MovieLens): items, their arrivals, users and the drift size.

What comes from where (every value is also written to ``Calibration.params`` with its source):

- **Calibration window.** Only the first ``train_fraction`` of events by time (80%) is read, so the
  later 20%, the replay's test period, stays unseen by anything trained in the calibrated world.
- **Items** are the movies seen in that window, in order of first appearance. Hidden latent:
  the item factors of a rank-D truncated SVD (``scipy.sparse.linalg.svds``) of the binary user x
  item matrix, scaled by the square root of the singular values and set to unit norm (the world's
  affinity is a cosine). Topic: of the movie's genres, the one whose centre (mean latent of that
  genre's movies) is nearest. Quality: the Bayesian-average rating (``rating_prior`` pseudo-ratings
  at the global mean), z-scored and scaled to the world's ``quality_std``. Arrival: tick
  ``(first_seen - t0) * ticks_per_day``, with t0 ``start_days`` after the first event; movies first
  seen before t0 form the initial catalog.
- **Users** are the users active in the window. Initial interest: the unit mean latent of their first
  ``first_interactions`` movies; topic: the most common topic among them.
- **Sessions** are runs of a user's ratings less than ``session_gap_hours`` apart. The mean return gap
  is the median gap between a user's sessions; the leave hazard makes the mean clicks per session
  match the real mean session length at the click rate of a pilot simulation (geometric sessions);
  then patience by simulated moments: the value on ``patience_grid`` whose simulated median session
  length (clicks) is closest to the real median.
- **Gradual drift** (``drift_std``) by simulated moments: for each value on ``drift_grid`` the world
  runs under the logging policy (``logging_power``), and the value whose mean interest shift per ``window``
  clicks (1 - cosine of consecutive windows' mean item vectors) is closest to the real one wins.
- Not fitted, kept at the synthetic defaults (MovieLens ratings cannot separate them): abrupt shift
  hazard, consumption pull, boredom, freshness appeal, the choice model's weights.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from freshrec.simulators.calibration.moments import DAY, fit_drift, fit_session_behaviour, fit_sessions, param
from freshrec.simulators.catalog import unit
from freshrec.simulators.config import CatalogConfig, ConfigError, UserConfig, WorldConfig, _check
from freshrec.simulators.data.records import Dataset


@dataclass(frozen=True)
class CalibrationConfig:
    """How a world is fitted to a log. A bad value raises ``ConfigError`` naming field, value and range."""

    latent_dim: int = 16
    """Rank of the factorisation, and the world's latent size."""
    train_fraction: float = 0.8
    """Fit on the first fraction of events by time; the rest (the replay's test period) stays unseen."""
    start_days: float = 7.0
    """Tick 0 is this many days after the first event; movies first seen before it are the initial catalog."""
    ticks_per_day: float = 10.0
    """Simulated ticks per real day (the clock of arrivals and return gaps)."""
    first_interactions: int = 20
    """A user's initial interest is fitted on this many of their first movies."""
    session_gap_hours: float = 1.0
    """A gap longer than this between two ratings of a user starts a new session."""
    window: int = 50
    """Interactions per window of the interest-shift statistic."""
    rating_prior: float = 10.0
    """Pseudo-ratings at the global mean in each movie's Bayesian-average rating."""
    drift_grid: tuple[float, ...] = (0.0, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32)
    """Candidate values of ``UserConfig.drift_std`` tried by simulated moments."""
    patience_grid: tuple[float, ...] = (2.0, 3.0, 5.0, 8.0, 12.0, 20.0, 40.0)
    """Candidate values of ``UserConfig.patience`` tried by simulated moments (median session length)."""
    fit_ticks: int = 0
    """Ticks of each simulation of the fit; 0: as many as the calibration window spans (as the validation runs)."""
    fit_sessions: int = 64
    """Concurrent sessions of the pilot run (at most a quarter of the users); the drift fit then takes as many
    as give the simulated log the real log's volume."""
    logging_power: float = 0.0
    """Popularity bias of the logging policy in the fit: slates drawn with weight (1 + clicks)^power (0: uniform
    over the candidates, whose generator already mixes the newest, trending and random items)."""
    fit_seed: int = 4_242
    """Seed of the drift fit's simulations: a training-range seed, never an evaluation seed (10001-10005)."""

    def __post_init__(self) -> None:
        _check(self, "latent_dim", 2, 256, integer=True)
        _check(self, "train_fraction", 0.0, 1.0, low_open=True)
        _check(self, "start_days", 0.0, 1e5)
        _check(self, "ticks_per_day", 0.0, 1e6, low_open=True)
        _check(self, "first_interactions", 1, 1_000_000, integer=True)
        _check(self, "session_gap_hours", 0.0, 1e6, low_open=True)
        _check(self, "window", 1, 1_000_000, integer=True)
        _check(self, "rating_prior", 0.0, 1e6)
        _check(self, "fit_ticks", 0, 10_000_000, integer=True)
        _check(self, "fit_sessions", 1, 100_000, integer=True)
        _check(self, "fit_seed", 0, 9_999, integer=True)
        _check(self, "logging_power", 0.0, 10.0)
        if not self.patience_grid or any(
            not isinstance(v, int | float) or not 0 < v <= 1e6 for v in self.patience_grid
        ):
            raise ConfigError(f"CalibrationConfig.patience_grid = {self.patience_grid!r}: must be numbers in (0, 1e6]")
        if not self.drift_grid or any(not isinstance(v, int | float) or not 0 <= v <= 10 for v in self.drift_grid):
            raise ConfigError(f"CalibrationConfig.drift_grid = {self.drift_grid!r}: must be numbers in [0, 10]")


@dataclass
class Calibration:
    """A world's make-up fitted to a log. Items are in order of first appearance; arrays are float32/int64."""

    name: str
    item_ids: list[str]  # (N,) the log's item ids
    item_text: list[str]  # (N,) title and genres, for the text encoder
    item_topic: np.ndarray  # (N,) int64 index into topic_names
    item_latent: np.ndarray  # (N, D) float32 unit rows (hidden)
    item_quality: np.ndarray  # (N,) float32 (hidden)
    item_arrival: np.ndarray  # (N,) float64 ticks, non-decreasing; <= 0 for the initial catalog
    initial_items: int
    user_ids: list[str]  # (U,)
    user_interest: np.ndarray  # (U, D) float32 unit rows
    user_topic: np.ndarray  # (U,) int64
    centres: np.ndarray  # (T, D) float32 unit rows: mean latent of each topic's movies
    topic_names: list[str]  # (T,)
    params: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> {value, source}
    t0: float = 0.0  # seconds: the real time of tick 0
    ticks_per_day: float = 10.0

    def world_config(self) -> WorldConfig:
        """The synthetic defaults with the real sizes and every fitted value put in."""
        fitted = {k: v["value"] for k, v in self.params.items() if v.get("fitted")}
        base = WorldConfig()
        names = ("drift_std", "leave_hazard", "return_gap", "patience")
        changes = {k: fitted[k] for k in names if k in fitted}
        if "patience" in changes:  # the cap on patience must not be below the starting patience
            changes["patience_max"] = max(changes["patience"], base.users.patience_max)
        users = dataclasses.replace(base.users, users=len(self.user_ids), **changes)
        n = len(self.item_ids)
        later = self.item_arrival[self.initial_items :]
        span = float(later[-1]) if later.size else 0.0
        catalog = dataclasses.replace(
            base.catalog,
            slots=n,
            initial_items=self.initial_items,
            topics=len(self.topic_names),
            latent_dim=int(self.item_latent.shape[1]),
            arrival_rate=later.size / span if span > 0 else 0.0,  # descriptive: arrivals follow the real list
        )
        return dataclasses.replace(base, catalog=catalog, users=users)

    # ---------------------------------------------------------------- files
    def save(self, folder: Path) -> None:
        """``arrays.npz`` and ``calibration.json`` (ids, texts, topics, fitted parameters with their sources)."""
        folder.mkdir(parents=True, exist_ok=True)
        arrays = {k: getattr(self, k) for k in ARRAYS}
        np.savez(folder / "arrays.npz", **arrays)
        meta = {k: getattr(self, k) for k in ("name", "item_ids", "item_text", "initial_items", "user_ids",
                                              "topic_names", "params", "t0", "ticks_per_day")}  # fmt: skip
        (folder / "calibration.json").write_text(json.dumps(meta, indent=1))

    @staticmethod
    def load(folder: Path) -> Calibration:
        meta = json.loads((folder / "calibration.json").read_text())
        with np.load(folder / "arrays.npz") as arrays:
            return Calibration(**meta, **{k: arrays[k] for k in ARRAYS})


ARRAYS = ("item_topic", "item_latent", "item_quality", "item_arrival", "user_interest", "user_topic", "centres")


def calibrate(dataset: Dataset, config: CalibrationConfig | None = None, progress: bool = False) -> Calibration:
    """Fit a world to ``dataset`` (a MovieLens-like log with ratings and genres); see the module docstring."""
    cfg = config or CalibrationConfig()
    log = dataset.interactions.time_ordered()
    n_all = len(log)
    cut = int(cfg.train_fraction * n_all)  # as the replay splits: the events before index cut
    users, items, times = log.users[:cut], log.items[:cut], log.timestamps[:cut]
    ratings = log.values[:cut].astype(np.float64)

    # Items in order of first appearance; codes remapped to 0..N-1 in that order.
    first = np.full(log.num_items, np.inf)
    np.minimum.at(first, items, times)
    seen = np.flatnonzero(np.isfinite(first))
    order = seen[np.argsort(first[seen], kind="stable")]
    n = order.size
    remap = np.full(log.num_items, -1, np.int64)
    remap[order] = np.arange(n)
    items = remap[items]
    ucodes, users = np.unique(users, return_inverse=True)  # active users, codes 0..U-1
    n_users = ucodes.size
    if n < 32 or n_users < 8:
        raise ValueError(
            f"{dataset.name}: the calibration window holds {n} items and {n_users} users; a world needs at least "
            "32 items (one screen of candidates) and 8 users"
        )

    latent = _item_latents(users, items, n_users, n, cfg.latent_dim)
    genres, topic_names = genre_membership(dataset, [log.item_ids[i] for i in order])
    centres = unit(np.stack([latent[genres[:, g]].mean(axis=0) for g in range(len(topic_names))])).astype(np.float32)
    # Of each movie's genres, the one whose centre is nearest; (N, T) scores masked to its genres.
    topic = np.argmax(np.where(genres, latent @ centres.T, -np.inf), axis=1).astype(np.int64)
    quality, quality_source = _quality(items, ratings, n, cfg.rating_prior)

    t0 = float(times[0]) + cfg.start_days * DAY
    arrival = (first[order] - t0) / DAY * cfg.ticks_per_day
    n0 = max(int(np.sum(arrival <= 0)), 32)
    arrival[:n0] = np.minimum(arrival[:n0], 0.0)  # at least one screen of candidates at tick 0

    # Users: interest from their first interactions (rows are time-ordered already).
    by_user = np.lexsort((np.arange(users.size), users))
    starts = np.searchsorted(users[by_user], np.arange(n_users))
    rank = np.arange(users.size) - starts[users[by_user]]
    early = by_user[rank < cfg.first_interactions]
    interest = np.zeros((n_users, cfg.latent_dim))
    np.add.at(interest, users[early], latent[items[early]])
    interest = unit(interest).astype(np.float32)
    votes = np.zeros((n_users, len(topic_names)))
    np.add.at(votes, (users[early], topic[items[early]]), 1.0)
    user_topic = votes.argmax(axis=1).astype(np.int64)

    cal = Calibration(
        name=dataset.name, item_ids=[log.item_ids[i] for i in order],
        item_text=[dataset.items[log.item_ids[i]].text if log.item_ids[i] in dataset.items else log.item_ids[i]
                   for i in order],
        item_topic=topic, item_latent=latent, item_quality=quality, item_arrival=arrival, initial_items=n0,
        user_ids=[log.user_ids[u] for u in ucodes], user_interest=interest, user_topic=user_topic,
        centres=centres, topic_names=topic_names, t0=t0, ticks_per_day=cfg.ticks_per_day,
    )  # fmt: skip
    window = f"the first {cut:,} of {n_all:,} events by time (train_fraction {cfg.train_fraction})"
    cal.params = {
        "items": param(n, f"movies seen in {window}"),
        "initial_items": param(n0, f"movies first seen before t0 = first event + {cfg.start_days} days (min 32)"),
        "users": param(n_users, f"users active in {window}"),
        "latent_dim": param(cfg.latent_dim, "rank of the truncated SVD of the binary user x movie matrix"),
        "quality": param({"min": float(quality.min()), "max": float(quality.max())}, quality_source),
        "topics": param(len(topic_names), "genres; each movie's topic is its genre with the nearest centre"),
    }
    fit_sessions(cal, users, times, cfg)
    fit_session_behaviour(cal, users, times, cfg, progress)
    fit_drift(cal, users, items, times, cfg, progress)
    for name, why in (("shift_hazard", "abrupt shifts"), ("consumption_pull", "consumption-driven drift"),
                      ("boredom_weight", "boredom")):  # fmt: skip
        cal.params[name] = param(getattr(UserConfig(), name), f"synthetic default: ratings do not identify {why}",
                                  fitted=False)  # fmt: skip
    cal.params["freshness_appeal"] = param(CatalogConfig().freshness_appeal, "synthetic default", fitted=False)
    return cal


def _item_latents(users: np.ndarray, items: np.ndarray, n_users: int, n_items: int, dim: int) -> np.ndarray:
    """(N, D) unit item factors of the binary (U, N) interaction matrix: V sqrt(S) of a truncated SVD."""
    import scipy.sparse as sp
    from scipy.sparse.linalg import svds

    matrix = sp.csr_matrix((np.ones(users.size), (users, items)), shape=(n_users, n_items))
    matrix.data[:] = 1.0  # repeated ratings of a movie count once
    k = min(dim, min(matrix.shape) - 1)
    # A fixed start vector: ARPACK's default is random, and the world must be the same on every machine.
    _, s, vt = svds(matrix, k=k, v0=np.ones(min(matrix.shape)) / np.sqrt(min(matrix.shape)))
    vectors = vt.T * np.sqrt(s)
    vectors *= np.sign(vectors.sum(axis=0, keepdims=True) + 1e-12)  # a fixed sign per component
    if k < dim:
        vectors = np.pad(vectors, ((0, 0), (0, dim - k)))
    return unit(vectors).astype(np.float32)


def genre_membership(dataset: Dataset, item_ids: list[str]) -> tuple[np.ndarray, list[str]]:
    """(N, T) bool genre membership of the movies ``item_ids``, and the genre names (movies without: 'unknown')."""
    cats = [dataset.items[i].categories if i in dataset.items else () for i in item_ids]
    cats = [c if c else ("unknown",) for c in cats]
    names = sorted({g for c in cats for g in c})
    index = {g: t for t, g in enumerate(names)}
    member = np.zeros((len(cats), len(names)), bool)
    for row, c in enumerate(cats):
        member[row, [index[g] for g in c]] = True
    return member, names


def _quality(items: np.ndarray, ratings: np.ndarray, n: int, prior: float) -> tuple[np.ndarray, str]:
    """(N,) z-scored Bayesian-average ratings times the world's quality_std; zeros when the log has none."""
    rated = np.isfinite(ratings)
    if not rated.any():
        return np.zeros(n, np.float32), "no ratings in the log: every movie's quality is 0"
    mean = float(ratings[rated].mean())
    total = np.bincount(items[rated], ratings[rated], minlength=n)
    count = np.bincount(items[rated], minlength=n)
    shrunk = (total + prior * mean) / (count + prior)
    z = (shrunk - shrunk.mean()) / max(float(shrunk.std()), 1e-12)
    std = CatalogConfig().quality_std
    source = f"Bayesian-average rating ({prior:g} pseudo-ratings at the mean {mean:.2f}), z-scored x quality_std {std}"
    return (std * z).astype(np.float32), source


def toy_calibration(items: int = 40, users: int = 12, dim: int = 4, topics: int = 3, seed: int = 0) -> Calibration:
    """A small random calibration (no data needed), for examples and tests of the calibrated world."""
    gen = np.random.default_rng(seed)
    centres = unit(gen.standard_normal((topics, dim))).astype(np.float32)
    topic = gen.integers(topics, size=items)
    latent = unit(centres[topic] + 0.3 * gen.standard_normal((items, dim))).astype(np.float32)
    user_topic = gen.integers(topics, size=users)
    n0 = 32
    arrival = np.concatenate([np.linspace(-50, 0, n0), np.arange(1, items - n0 + 1) * 3.0])
    return Calibration(
        name="toy", item_ids=[str(i) for i in range(items)], item_text=[f"movie {i} | genre {t}" for i, t in enumerate(topic)],
        item_topic=topic.astype(np.int64), item_latent=latent,
        item_quality=(0.5 * gen.standard_normal(items)).astype(np.float32), item_arrival=arrival, initial_items=n0,
        user_ids=[str(u) for u in range(users)], user_interest=centres[user_topic], user_topic=user_topic.astype(np.int64),
        centres=centres, topic_names=[f"genre {t}" for t in range(topics)],
    )  # fmt: skip
