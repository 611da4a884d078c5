"""The Markdown report of the main job."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from freshrec.evaluation.suite import Suite
from freshrec.replay.report import table

if TYPE_CHECKING:
    from freshrec.demo import UserExample


def write_report(
    path: Path,
    suite: Suite,
    examples: list[UserExample],
    plots: list[Path],
    seconds: float,
    replay: dict[str, Any] | None = None,
) -> Path:
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
    if replay is not None:
        lines += replay_section(replay)
    path.write_text("\n".join(lines))
    return path


def replay_section(replay: dict[str, Any]) -> list[str]:
    """What timeliness is worth: the time-ordered replay's table and plot."""
    split = replay["split"]
    return [
        "## Replay: what timeliness is worth",
        "",
        f"The starting model trained on the first {replay['config']['fraction']:.0%} of events by time "
        f"({split['train_events']:,}); the remaining {split['stream_events']:,} were replayed in time order. "
        "Before each interaction every strategy recommended 10 items for that user (items the user had "
        "already seen excluded), then learned from the event. `static`: model and user state frozen at the "
        "cut-off; `fresh`: user state updated per event; `online`: plus the online trainer; `online+trend`: "
        f"plus the trending blend (half-life {replay['config']['trend_half_life'] / 3600:g} h of stream time) and "
        f"new items. {split['interactions_on_new_items']:,} interactions were on items that first appeared after "
        f"the cut-off; {split['short_history_interactions']:,} came from users with at most "
        f"{replay['config']['short_history']} earlier interactions.",
        "",
        table(replay),
        "",
        "![replay_over_time](replay_over_time.png)",
        "",
    ]
