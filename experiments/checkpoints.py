"""Checkpoints that resume a PPO run exactly: after a SIGKILL, ``--resume`` continues as the uninterrupted run.

A checkpoint is taken at the start of a rollout (after the previous update), where a run's whole
state is small and well defined:

- ``model.zip``: SB3's save (policy weights, Adam's state, hyperparameters, step counters);
- ``state.pkl``: what SB3's save leaves out and the continuation needs: the training env (the
  world, its generators, every session, the episode monitor), the last observation and episode
  starts, the episode-info buffer, the global random states SB3 draws from (torch for slates,
  numpy for minibatch shuffling, Python's ``random``), and the callbacks' schedule (with the best validation return so far).

Each checkpoint is written to a temporary folder and renamed into place, and ``latest`` is
replaced the same way, so a kill mid-write never leaves a checkpoint that looks complete but is not.
``new_run_dir`` claims a run's own folder the same careful way, for ``train_agent`` and ``relevance_probe``.
"""

from __future__ import annotations

import json
import os
import pickle
import random
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import VecMonitor

from freshrec.agents.ppo import FreshRecPPO
from freshrec.envs.core import item_encoding

LATEST = "latest"
PENDING_LOGS = ("name_to_value", "name_to_count", "name_to_excluded")
MONITOR_FIELDS = ("episode_returns", "episode_lengths", "episode_count", "t_start")


def save_checkpoint(model: PPO, folder: Path, schedule: dict[str, float], elapsed_seconds: float) -> Path:
    """Write ``folder/step_<N>`` for the model's current step and point ``folder/latest`` at it.

    ``meta.json`` records the step and the run's wall-clock seconds so far (resumed runs included).
    """
    step = int(model.num_timesteps)
    target = folder / f"step_{step:012d}"
    tmp = folder / f".tmp_step_{step:012d}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    model.save(tmp / "model.zip")
    monitor = model.get_env()
    assert isinstance(monitor, VecMonitor), "train on VecMonitor(FreshRecSB3VecEnv(...))"
    state = {
        # SB3's VecEnv wrappers do not pickle (they keep a mappingproxy): the env and the monitor's counters apart.
        "env": monitor.venv,
        "monitor": {k: getattr(monitor, k) for k in MONITOR_FIELDS},
        "last_obs": model._last_obs,
        "last_episode_starts": model._last_episode_starts,
        "ep_info_buffer": model.ep_info_buffer,
        "episode_num": model._episode_num,
        # SB3 draws from the legacy global numpy state (minibatch order), so that is what to save.
        "rng": {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()},  # noqa: NPY002
        "schedule": dict(schedule),
        # The last update's train/* values: SB3 writes them at the next rollout's dump.
        "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,  # slates on a GPU
        "pending_logs": {k: dict(getattr(model.logger, k)) for k in PENDING_LOGS},
    }
    meta = {"step": step, "elapsed_seconds": round(elapsed_seconds, 3)}
    (tmp / "meta.json").write_text(json.dumps(meta))
    with open(tmp / "state.pkl", "wb") as fh:
        pickle.dump(state, fh)
        fh.flush()
        os.fsync(fh.fileno())
    shutil.rmtree(target, ignore_errors=True)
    os.replace(tmp, target)
    pointer = folder / f".{LATEST}.tmp"
    pointer.write_text(target.name)
    os.replace(pointer, folder / LATEST)
    return target


def latest_checkpoint(folder: Path) -> Path:
    """The checkpoint ``folder/latest`` names; a clear error when there is none."""
    pointer = folder / LATEST
    if not pointer.exists():
        raise FileNotFoundError(f"{folder}: no checkpoint to resume from (no {LATEST} file)")
    return folder / pointer.read_text().strip()


def checkpoint_meta(path: Path) -> dict[str, float]:
    """A checkpoint's step and the run's wall-clock seconds when it was written."""
    meta: dict[str, float] = json.loads((path / "meta.json").read_text())
    return meta


def load_checkpoint(path: Path, device: str) -> tuple[PPO, dict[str, float], dict[str, dict[str, Any]]]:
    """The model with its env and every random state as they were, the callbacks' schedule, and the
    logger values not yet written (``restore_pending_logs`` puts them into the new logger)."""
    with open(path / "state.pkl", "rb") as fh:
        state: dict[str, Any] = pickle.load(fh)
    monitor = VecMonitor(state["env"])
    for k, v in state["monitor"].items():
        setattr(monitor, k, v)
    model = FreshRecPPO.load(path / "model.zip", env=monitor, device=device)  # re-seeds the global RNGs: restored below
    if getattr(model, "item_encoding", None) is None:  # a checkpoint saved before models recorded it: its env knows
        model.item_encoding = item_encoding(model.env)
    model._last_obs = state["last_obs"]
    model._last_episode_starts = state["last_episode_starts"]
    model.ep_info_buffer = state["ep_info_buffer"]
    model._episode_num = state["episode_num"]
    torch.set_rng_state(state["rng"]["torch"])
    np.random.set_state(state["rng"]["numpy"])  # noqa: NPY002
    random.setstate(state["rng"]["python"])
    if state.get("cuda_rng") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda_rng"])
    return model, state["schedule"], state["pending_logs"]


def restore_pending_logs(model: PPO, pending: dict[str, dict[str, Any]]) -> None:
    """Put the checkpoint's not-yet-written logger values into the model's (new) logger."""
    for name, values in pending.items():
        getattr(model.logger, name).update(values)


def new_run_dir(root: Path, name: str) -> Path:
    """A new folder ``root/name``, or ``root/name-2``, ``-3``, … when runs started in the same second took it.

    ``mkdir`` without ``exist_ok`` claims each name atomically, so runs started together never share a folder.
    """
    root.mkdir(parents=True, exist_ok=True)
    for k in range(1, 10_000):
        path = root / (name if k == 1 else f"{name}-{k}")
        try:
            path.mkdir()
        except FileExistsError:
            continue
        return path
    raise FileExistsError(f"{root / name}: 9,999 runs of that name already exist")
