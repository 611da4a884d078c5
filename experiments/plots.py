"""The comparison's pictures, from the recorded runs (matplotlib, Agg backend)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from freshrec.envs.metrics import StepLog
from freshrec.experiments.evaluate import mean_ci

if TYPE_CHECKING:
    from freshrec.experiments.compare import RunRecord

BAR_KEYS = ("ctr", "precision@5", "recall@5", "fresh_share@5", "drift_recovery_steps", "return")
BEFORE, AFTER = 10, 30  # steps of a user's own timeline around an abrupt shift


def shift_aligned_precision(log: StepLog, before: int = BEFORE, after: int = AFTER) -> tuple[np.ndarray, np.ndarray]:
    """Mean precision@K of a user's steps at offsets -before..after from each abrupt shift (offset 0 = first step after).

    Returns (offsets, mean precision per offset; NaN where no event reaches that offset).
    """
    offsets = np.arange(-before, after + 1)
    if log.time.size == 0:
        return offsets, np.full(offsets.size, math.nan)
    k = log.slate_relevant.shape[1]
    precision = log.slate_relevant.sum(axis=1) / k  # (S,)
    order = np.lexsort((log.time, log.user_id))  # each user's steps in time order, users one after another
    users = log.user_id[order]
    events = np.flatnonzero(log.shifted[order])  # positions in ``order``
    idx = events[:, None] + offsets[None, :]  # (E, O)
    inside = (idx >= 0) & (idx < order.size)
    safe = np.clip(idx, 0, order.size - 1)
    same_user = inside & (users[safe] == users[events][:, None])
    values = np.where(same_user, precision[order][safe], 0.0)
    counts = same_user.sum(axis=0)
    with np.errstate(invalid="ignore"):
        mean = np.where(counts > 0, values.sum(axis=0) / np.maximum(counts, 1), math.nan)
    return offsets, mean


def first_click_ages(log: StepLog) -> tuple[np.ndarray, int]:
    """Ages at first click of the items that arrived during the recording, and how many arrived."""
    arrived = log.item_ids[~log.item_live_at_start]
    hit = log.clicked_position >= 0
    rows = np.flatnonzero(hit)
    items = log.clicked_item_id[rows]
    ages = log.slate_age[rows, log.clicked_position[rows]]
    keep = np.isin(items, arrived)
    items, ages = items[keep], ages[keep]
    if items.size == 0:
        return np.zeros(0), int(arrived.size)
    order = np.lexsort((ages, items))
    first = np.unique(items[order], return_index=True)[1]
    return ages[order][first], int(arrived.size)


def _legend(ax: Any) -> None:
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7)


def plot_all(records: Sequence[RunRecord], out: Path) -> list[str]:
    """Write the four figures into ``out``; returns their file names."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    env_ids = list(dict.fromkeys(r.env_id for r in records))
    agents = list(dict.fromkeys(r.agent for r in records))
    colors = {a: plt.get_cmap("tab10")(i % 10) for i, a in enumerate(agents)}
    names = []

    # 1. Metrics per agent per regime, mean and 95% CI over seeds.
    fig, axes = plt.subplots(
        len(env_ids), len(BAR_KEYS), figsize=(3.2 * len(BAR_KEYS), 2.8 * len(env_ids)), squeeze=False
    )
    for row, env_id in enumerate(env_ids):
        for col, key in enumerate(BAR_KEYS):
            ax = axes[row][col]
            stats = [
                mean_ci([r.summary.get(key, math.nan) for r in records if r.env_id == env_id and r.agent == a])
                for a in agents
            ]
            means = [0.0 if math.isnan(m) else m for m, _ in stats]
            errs = [0.0 if math.isnan(h) else h for _, h in stats]
            ax.bar(range(len(agents)), means, yerr=errs, color=[colors[a] for a in agents], capsize=2)
            ax.set_xticks(range(len(agents)), agents, rotation=60, ha="right", fontsize=7)
            ax.set_title(f"{key}\n{env_id.split('/')[-1]}", fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "metrics_by_agent.png", dpi=100)
    plt.close(fig)
    names.append("metrics_by_agent.png")

    # 2. Metrics over simulated time (each point: the last log window), mean over seeds.
    keys = ("ctr", "precision@5", "item_age")
    fig, axes = plt.subplots(len(env_ids), len(keys), figsize=(4.5 * len(keys), 3 * len(env_ids)), squeeze=False)
    for row, env_id in enumerate(env_ids):
        for col, key in enumerate(keys):
            ax = axes[row][col]
            for a in agents:
                runs = [r.series.get(key, []) for r in records if r.env_id == env_id and r.agent == a]
                runs = [s for s in runs if s]
                if not runs:
                    continue
                n = min(len(s) for s in runs)
                ticks = [t for t, _ in runs[0][:n]]
                ax.plot(ticks, np.mean([[v for _, v in s[:n]] for s in runs], axis=0), label=a, color=colors[a])
            ax.set(title=f"{key}, {env_id.split('/')[-1]}", xlabel="world tick")
    _legend(axes[0][0])
    fig.tight_layout()
    fig.savefig(out / "over_time.png", dpi=100)
    plt.close(fig)
    names.append("over_time.png")

    # 3. Precision@K around abrupt shifts, aligned on the shift: how fast each agent recovers.
    fig, axes = plt.subplots(1, len(env_ids), figsize=(5 * len(env_ids), 3.5), squeeze=False)
    for col, env_id in enumerate(env_ids):
        ax = axes[0][col]
        for a in agents:
            curves = np.array(
                [shift_aligned_precision(r.log)[1] for r in records if r.env_id == env_id and r.agent == a]
            )
            seen = ~np.isnan(curves)
            if curves.size and seen.any():  # regimes without abrupt shifts have no curve
                mean = np.where(
                    seen.any(axis=0), np.where(seen, curves, 0.0).sum(axis=0) / np.maximum(seen.sum(axis=0), 1), np.nan
                )
                ax.plot(np.arange(-BEFORE, AFTER + 1), mean, label=a, color=colors[a])
        ax.axvline(0, color="grey", lw=0.8)
        if len(ax.lines) == 1:
            ax.text(0.5, 0.5, "no abrupt shifts in this regime", ha="center", transform=ax.transAxes)
        ax.set(title=f"precision@5 around abrupt shifts, {env_id.split('/')[-1]}", xlabel="user's steps from the shift")
    _legend(axes[0][0])
    fig.tight_layout()
    fig.savefig(out / "drift_aligned.png", dpi=100)
    plt.close(fig)
    names.append("drift_aligned.png")

    # 4. New-item exposure over item age: share of arrived items clicked for the first time by each age.
    fig, axes = plt.subplots(1, len(env_ids), figsize=(5 * len(env_ids), 3.5), squeeze=False)
    grid = np.arange(0, 201)
    for col, env_id in enumerate(env_ids):
        ax = axes[0][col]
        for a in agents:
            shares = []
            for r in records:
                if r.env_id == env_id and r.agent == a:
                    ages, arrived = first_click_ages(r.log)
                    if arrived:
                        shares.append(np.searchsorted(np.sort(ages), grid, side="right") / arrived)
            if shares:
                ax.plot(grid, np.mean(shares, axis=0), label=a, color=colors[a])
        ax.set(
            title=f"new items clicked by age, {env_id.split('/')[-1]}",
            xlabel="item age (ticks)",
            ylabel="share of arrivals",
            ylim=(0, 1.02),
        )
        if not ax.lines:
            ax.text(0.5, 0.5, "no arrivals in this regime", ha="center", transform=ax.transAxes)
    _legend(axes[0][0])
    fig.tight_layout()
    fig.savefig(out / "new_item_exposure.png", dpi=100)
    plt.close(fig)
    names.append("new_item_exposure.png")
    return names
