"""The main job (``make demo``): random and public-popularity slates on the default env, a metrics table and a report.

Until the learning agents land, the demo shows what the lab measures: every agent runs on the same
held-out world seeds (``EVAL_SEEDS``), N concurrent sessions for T ticks each, and the table gives
the mean and a 95% confidence interval over seeds.

    python -m freshrec.experiments.demo --out report [--ticks 1000] [--num-envs 256] [--seeds 3]
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np

from freshrec.agents import MostPopularAgent, RandomAgent
from freshrec.envs.registration import ENV_IDS
from freshrec.experiments.evaluate import RunResult, mean_ci, run_agent
from freshrec.experiments.seeds import EVAL_SEEDS

TABLE_KEYS = (
    "ctr", "precision@5", "ndcg@5", "recall@5", "fresh_share@5", "item_age", "new_item_first_impression",
    "new_item_shown_share", "drift_recovery_steps", "drift_recovery_censored", "temporal_novelty", "return",
    "session_length", "return_rate", "coverage", "exposure_gini", "intra_list_diversity",
)  # fmt: skip


@dataclass(frozen=True)
class DemoConfig:
    """What the demo runs."""

    out: Path = Path("report")
    """Folder for report.md, results.json and the plots."""
    env_id: str = "freshrec/DriftingUsers-v0"
    """Registered env id (see ``freshrec.envs.ENV_IDS``)."""
    ticks: int = 1000
    """World ticks per run (each tick, every session gets one slate)."""
    num_envs: int = 256
    """Concurrent sessions (the vector env's N)."""
    seeds: int = 3
    """How many of the held-out evaluation seeds to run (at most len(EVAL_SEEDS))."""
    encoder: str = "minilm"
    """Text encoder for item features: "minilm" (bundled all-MiniLM-L6-v2) or "hashing:DIM"."""
    progress: bool = True
    """Show progress bars."""

    def __post_init__(self) -> None:
        if self.env_id not in ENV_IDS:
            raise ValueError(f"env_id = {self.env_id!r}: must be one of {sorted(ENV_IDS)}")
        for name, low in (("ticks", 1), ("num_envs", 1), ("seeds", 1)):
            if getattr(self, name) < low:
                raise ValueError(f"{name} = {getattr(self, name)}: must be >= {low}")
        if self.seeds > len(EVAL_SEEDS):
            raise ValueError(f"seeds = {self.seeds}: must be at most {len(EVAL_SEEDS)} (the held-out seeds)")


def agents(slate_size: int) -> dict[str, object]:
    """Name -> factory(seed) of the agents the demo compares."""
    return {
        "random": lambda seed: RandomAgent(slate_size, seed=seed),
        "public-popular": lambda seed: MostPopularAgent(slate_size),
    }


def run(cfg: DemoConfig) -> dict[str, list[RunResult]]:
    """Every agent on every seed; returns the runs by agent."""
    results: dict[str, list[RunResult]] = {}
    for name, factory in agents(5).items():
        for seed in EVAL_SEEDS[: cfg.seeds]:
            result = run_agent(
                name, factory, cfg.env_id, seed, cfg.ticks, cfg.num_envs,  # type: ignore[arg-type]
                env_kwargs={"encoder": cfg.encoder}, progress=cfg.progress,
            )  # fmt: skip
            results.setdefault(name, []).append(result)
            if cfg.progress:
                print(f"  {name:>13} seed {seed}: CTR {result.summary['ctr']:.3f}")
    return results


def table(results: dict[str, list[RunResult]]) -> str:
    """Markdown table: metric rows, agent columns, mean ± 95% CI over seeds."""
    names = list(results)
    lines = ["| metric | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for key in TABLE_KEYS:
        cells = []
        for name in names:
            m, h = mean_ci([r.summary.get(key, math.nan) for r in results[name]])
            cells.append("n/a" if math.isnan(m) else (f"{m:.4g} ± {h:.2g}" if not math.isnan(h) else f"{m:.4g}"))
        lines.append(f"| {key} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot(results: dict[str, list[RunResult]], path: Path) -> None:
    """CTR and mean shown-item age over ticks (mean over seeds, 20-tick rolling mean)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    window = 20
    for name, runs in results.items():
        for ax, attr in zip(axes, ("ctr_by_tick", "age_by_tick"), strict=True):
            series = np.nanmean([getattr(r, attr) for r in runs], axis=0)
            smooth = np.convolve(series, np.ones(window) / window, mode="valid")
            ax.plot(np.arange(smooth.size) + window - 1, smooth, label=name)
    axes[0].set(title="click-through rate per tick", xlabel="tick", ylabel="CTR")
    axes[1].set(title="mean age of shown items", xlabel="tick", ylabel="ticks since arrival")
    axes[0].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    """Command line: every DemoConfig field is a flag."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for f in fields(DemoConfig):
        flag = "--" + f.name.replace("_", "-")
        if f.type in ("bool", bool):
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=f.default)
        else:
            kind = Path if f.name == "out" else type(f.default)
            parser.add_argument(flag, type=kind, default=f.default)
    cfg = DemoConfig(**vars(parser.parse_args(argv)))
    start = time.perf_counter()
    print(f"[1/2] {cfg.env_id}: {cfg.num_envs} sessions x {cfg.ticks} ticks x {cfg.seeds} held-out seeds per agent")
    results = run(cfg)
    md = table(results)
    print(f"[2/2] writing the report to {cfg.out}/")
    cfg.out.mkdir(parents=True, exist_ok=True)
    plot(results, cfg.out / "over_time.png")
    meta = {
        "config": {k: str(v) for k, v in asdict(cfg).items()},
        "seeds": list(EVAL_SEEDS[: cfg.seeds]),
        "python": platform.python_version(),
        "seconds": round(time.perf_counter() - start, 1),
    }
    runs = {name: [{"seed": r.seed, "summary": r.summary} for r in rs] for name, rs in results.items()}
    (cfg.out / "results.json").write_text(json.dumps({"meta": meta, "runs": runs}, indent=1, default=float))
    (cfg.out / "report.md").write_text(
        f"# freshrec demo: {cfg.env_id}\n\n{cfg.num_envs} concurrent sessions x {cfg.ticks} ticks, "
        f"held-out seeds {meta['seeds']}; mean ± 95% CI (Student t) over seeds. Metric definitions: "
        "`freshrec.envs.metrics`.\n\n" + md + "\n\n![CTR and item age over time](over_time.png)\n"
    )
    print(md)
    print(f"report written to {cfg.out}/report.md ({meta['seconds']} s in all)")


if __name__ == "__main__":
    main()
