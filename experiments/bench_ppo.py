"""PPO training speed: env steps/s with updates included, the default against a naive setup in the same run.

    python -m freshrec.experiments.bench_ppo [--rounds 3] [--device cpu]

Variants (all on the native vector env through the SB3 adapter, MiniLM features, drifting regime):

- ``naive``: stable-baselines3's PPO defaults (n_steps 2048 per env, minibatch 64, 10 epochs)
  with a 2-layer, width-64, 2-head Transformer using PyTorch's encoder and decoder layers
  (candidates also attend to each other), torch's default thread count: the setup the issue
  measured at 152–165/s;
- ``default``: ``TrainConfig``'s defaults (1 layer, width 32, 1 head, cross-attention only,
  64 sessions x 64 steps per rollout, minibatch 1,024, 3 epochs, 1 thread, the choice loss inside
  PPO's minibatches with weight 4: ``FreshRecPPO``; precision "auto": bfloat16 matmuls where the
  device has them natively, float32 elsewhere);
- ``fp32``: the default in float32 whatever the device (``--precision fp32``);
- ``torch-layers``: the default computed by PyTorch's own layers (``reference_layers=True``:
  the same function and weights, through ``nn.MultiheadAttention``);
- ``default-2-threads``: the same with 2 torch threads;
- ``self-attention``: the default with candidates also attending to each other (a decoder
  layer instead of ``CrossBlock``);
- ``match-features``: the default with the candidates' text-match features (``text_match``);
- ``topic-embeddings``: the default with a learned embedding of each token's topic (``--topic-embeddings``);
- ``topic-match``: the default with the candidates' topic-match columns (``--topic-match``);
- ``mlp``: the MLP ablation at the default settings;
- ``no-choice-loss``: the default without the choice loss (``--choice-coef 0``: SB3's PPO update);
- ``choice-phase``: the choice loss as a separate phase instead (``--choice-coef 0 --choice-epochs 3``),
  run by the training callback (``TrainingCallback.choice_phase``; no validation, checkpoints or
  world changes).

Each round is whole rollouts plus their updates (``model.learn``), after one warm-up round; the
figure is the median rate. ``--updates-only`` times PPO's update alone (``model.train()`` over the
warm-up's rollout, seconds per update); run with ``ONEDNN_MAX_CPU_ISA=AVX512_CORE`` or
``ONEDNN_MAX_CPU_ISA=AVX2 ATEN_CPU_CAPABILITY=avx2 MKL_ENABLE_INSTRUCTIONS=AVX2`` it shows what
bfloat16 costs on CPUs without native bfloat16 (docs/ppo-results.md, "bfloat16 matmuls"). Each variant runs in
its own process: in one process, switching torch's thread count between variants slowed every
variant here (the default measured 1,311 env steps/s interleaved in one process against about
2,000 alone).
Results go to stdout and ``--json`` (default experiments/results/bench_ppo.json).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import BaseCallback

from freshrec.experiments.cli import HelpFormatter
from freshrec.experiments.train_agent import make_model, make_training_env
from freshrec.experiments.train_config import TrainConfig

VARIANTS: dict[str, dict[str, Any]] = {
    "naive": {"threads": 0, "rollouts": 1},
    "default": {"threads": 1, "rollouts": 2},
    "torch-layers": {"threads": 1, "rollouts": 2, "reference_layers": True},
    "default-2-threads": {"threads": 2, "rollouts": 2},
    "self-attention": {"threads": 1, "rollouts": 2, "candidate_self_attention": True},
    "match-features": {"threads": 1, "rollouts": 2, "match_features": True},
    "topic-embeddings": {"threads": 1, "rollouts": 2, "topic_embeddings": True},
    "topic-match": {"threads": 1, "rollouts": 2, "topic_match": True},
    "mlp": {"threads": 1, "rollouts": 2, "policy": "mlp", "d_model": 64},
    "fp32": {"threads": 1, "rollouts": 2, "precision": "fp32"},
    "no-choice-loss": {"threads": 1, "rollouts": 2, "choice_coef": 0.0},
    "no-ctr-prior": {"threads": 1, "rollouts": 2, "ctr_prior": False},
    "choice-phase": {"threads": 1, "rollouts": 2, "choice_coef": 0.0, "choice_epochs": 3},
}


# Environment variables that hold the math libraries to an instruction set (to measure a CPU without
# native bfloat16 on one that has it); recorded in --updates-only results.
ISA_VARIABLES = ("ONEDNN_MAX_CPU_ISA", "ATEN_CPU_CAPABILITY", "MKL_ENABLE_INSTRUCTIONS")


def naive_model(device: str, encoder: str) -> PPO:
    """SB3's PPO defaults with a 2-layer, width-64 Transformer (PyTorch decoder layers), 8 sessions."""
    from freshrec.agents.ppo import FreshRecTransformerPolicy

    cfg = TrainConfig(num_envs=8, n_steps=2048 // 8, batch_size=64, device=device, encoder=encoder, progress=False)
    fx = {"d_model": 64, "layers": 2, "heads": 2, "candidate_self_attention": True, "reference_layers": True}
    return PPO(
        FreshRecTransformerPolicy, make_training_env(cfg), n_steps=cfg.n_steps, batch_size=64, n_epochs=10,
        policy_kwargs={"features_extractor_kwargs": fx}, seed=0, device=device, verbose=0,
    )  # fmt: skip


def build(name: str, device: str, encoder: str) -> tuple[PPO, int, BaseCallback | None]:
    """The model of variant ``name``, the env steps of one round and the callback its rounds run with."""
    spec = VARIANTS[name]
    if name == "naive":
        model = naive_model(device, encoder)
    else:
        fields = {k: v for k, v in spec.items() if k not in ("threads", "rollouts", "reference_layers")}
        cfg = TrainConfig(device=device, encoder=encoder, progress=False, **fields)
        extractor = {"reference_layers": True} if spec.get("reference_layers") else {}
        model = make_model(cfg, make_training_env(cfg), **extractor)
    callback = None
    if spec.get("choice_epochs"):
        from freshrec.experiments.train_callback import TrainingCallback

        # Only the choice phase: no evaluations, checkpoints or burned-in worlds (their schedule never comes due).
        quiet = replace(cfg, eval_every=0, checkpoint_every=0, train_burn_in=0)
        callback = TrainingCallback(quiet, Path("."), {"eval": 0, "checkpoint": 0}, time.perf_counter())
    return model, spec["rollouts"] * model.n_steps * model.n_envs, callback


def measure(name: str, rounds: int, device: str, encoder: str, updates_only: bool = False) -> list[float]:
    """Rates of ``rounds`` timed rounds of variant ``name`` (in this process) after a warm-up round; with
    ``updates_only``, the seconds of each of ``rounds`` PPO updates (``model.train()``) over one rollout."""
    torch.set_num_threads(VARIANTS[name]["threads"] or torch.get_num_threads())
    model, steps, callback = build(name, device, encoder)
    if updates_only:  # the update alone, on the rollout the warm-up round left in the buffer
        model.learn(steps, callback=callback, reset_num_timesteps=False)
        seconds = []
        for _ in range(rounds):
            t0 = time.perf_counter()
            model.train()
            seconds.append(time.perf_counter() - t0)
        return seconds
    rates = []
    for r in range(rounds + 1):  # round 0 warms up (allocations, first-call overheads)
        t0 = time.perf_counter()
        model.learn(steps, callback=callback, reset_num_timesteps=False)
        if r:
            rates.append(steps / (time.perf_counter() - t0))
    return rates


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds per variant (median reported)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--encoder", default="minilm", help='item text encoder ("minilm" or "hashing:DIM")')
    parser.add_argument(
        "--variants", default=",".join(VARIANTS), help="comma-separated subset of " + ",".join(VARIANTS)
    )
    parser.add_argument(
        "--updates-only", action="store_true",
        help="time PPO's update alone (seconds per update over one rollout) instead of whole rounds",
    )  # fmt: skip
    parser.add_argument(
        "--json", type=Path, default=Path("experiments/results/bench_ppo.json"), help="where the figures go"
    )
    parser.add_argument("--worker", default="", help=argparse.SUPPRESS)  # one variant, rates as JSON on stdout
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(measure(args.worker, args.rounds, args.device, args.encoder, args.updates_only)))
        return {}
    names = [v for v in args.variants.split(",") if v]
    unknown = [v for v in names if v not in VARIANTS]
    if unknown or args.rounds < 1:
        parser.error(f"--variants {unknown} unknown (choose from {list(VARIANTS)}) or --rounds {args.rounds} < 1")
    if len(set(names)) < len(names):  # results are keyed by variant: a repeat would overwrite the first
        parser.error(f"--variants {args.variants!r}: each variant at most once (use --rounds for more rounds)")
    rates: dict[str, list[float]] = {}
    for name in names:
        cmd = [sys.executable, "-m", "freshrec.experiments.bench_ppo", "--worker", name, "--rounds", str(args.rounds),
               "--device", args.device, "--encoder", args.encoder]  # fmt: skip
        cmd += ["--updates-only"] if args.updates_only else []
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        rates[name] = json.loads(out.strip().splitlines()[-1])
        unit = " s per update" if args.updates_only else " env steps/s"
        print(
            f"{name:>18}: " + ", ".join(f"{r:,.3g}" if args.updates_only else f"{r:,.0f}" for r in rates[name]) + unit,
            flush=True,
        )
    medians = {name: statistics.median(v) for name, v in rates.items()}
    if args.updates_only:
        print("\n| variant | seconds per update (median) |\n|---|---|")
        for name, sec in medians.items():
            print(f"| {name} | {sec:.3f} |")
        result = {"meta": {"python": platform.python_version(), "torch": torch.__version__, "cpus": os.cpu_count(),
                           "device": args.device, "encoder": args.encoder, "rounds": args.rounds, "updates_only": True,
                           "isa_limits": {k: v for k, v in os.environ.items() if k in ISA_VARIABLES}},
                  "median_seconds_per_update": medians, "seconds": rates}  # fmt: skip
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1))
        return result
    base = medians.get("naive")
    print("\n| variant | env steps/s (median) | vs naive |\n|---|---|---|")
    for name, rate in medians.items():
        print(f"| {name} | {rate:,.0f} | {rate / base:.1f}x |" if base else f"| {name} | {rate:,.0f} | |")
    result = {
        "meta": {"python": platform.python_version(), "torch": torch.__version__, "cpus": os.cpu_count(),
                 "device": args.device, "encoder": args.encoder, "default_threads": torch.get_num_threads(),
                 "rounds": args.rounds},
        "median_steps_per_second": medians, "rounds": rates,
        "ratio_vs_naive": {n: m / base for n, m in medians.items()} if base else {},
    }  # fmt: skip
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
