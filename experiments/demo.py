"""The main job (``make demo``): train the PPO Transformer agent, then compare it with every baseline.

1. Trains PPO (``experiments/train_agent.py``, default policy and hyperparameters) on the default
   drifting regime for ``train_steps`` env steps, on a training seed, moving through burned-in
   training worlds and evaluating on a burned-in validation world every fifth of the budget (the
   defaults); the policy with the best validation return goes on.
2. Runs the comparison harness (``experiments/compare.py``): the trained policy and every baseline
   on identical burned-in worlds of the held-out evaluation seeds, ``num_envs`` sessions x ``ticks``
   ticks each; prints the table (mean ± 95% CI over seeds) and writes the report (Markdown + PNG).
3. Prints the ``tensorboard`` command that overlays the training curves and every agent's runs.

    python -m freshrec.experiments.demo [--train-steps 500000] [--seeds 3] [--ticks 1000]

About 8 minutes on 2 CPU cores (see README).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from freshrec.agents.registry import BASELINES
from freshrec.envs.registration import ENV_IDS
from freshrec.experiments import compare
from freshrec.experiments.cli import parse_config
from freshrec.experiments.seeds import EVAL_SEEDS
from freshrec.experiments.train_agent import TrainConfig, train


@dataclass(frozen=True)
class DemoConfig:
    """What the demo runs. Every field is a command-line flag."""

    env_id: str = "freshrec/DriftingUsers-v0"
    """Registered env id (see ``freshrec.envs.ENV_IDS``)."""
    runs_dir: Path = Path("runs")
    """Root folder: the PPO run, every agent's TensorBoard runs and the report land in runs_dir/demo."""
    train_steps: int = 500_000
    """PPO training budget in env steps."""
    train_seed: int = 0
    """PPO training seed (a training seed, never a held-out one)."""
    agents: tuple[str, ...] = BASELINES
    """Baselines to compare against (comma-separated registry names)."""
    ticks: int = 1000
    """World ticks per evaluation run (each tick, every session gets one slate)."""
    num_envs: int = 256
    """Concurrent sessions in the evaluation."""
    seeds: int = 3
    """How many of the held-out evaluation seeds to run."""
    encoder: str = "minilm"
    """Item text encoder: "minilm" (bundled all-MiniLM-L6-v2) or "hashing:DIM"."""
    progress: bool = True
    """Progress bars."""

    def __post_init__(self) -> None:
        if self.env_id not in ENV_IDS:
            raise ValueError(f"env_id = {self.env_id!r}: must be one of {sorted(ENV_IDS)}")
        for name in ("train_steps", "ticks", "num_envs", "seeds"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} = {getattr(self, name)}: must be >= 1")
        if self.seeds > len(EVAL_SEEDS):
            raise ValueError(f"seeds = {self.seeds}: must be at most {len(EVAL_SEEDS)} (the held-out seeds)")

    @property
    def root(self) -> Path:
        return self.runs_dir / "demo"


def main(argv: list[str] | None = None) -> list[compare.RunRecord]:
    """Command line entry point."""
    cfg = parse_config(DemoConfig, argv, __doc__)
    began = time.perf_counter()
    print(
        f"[1/2] training PPO (Transformer policy) on {cfg.env_id} for {cfg.train_steps:,} env steps, seed {cfg.train_seed}"
    )
    trained = train(
        TrainConfig(
            env_id=cfg.env_id, experiment="ppo", seed=cfg.train_seed, total_steps=cfg.train_steps,
            encoder=cfg.encoder, runs_dir=cfg.root / "ppo", progress=cfg.progress,
            eval_every=max(cfg.train_steps // 5, 1), checkpoint_every=max(cfg.train_steps // 2, 1),
        )
    )  # fmt: skip
    print(f"      {trained.steps:,} steps in {trained.seconds:.0f} s ({trained.steps_per_second:,.0f} env steps/s)")
    print(
        f"[2/2] comparing ppo with {len(cfg.agents)} baselines on {cfg.seeds} held-out seeds {list(EVAL_SEEDS[: cfg.seeds])}"
    )
    ccfg = compare.CompareConfig(
        experiment="demo", agents=(*cfg.agents, "ppo"), models=(f"ppo={trained.best_model_path}",),
        env_ids=(cfg.env_id,), seeds=cfg.seeds, ticks=cfg.ticks, num_envs=cfg.num_envs, encoder=cfg.encoder,
        runs_dir=cfg.runs_dir, progress=cfg.progress,
    )  # fmt: skip
    records = compare.run(ccfg)
    out = compare.write_report(ccfg, records, time.perf_counter() - began)
    k = records[0].log.slate_item_ids.shape[1]
    shown = ("ctr", f"precision@{k}", f"recall@{k}", f"ndcg@{k}", f"fresh_share@{k}", "new_item_first_click",
             "drift_recovery_steps", "return", "session_length")  # fmt: skip
    print(compare.markdown(compare.results_table(records), shown))
    print(f"report: {out}/results.md ({time.perf_counter() - began:.0f} s in all)")
    print(f"TensorBoard: tensorboard --logdir {cfg.root}")
    return records


if __name__ == "__main__":
    main()
