"""The fits that need the world itself: sessions from the real timestamps, then leave hazard, patience
and gradual drift by simulated moments (run the calibrated world under the fit's logging policy, keep
the grid value whose simulated statistic is closest to the real one). Each fitted value is written to
``Calibration.params`` with its source; see ``fit.py`` for the whole procedure.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from freshrec.simulators.calibration.world import CalibratedWorld, simulate_log
from freshrec.simulators.config import UserConfig
from freshrec.simulators.logstats import interest_shift, sessions

if TYPE_CHECKING:
    from freshrec.simulators.calibration.fit import Calibration, CalibrationConfig

DAY = 86_400.0


def param(value: Any, source: str, fitted: bool = True, **extra: Any) -> dict[str, Any]:
    """One entry of ``Calibration.params``: the value, where it came from, whether it was fitted to data."""
    return {"value": value, "source": source, "fitted": fitted, **extra}


def fit_sessions(cal: Calibration, users: np.ndarray, times: np.ndarray, cfg: CalibrationConfig) -> None:
    lengths, gaps = sessions(users, times, cfg.session_gap_hours * 3600.0)
    where = f"{lengths.size:,} real sessions (split at gaps > {cfg.session_gap_hours:g} h)"
    cal.params["session_length_mean"] = param(float(lengths.mean()), where, fitted=False)
    cal.params["session_length_median"] = param(float(np.median(lengths)), where, fitted=False)
    if gaps.size:
        gap = float(np.median(gaps)) / DAY * cfg.ticks_per_day
        cal.params["return_gap"] = param(max(gap, 1e-3), f"median of {gaps.size:,} real gaps between a user's "
                                          f"sessions, {np.median(gaps) / DAY:.2f} days x {cfg.ticks_per_day:g} "
                                          "ticks/day")  # fmt: skip


def fit_session_behaviour(
    cal: Calibration, users: np.ndarray, times: np.ndarray, cfg: CalibrationConfig, progress: bool
) -> None:
    """Leave hazard, patience and the simulation's concurrency, from the real sessions (simulated moments).

    A pilot run's click rate turns the real mean session length into a leave hazard (geometric
    sessions); then patience (unanswered slates before the user leaves) is the value on
    ``patience_grid`` whose simulated median session length, in clicks, is closest to the real median.
    """
    sessions_ = max(1, min(cfg.fit_sessions, len(cal.user_ids) // 4))
    ticks = fit_ticks(cal, times, cfg)
    u, _, _, _ = simulate_log(CalibratedWorld(cal, sessions_), ticks, cfg.fit_seed, power=cfg.logging_power)
    rate = u.size / (ticks * sessions_)
    cal.params["pilot_click_rate"] = param(rate, "clicks per session-tick of the pilot run (synthetic defaults, "
                                            "the fit's logging policy)", fitted=False)  # fmt: skip
    mean_length = cal.params["session_length_mean"]["value"]
    hazard = float(np.clip(rate / mean_length, 1e-3, 1.0))
    cal.params["leave_hazard"] = param(hazard, f"pilot click rate {rate:.3f} / real mean session length "
                                        f"{mean_length:.1f} ratings (geometric sessions)")  # fmt: skip
    target = cal.params["session_length_median"]["value"]
    tried: list[tuple[float, float, float]] = []  # (patience, simulated median clicks per session, click rate)
    grid = cfg.patience_grid
    if progress:
        from tqdm.auto import tqdm

        grid = tqdm(grid, desc="fitting patience (simulated moments)", unit="value", leave=False)
    for value in grid:
        config = cal.world_config().replace(
            users__patience=float(value), users__patience_max=max(float(value), UserConfig().patience_max)
        )
        u, _, _, clicks = simulate_log(CalibratedWorld(cal, sessions_, config), ticks, cfg.fit_seed,
                                       power=cfg.logging_power)  # fmt: skip
        clicked = clicks[clicks > 0]
        tried.append((float(value), float(np.median(clicked)) if clicked.size else 0.0, u.size / (ticks * sessions_)))
    best = min(tried, key=lambda r: abs(r[1] - target))
    table = ", ".join(f"{v:g}: {m:g}" for v, m, _ in tried)
    cal.params["patience"] = param(best[0], f"simulated moments: real median session length {target:g} ratings; "
                                    f"simulated median clicks per session {{{table}}}", target=target,
                                    grid={str(v): m for v, m, _ in tried})  # fmt: skip
    # Concurrency is a knob of the simulation, not of the world: take as many sessions as give the
    # simulated log the real log's volume, so statistics that grow with it (windows per user,
    # popularity concentration) compare like with like.
    log_sessions = int(np.clip(round(users.size / max(best[2] * ticks, 1e-9)), 1, len(cal.user_ids) // 2))
    cal.params["log_sessions"] = param(log_sessions, f"concurrent sessions that give the simulated log the real "
                                        f"{users.size:,} interactions at {best[2]:.3f} clicks per session-tick "
                                        "(a simulation setting, not the world's)")  # fmt: skip


def fit_ticks(cal: Calibration, times: np.ndarray, cfg: CalibrationConfig) -> int:
    """Ticks of each fitting simulation: ``fit_ticks``, or the span of the calibration window."""
    return cfg.fit_ticks or max(int(np.ceil((times[-1] - cal.t0) / DAY * cfg.ticks_per_day)), 100)


def fit_drift(
    cal: Calibration, users: np.ndarray, items: np.ndarray, times: np.ndarray, cfg: CalibrationConfig, progress: bool
) -> None:
    """drift_std by simulated moments on the grid, with the fitted session behaviour and concurrency."""
    sessions_ = int(
        cal.params.get("log_sessions", {}).get("value", max(1, min(cfg.fit_sessions, len(cal.user_ids) // 4)))
    )
    ticks = fit_ticks(cal, times, cfg)
    real = interest_shift(users, items, times, cal.item_latent, cfg.window)
    real = real[np.isfinite(real)]
    if real.size == 0:
        why = f"synthetic default: no user has two full windows of {cfg.window} ratings to fit it on"
        cal.params["drift_std"] = param(UserConfig().drift_std, why, fitted=False)
        return
    tried: list[tuple[float, float]] = []  # (drift_std, simulated mean shift)
    grid = cfg.drift_grid
    if progress:
        from tqdm.auto import tqdm

        grid = tqdm(grid, desc="fitting drift_std (simulated moments)", unit="value", leave=False)
    for value in grid:
        config = cal.world_config().replace(users__drift_std=float(value))
        world = CalibratedWorld(cal, sessions_, config)
        u, i, t, _ = simulate_log(world, ticks, cfg.fit_seed, power=cfg.logging_power)
        shift = interest_shift(u, i, t, cal.item_latent, cfg.window)
        shift = shift[np.isfinite(shift)]
        tried.append((float(value), float(shift.mean()) if shift.size else float("nan")))
    best = min(tried, key=lambda r: abs(r[1] - float(real.mean())) if np.isfinite(r[1]) else np.inf)
    table = ", ".join(f"{v:g}: {s:.3f}" for v, s in tried)
    cal.params["drift_std"] = param(best[0], f"simulated moments: real mean interest shift per {cfg.window} "
                                     f"ratings {real.mean():.3f} ({real.size:,} window pairs); simulated {{{table}}}",
                                     target=float(real.mean()), grid={str(v): s for v, s in tried})  # fmt: skip
