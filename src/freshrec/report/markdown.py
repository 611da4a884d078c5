"""The Markdown report of the main job."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from freshrec.evaluation.suite import Suite

if TYPE_CHECKING:
    from freshrec.demo import UserExample


def write_report(path: Path, suite: Suite, examples: list[UserExample], plots: list[Path], seconds: float) -> Path:
    data = suite.dataset
    lines = [
        f"# freshrec report: {data['name']}",
        "",
        f"{data['interactions']:,} interactions, {data['users']:,} users, {data['items']:,} items; "
        f"{data['evaluated_users']:,} users evaluated; run took {seconds:.0f}s.",
        "",
        "Protocol: leave-one-out by time (each user's last item is the test target), full ranking over "
        "all items, ties counted against the target. `seen` says whether items already in the user's "
        "history were excluded from the ranking. The cold-item rows keep only users whose test item had "
        "at most 5 training interactions.",
        "",
        "## Results",
        "",
        "| model | split | seen | HR@10 | NDCG@10 | MRR@10 | coverage@10 | novelty@10 | diversity@10 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in suite.results:
        m = r.metrics
        cells = " | ".join(f"{m.get(k, float('nan')):.4f}" for k in
                           ("HR@10", "NDCG@10", "MRR@10", "coverage@10", "novelty@10", "diversity@10"))  # fmt: skip
        lines.append(f"| {r.model} | {r.split} | {'excluded' if r.exclude_seen else 'kept'} | {cells} |")
    lines += ["", "## Training", ""]
    for name, run in suite.training.items():
        lines.append(f"- {name}: best epoch {run['best_epoch']}, {run['seconds_to_best']:.0f}s to the best epoch, "
                     f"{run['seconds_total']:.0f}s in all (early stopping)")  # fmt: skip
    lines += [""] + [f"![{p.stem}]({p.name})" for p in plots]
    lines += ["", "## Recommendations for a few users", ""]
    for ex in examples:
        lines += [f"**user {ex.user}**, most recent first: {'; '.join(ex.recent_history)}", ""]
        for rec in ex.recommendations:
            lines.append(f"1. {rec.item} — because of: {', '.join(rec.because_of) or 'overall taste'}")
        lines.append("")
    path.write_text("\n".join(lines))
    return path
