"""The main job (``make demo``): train the PPO Transformer agent, then compare it with every baseline.

1. Trains PPO (``experiments/train_agent.py``, default policy and hyperparameters) on the default
   drifting regime for ``train_steps`` env steps, on a training seed, moving through burned-in
   training worlds and evaluating on a burned-in validation world every fifth of the budget (the
   defaults); the policy with the best validation return goes on.
2. Runs the comparison harness (``experiments/compare.py``): the trained policy and every baseline
   on identical burned-in worlds of the held-out evaluation seeds, ``num_envs`` sessions x ``ticks``
   ticks each; prints the table (mean ± 95% CI over seeds) and writes the report (Markdown + PNG).
3. Prints the ``tensorboard`` command that overlays the training curves and every agent's runs.

    python -m freshrec.experiments.demo [--train-steps 500000] [--seeds 3] [--ticks 1000] [--no-parallel]

With two or more cores (the default ``--parallel``), PPO trains in a second process while this one
runs the baselines on the held-out worlds; only PPO's own evaluation waits for the training. Every
process uses one torch thread and one BLAS thread, as the one-after-the-other run does, so both
orders give the same results. The README gives the time on 2 CPU cores.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from multiprocessing.pool import AsyncResult
from pathlib import Path
from typing import Any

from stable_baselines3.common.utils import get_device
from threadpoolctl import threadpool_limits

from freshrec.agents.ppo.policy import resolve_precision
from freshrec.agents.registry import BASELINES
from freshrec.envs.metrics.summary import RANKING_RECALL
from freshrec.envs.registration import ENV_IDS
from freshrec.experiments import compare
from freshrec.experiments.cli import parse_config
from freshrec.experiments.seeds import EVAL_SEEDS
from freshrec.experiments.train_agent import TrainResult, train
from freshrec.experiments.train_config import TrainConfig


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
    parallel: bool = True
    """Train PPO in a second process while the baselines run in this one (used only with 2+ cores)."""

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


def cores() -> int:
    """CPU cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


@contextmanager
def beside(fn: Callable[..., Any], *args: Any) -> Iterator[AsyncResult[Any]]:
    """``fn(*args)`` in a second process, a fresh interpreter (spawn: it shares no torch or BLAS thread pools with
    this one); the job, to ``get`` its result. Stopped at once if the with-block raises."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        yield pool.apply_async(fn, args)
        # Done: let the worker exit on its own before the with-block's terminate(). Killed, it never releases a
        # semaphore it made (a progress bar's lock), and the resource tracker warns of a leak after the demo ends.
        pool.close()
        pool.join()


def _train_beside(cfg: TrainConfig) -> TrainResult:
    """``train`` in the demo's second process, which ends itself if the demo's process dies.

    ``Pool`` stops its worker when the demo exits normally or raises (Ctrl-C included), but not when
    the demo is killed (SIGTERM, SIGKILL); the orphaned worker would otherwise train on for minutes.
    """
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:  # a dead parent's children are re-parented
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()
    with threadpool_limits(limits=1):  # one BLAS thread, as in the demo's own process
        return train(cfg)


def main(argv: list[str] | None = None) -> list[compare.RunRecord]:
    """Command line entry point."""
    cfg = parse_config(DemoConfig, argv, __doc__)
    began = time.perf_counter()
    tcfg = TrainConfig(
        env_id=cfg.env_id, experiment="ppo", seed=cfg.train_seed, total_steps=cfg.train_steps,
        encoder=cfg.encoder, runs_dir=cfg.root / "ppo", progress=cfg.progress,
        eval_every=max(cfg.train_steps // 5, 1), checkpoint_every=max(cfg.train_steps // 2, 1),
    )  # fmt: skip
    # One torch thread in every process, as training uses (TrainConfig.threads): the harness's torch
    # agents then compute exactly what they compute after a training run in the same process.
    base = compare.CompareConfig(
        experiment="demo", agents=cfg.agents, env_ids=(cfg.env_id,), seeds=cfg.seeds, ticks=cfg.ticks,
        num_envs=cfg.num_envs, encoder=cfg.encoder, runs_dir=cfg.runs_dir, progress=cfg.progress,
        threads=tcfg.threads,
    )  # fmt: skip
    seeds = list(EVAL_SEEDS[: cfg.seeds])
    parallel = cfg.parallel and cores() >= 2
    print(
        f"[1/2] training PPO (Transformer policy) on {cfg.env_id} for {cfg.train_steps:,} env steps, seed "
        f"{cfg.train_seed}, {resolve_precision(tcfg.precision, get_device(tcfg.device))} matmuls"
        + (f"; meanwhile the baselines run on held-out seeds {seeds}" if parallel else "")
    )
    baselines: list[compare.RunRecord] = []
    # BLAS at one thread too: a second BLAS thread would compete with the training process for its core.
    with threadpool_limits(limits=1):
        if parallel:
            with beside(_train_beside, tcfg) as job:

                def check(_: compare.RunRecord) -> None:
                    if job.ready():
                        job.get()  # a failed training raises here, not after every baseline

                # Quiet: the training's progress bar has the terminal.
                baselines = compare.run(replace(base, progress=False), after_each=check)
                trained = job.get()
        else:
            trained = train(tcfg)
        print(f"      {trained.steps:,} steps in {trained.seconds:.0f} s ({trained.steps_per_second:,.0f} env steps/s)")
        print(
            f"[2/2] comparing ppo with {len(cfg.agents)} baselines on {cfg.seeds} held-out seed{'s' * (cfg.seeds > 1)} {seeds}"
        )
        for record in baselines:
            print(compare.describe(record))
        ccfg = replace(base, agents=(*cfg.agents, "ppo"), models=(f"ppo={trained.best_model_path}",))
        records = baselines + compare.run(replace(ccfg, agents=("ppo",)) if parallel else ccfg)
    out = compare.write_report(ccfg, records, time.perf_counter() - began)
    k = records[0].log.slate_item_ids.shape[1]
    shown = ("ctr", f"precision@{k}", f"recall@{k}", RANKING_RECALL, f"ndcg@{k}", f"fresh_share@{k}",
             "new_item_first_click", "drift_recovery_steps", "return", "session_length")  # fmt: skip
    print(compare.markdown(compare.results_table(records), shown))
    print(f"report: {out}/results.md ({time.perf_counter() - began:.0f} s in all)")
    print(f"TensorBoard: tensorboard --logdir {cfg.root}")
    return records


if __name__ == "__main__":
    main()
