"""Calibration on a tiny MovieLens-format log written from planted parameters, and the calibrated world."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from movielens_fixture import DAY, GAP_DAYS, GENRES, SESSION, SPACING, write_planted_ml100k

from freshrec.simulators.calibration import CalibratedWorld, Calibration, CalibrationConfig, calibrate, toy_calibration
from freshrec.simulators.calibration.moments import fit_drift, fit_session_behaviour
from freshrec.simulators.calibration.world import simulate_log
from freshrec.simulators.config import ConfigError
from freshrec.simulators.data.loaders import load_dataset
from freshrec.simulators.data.movielens import ML100K_GENRES
from freshrec.simulators.data.records import Dataset, Interactions, Item


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, Calibration]:
    truth = write_planted_ml100k(tmp_path_factory.mktemp("planted"))
    dataset, _ = load_dataset(truth.folder)
    return truth, calibrate(dataset, CalibrationConfig(fit_ticks=300))


def _index(cal: Calibration) -> np.ndarray:
    """Planted movie index of each calibrated item."""
    return np.array([int(i) - 1 for i in cal.item_ids])


def test_arrivals_follow_the_first_appearance_in_the_log(planted: tuple) -> None:
    truth, cal = planted
    idx = _index(cal)
    assert np.all(np.diff(cal.item_arrival) >= 0)  # items in order of first appearance
    t0 = truth.debut.min() + 7 * DAY  # the log's first event is the first debut
    expected = (truth.debut[idx] - t0) / DAY * 10.0
    later = slice(cal.initial_items, None)
    np.testing.assert_allclose(cal.item_arrival[later], expected[later], atol=1e-6)
    assert cal.initial_items == int(np.sum(expected <= 0)) == 48
    assert np.all(cal.item_arrival[: cal.initial_items] <= 0)


def test_quality_ranks_like_the_planted_quality(planted: tuple) -> None:
    truth, cal = planted
    planted_q = truth.quality[_index(cal)]
    ranks = [np.argsort(np.argsort(q)) for q in (planted_q, cal.item_quality)]
    spearman = np.corrcoef(*ranks)[0, 1]
    assert spearman > 0.8, spearman


def test_topics_users_and_latents_recover_the_planted_clusters(planted: tuple) -> None:
    truth, cal = planted
    idx = _index(cal)
    assert cal.topic_names == list(GENRES)
    # Movies listed under a decoy second genre still get their own cluster's genre as topic.
    assert np.mean(cal.item_topic == truth.genre[idx]) >= 0.95
    decoys = truth.second_genre[idx]
    assert decoys.sum() >= 10 and np.mean(cal.item_topic[decoys] == truth.genre[idx][decoys]) >= 0.9
    regular = np.array([int(u) <= truth.user_genre.size for u in cal.user_ids])
    planted_user = truth.user_genre[np.array([int(u) - 1 for u, r in zip(cal.user_ids, regular, strict=True) if r])]
    nearest = np.argmax(cal.user_interest[regular] @ cal.centres.T, axis=1)
    assert np.mean(nearest == planted_user) >= 0.9
    # Latents: nearly every movie is, on average, closer to its own cluster than to any other cluster.
    sim = cal.item_latent @ cal.item_latent.T  # (N, N)
    member = truth.genre[idx][None, :] == np.arange(len(GENRES))[:, None]  # (T, N)
    by_cluster = (sim @ member.T) / member.sum(axis=1)  # (N, T) mean similarity to each cluster
    assert np.mean(by_cluster.argmax(axis=1) == truth.genre[idx]) >= 0.9
    np.testing.assert_allclose(np.linalg.norm(cal.item_latent, axis=1), 1.0, atol=1e-5)


def test_session_parameters_come_from_the_real_timestamps(planted: tuple) -> None:
    _, cal = planted
    pause = GAP_DAYS * DAY - (SESSION - 1) * SPACING  # from the last rating of a session to the next session
    assert cal.params["return_gap"]["value"] == pytest.approx(pause / DAY * 10.0)
    assert cal.world_config().users.return_gap == pytest.approx(pause / DAY * 10.0)
    for name, p in cal.params.items():
        assert p["source"], name  # every parameter says where it came from
    assert cal.params["shift_hazard"]["fitted"] is False


def test_drift_fit_recovers_a_planted_drift_size() -> None:
    """Simulate a log with a known drift_std; simulated moments on it pick that value (or a grid neighbour)."""
    cal = toy_calibration(items=60, users=200, dim=8, topics=4, seed=1)
    grid = (0.0, 0.04, 0.16, 0.64)
    for planted_drift, allowed in ((0.0, {0.0, 0.04}), (0.64, {0.64})):
        world = CalibratedWorld(cal, 16, cal.world_config().replace(users__drift_std=planted_drift))
        users, items, times, _ = simulate_log(world, 1500, seed=3)
        fitted = dataclasses.replace(cal, params=dict(cal.params))
        fit_drift(fitted, users, items, times, CalibrationConfig(window=10, drift_grid=grid, fit_ticks=1500,
                                                                  fit_sessions=16), progress=False)  # fmt: skip
        assert fitted.params["drift_std"]["value"] in allowed, fitted.params["drift_std"]
        shifts = list(fitted.params["drift_std"]["grid"].values())
        assert shifts[-1] > shifts[0]  # the statistic can tell drift sizes apart


def test_patience_fit_recovers_a_planted_patience() -> None:
    """Sessions simulated with a known patience: simulated moments on their median length pick it back."""
    cal = toy_calibration(items=60, users=200, dim=8, topics=4, seed=2)
    cal.params["session_length_mean"] = {"value": 10.0}
    cfg = CalibrationConfig(patience_grid=(1.0, 3.0, 12.0), fit_ticks=800, fit_sessions=32)
    times = np.array([cal.t0])  # only the fit's span is read from the log here (fit_ticks fixes it)
    for planted in (1.0, 12.0):
        probe = dataclasses.replace(cal, params=dict(cal.params, session_length_median={"value": 0.0}))
        fit_session_behaviour(probe, np.zeros(1000, np.int64), times, cfg, progress=False)
        hazard = probe.params["leave_hazard"]["value"]
        config = cal.world_config().replace(users__patience=planted, users__patience_max=max(planted, 10.0),
                                            users__leave_hazard=hazard)  # fmt: skip
        _, _, _, clicks = simulate_log(CalibratedWorld(cal, 32, config), 800, cfg.fit_seed)
        median = float(np.median(clicks[clicks > 0]))
        fitted = dataclasses.replace(cal, params=dict(cal.params, session_length_median={"value": median}))
        fit_session_behaviour(fitted, np.zeros(1000, np.int64), times, cfg, progress=False)
        assert fitted.params["patience"]["value"] == planted, fitted.params["patience"]
        assert fitted.world_config().users.patience == planted
    medians = list(fitted.params["patience"]["grid"].values())
    assert medians[-1] > medians[0]  # more patience, longer sessions


def test_save_and_load_round_trip(planted: tuple, tmp_path: Path) -> None:
    _, cal = planted
    cal.save(tmp_path / "cal")
    back = Calibration.load(tmp_path / "cal")
    assert back.params == cal.params and back.item_ids == cal.item_ids
    np.testing.assert_array_equal(back.item_latent, cal.item_latent)
    assert back.world_config() == cal.world_config()


def test_calibrated_world_uses_the_real_items_in_order_and_stops_arriving() -> None:
    cal = toy_calibration()
    world = CalibratedWorld(cal, num_sessions=2)
    state = world.reset(seed=0)
    live = state.catalog.live
    assert int(live.sum()) == cal.initial_items
    np.testing.assert_array_equal(state.catalog.item_id[live], np.arange(cal.initial_items))
    np.testing.assert_array_equal(state.catalog.latent[: cal.initial_items], cal.item_latent[: cal.initial_items])
    arrived: list[int] = []
    for _ in range(60):
        result = world.step(state, np.tile(np.arange(5), (2, 1)))
        arrived += result.arrived.tolist()
        assert result.retired.size == 0  # one slot per real movie: nothing retires
        world.restart(state, result.terminated)
    assert arrived == list(range(cal.initial_items, len(cal.item_ids)))  # every later movie, in order, once
    slot = np.flatnonzero(state.catalog.item_id == len(cal.item_ids) - 1)[0]
    assert state.catalog.arrival[slot] == np.ceil(cal.item_arrival[-1])  # arrives on the first tick at or after
    np.testing.assert_array_equal(state.catalog.latent[slot], cal.item_latent[-1])


def test_calibrated_world_rejects_a_config_that_changes_the_data_sizes() -> None:
    cal = toy_calibration()
    with pytest.raises(ConfigError, match=r"CatalogConfig.slots = 50: the calibrated world fixes it to 40"):
        CalibratedWorld(cal, 1, cal.world_config().replace(catalog__slots=50))
    users = cal.world_config().users.users
    with pytest.raises(ConfigError, match=rf"num_sessions = {users}: must be less than the {users} real users"):
        CalibratedWorld(cal, users)  # not "raise users", which the data fixes
    with pytest.raises(ConfigError, match=r"num_sessions = '2': must be an integer >= 1"):
        CalibratedWorld(cal, "2")  # type: ignore[arg-type]  # once a TypeError from comparing a str with an int


def test_bad_calibration_config_and_too_small_logs_are_named() -> None:
    with pytest.raises(ConfigError, match=r"CalibrationConfig.train_fraction = 0"):
        CalibrationConfig(train_fraction=0)
    with pytest.raises(ConfigError, match=r"CalibrationConfig.fit_seed = 10001"):
        CalibrationConfig(fit_seed=10_001)
    tiny = Interactions(users=np.zeros(3, np.int64), items=np.arange(3), timestamps=np.arange(3.0),
                        kinds=np.zeros(3, np.uint8), values=np.full(3, 4.0, np.float32),
                        user_ids=["u"], item_ids=["a", "b", "c"])  # fmt: skip
    with pytest.raises(ValueError, match=r"holds 2 items and 1 users; a world needs at least 32 items"):
        calibrate(Dataset("tiny", tiny, {i: Item(i, i) for i in "abc"}))


def test_a_raw_ml1m_folder_gives_the_same_world(planted: tuple, tmp_path: Path) -> None:
    """The same log written as ml-1m's ratings.dat / movies.dat calibrates to the same world."""
    truth, cal = planted
    folder = tmp_path / "ml-1m"
    folder.mkdir()
    rows = [line.split("\t") for line in (truth.folder / "u.data").read_text().splitlines()]
    (folder / "ratings.dat").write_text("".join(f"{u}::{i}::{r}::{t}\n" for u, i, r, t in rows))
    movies = []
    for line in (truth.folder / "u.item").read_text(encoding="latin-1").splitlines():
        fields = line.split("|")
        genres = [g for g, flag in zip(ML100K_GENRES, fields[5:], strict=True) if flag == "1"]
        movies.append(f"{fields[0]}::{fields[1]}::{'|'.join(genres)}\n")
    (folder / "movies.dat").write_text("".join(movies), encoding="latin-1")
    dataset, _ = load_dataset(folder)
    other = calibrate(dataset, CalibrationConfig(fit_ticks=300))
    assert other.item_ids == cal.item_ids and other.topic_names == cal.topic_names
    np.testing.assert_allclose(other.item_latent, cal.item_latent, atol=1e-5)
    np.testing.assert_array_equal(other.item_topic, cal.item_topic)
    assert other.world_config() == cal.world_config()
