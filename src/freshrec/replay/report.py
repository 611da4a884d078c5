"""The replay's outputs: a table for the terminal and the report, and metric-over-time plots."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def table(result: dict[str, Any], baseline: str = "static") -> str:
    """Markdown table: one row per strategy, HR/NDCG/MRR@k, slices, coverage, speed, training compute."""
    k = result["config"]["k"]
    short = f"short_history_le_{result['config']['short_history']}"
    strategies: dict[str, Any] = result["strategies"]
    base = strategies.get(baseline, {}).get("overall", {}).get(f"HR@{k}")
    header = (f"| strategy | HR@{k} | NDCG@{k} | MRR@{k} | HR@{k} vs {baseline} | HR@{k} new items | "
              f"HR@{k} short histories | coverage | events/s | training s |")  # fmt: skip
    lines = [header, "|" + "---|" * (header.count("|") - 1)]
    for name, s in strategies.items():
        o = s["overall"]
        ratio = f"{o[f'HR@{k}'] / base:.2f}x" if base else "-"
        trained = s["details"].get("train_seconds")
        lines.append(
            f"| {name} | {o[f'HR@{k}']:.4f} | {o[f'NDCG@{k}']:.4f} | {o[f'MRR@{k}']:.4f} | {ratio} | "
            f"{s['new_items'][f'HR@{k}']:.4f} | {s[short][f'HR@{k}']:.4f} | {s['coverage']:.3f} | "
            f"{s['events_per_second']:,.0f} | {'-' if trained is None else f'{trained:.1f}'} |"
        )
    return "\n".join(lines)


def plot_over_time(result: dict[str, Any], path: Path, metric: str = "HR@10") -> Path:
    """One line per strategy: ``metric`` in each time window of the stream."""
    fig, ax = plt.subplots(figsize=(9, 4.5))
    for name, s in result["strategies"].items():
        windows = s["over_time"]
        ax.plot(range(1, len(windows) + 1), [w[metric] for w in windows], marker="o", label=name)
    ax.set(title=f"replay of {result['dataset']}: {metric} over time", xlabel="time window (equal event counts)",
           ylabel=metric)  # fmt: skip
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write(result: dict[str, Any], folder: Path) -> list[Path]:
    """``replay.json``, ``replay.md`` (the table) and ``replay_over_time.png`` into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "replay.json").write_text(json.dumps(result, indent=1, default=float))
    (folder / "replay.md").write_text(table(result) + "\n")
    return [folder / "replay.json", folder / "replay.md", plot_over_time(result, folder / "replay_over_time.png")]
