"""PNG plots for the report: training curves and metrics by model."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no screen: render to files only
import matplotlib.pyplot as plt

from freshrec.evaluation.leave_one_out import EvalResult
from freshrec.training.trainer import TrainResult


def training_curves(runs: dict[str, TrainResult], path: Path) -> Path:
    """Training loss and validation NDCG@10 per epoch, one line per model."""
    fig, (loss_ax, ndcg_ax) = plt.subplots(1, 2, figsize=(10, 4))
    for name, run in runs.items():
        epochs = [log.epoch for log in run.epochs]
        loss_ax.plot(epochs, [log.loss for log in run.epochs], label=name)
        ndcg_ax.plot(epochs, [log.valid.get("NDCG@10", 0.0) for log in run.epochs], label=name)
        ndcg_ax.axvline(run.best_epoch, linestyle=":", color=ndcg_ax.lines[-1].get_color())
    loss_ax.set(title="training loss", xlabel="epoch", ylabel="cross-entropy")
    ndcg_ax.set(title="validation NDCG@10 (dotted: best epoch)", xlabel="epoch", ylabel="NDCG@10")
    for ax in (loss_ax, ndcg_ax):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def metrics_by_model(
    results: list[EvalResult], path: Path, metrics: tuple[str, ...] = ("HR@10", "NDCG@10", "MRR@10")
) -> Path:
    """Grouped bars: one group per metric, one bar per result row."""
    fig, ax = plt.subplots(figsize=(9, 4))
    width = 0.8 / max(1, len(results))
    for index, result in enumerate(results):
        xs = [m + index * width for m in range(len(metrics))]
        label = f"{result.model} ({result.split})"
        bars = ax.bar(xs, [result.metrics[m] for m in metrics], width, label=label)
        ax.bar_label(bars, fmt="%.3f", fontsize=7)
    ax.set_xticks([m + width * (len(results) - 1) / 2 for m in range(len(metrics))], list(metrics))
    ax.set(title="test metrics by model (full ranking, seen items excluded)")
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
