"""The comparison harness: every agent on identical burned-in worlds, side by side in TensorBoard, plus a report.

    python -m freshrec.experiments.compare --experiment compare --agents random,most-popular,svd \\
        --env-ids freshrec/DriftingUsers-v0,freshrec/Stationary-v0 --seeds 3 --ticks 1000
    python -m freshrec.experiments.compare --agents svd,ppo --models ppo=runs/<run>/best_model.zip
    tensorboard --logdir runs/compare

For each env id (regime) and held-out seed (``EVAL_SEEDS``), the world is burned in once with the
logging policy (``experiments/burn_in.py``); every agent then starts from an identical copy, fits
on the burn-in log, and runs ``ticks`` ticks on the vector env, learning from each tick's log
through ``observe``. TensorBoard gets one run per agent, regime and seed under
``runs/<experiment>/<env id with / as _>/<agent>/seed<seed>`` with the same ``eval/*`` tags for
every agent, logged against simulated time (the world tick): each point a metric over the last
``log_every`` ticks (return and session length over the sessions that ended in them; drift recovery
once, over the whole run).
The report (``runs/<experiment>/report``) has results.json, results.md (mean ± 95% CI over seeds)
and PNG plots.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from freshrec.agents.base import slates_and_ranking
from freshrec.agents.log import AgentSpec, Transitions
from freshrec.agents.registry import make_agent
from freshrec.envs.core import reset_info
from freshrec.envs.metrics import Recorder, StepLog
from freshrec.envs.metrics.summary import RANKING_RECALL
from freshrec.experiments.burn_in import BurnIn, burn_in
from freshrec.experiments.cli import parse_config
from freshrec.experiments.compare_config import CompareConfig as CompareConfig  # re-exported: its users import it here
from freshrec.experiments.evaluate import mean_ci


def window_tags(k: int) -> dict[str, str]:
    """TensorBoard tag -> summary key of the metrics logged per window (identical for every agent)."""
    return {
        "eval/ctr": "ctr",
        f"eval/precision@{k}": f"precision@{k}",
        f"eval/recall@{k}": f"recall@{k}",
        f"eval/{RANKING_RECALL}": RANKING_RECALL,
        f"eval/ndcg@{k}": f"ndcg@{k}",
        f"eval/fresh_share@{k}": f"fresh_share@{k}",
        "eval/item_age": "item_age",
        "eval/new_item_first_click": "new_item_first_click",
        "eval/coverage": "coverage",
    }


# Logged from sessions that ended in the window (whenever in the run they began): a window of 50 ticks
# cannot hold a 100-step session, so a window recorder would drop the long ones. The first two windows
# can still hold only sessions shorter than the run so far, so they read low.
SESSION_TAGS = {"eval/return": "return", "eval/session_length": "session_length"}
# Logged once, at the end, over the whole run: recovery is followed for up to 50 of a user's steps.
FINAL_TAGS = {"eval/drift_recovery": "drift_recovery_steps"}


def report_keys(k: int) -> tuple[str, ...]:
    """The summary keys in the report, in order."""
    return (
        "ctr", f"precision@{k}", f"ndcg@{k}", f"recall@{k}", RANKING_RECALL, f"fresh_share@{k}", "item_age",
        "new_item_first_impression",
        "new_item_first_click", "new_item_shown_share", "drift_recovery_steps", "drift_recovery_censored",
        "drift_recovery_median", "temporal_novelty", "return", "session_length", "return_rate", "coverage", "exposure_gini",
        "intra_list_diversity",
    )  # fmt: skip


@dataclass
class RunRecord:
    """One agent on one regime and seed."""

    agent: str
    env_id: str
    seed: int
    summary: dict[str, float]
    series: dict[str, list[tuple[int, float]]]  # summary key -> [(world tick, value)] per log window
    log: StepLog
    seconds: float


def run_one(cfg: CompareConfig, agent_name: str, env_id: str, seed: int, start: BurnIn) -> RunRecord:
    """One agent from the burned-in start: fit on the log, then ``ticks`` ticks, recording every metric."""
    from torch.utils.tensorboard import SummaryWriter  # tensorboard's writer; torch is already a dependency

    began = time.perf_counter()
    env, obs = start.start()
    spec = AgentSpec.from_env(env)
    models = cfg.model_paths()
    options = {"model": models[agent_name]} if agent_name in models else {}
    agent = make_agent(agent_name, spec, agent_seed(seed), env, **options)
    agent.observe(start.log)
    recorder, window = Recorder(), Recorder()
    first = reset_info(env.unwrapped.state)
    recorder.record_reset(first)
    window.record_reset(first)
    run_dir = cfg.root / env_id.replace("/", "_") / agent_name / f"seed{seed}"
    writer = SummaryWriter(str(run_dir))
    tags = {**window_tags(spec.slate_size), **SESSION_TAGS}
    series: dict[str, list[tuple[int, float]]] = {key: [] for key in (*tags.values(), *FINAL_TAGS.values())}
    # Per session slot: steps and reward since the session began, and whether it began in this run
    # (sessions under way at the end of burn-in had steps under the logging policy: left out).
    steps = np.zeros(cfg.num_envs, np.int64)
    gained = np.zeros(cfg.num_envs)
    clean = env.unwrapped.state.sessions.step == 0  # (N,) slots restarted by burn-in's last step begin now
    ended_len: list[np.ndarray] = []
    ended_ret: list[np.ndarray] = []
    desc = f"{agent_name} {env_id.split('/')[-1]} seed {seed}"
    for t in tqdm(range(cfg.ticks), desc=desc, disable=not cfg.progress, leave=False):
        slates, ranking = slates_and_ranking(agent, obs)  # ranking (N, 10): the slates and what follows them
        nxt, reward, terminated, truncated, info = env.step(slates)
        recorder.record_step(info, reward, terminated, truncated, ranking)
        window.record_step(info, reward, terminated, truncated, ranking)
        agent.observe(Transitions.from_step(obs, slates, info, reward, terminated, truncated))
        obs = nxt
        steps += 1
        gained += reward
        done = terminated | truncated
        keep = done & clean
        ended_len.append(steps[keep].copy())
        ended_ret.append(gained[keep].copy())
        steps[done], gained[done], clean[done] = 0, 0.0, True
        if (t + 1) % cfg.log_every == 0 or t + 1 == cfg.ticks:
            tick = int(info["world_time"])
            summary = window.summary()
            lengths, returns = np.concatenate(ended_len), np.concatenate(ended_ret)
            summary["session_length"] = float(lengths.mean()) if lengths.size else math.nan
            summary["return"] = float(returns.mean()) if lengths.size else math.nan
            for tag, key in tags.items():
                value = summary.get(key, math.nan)
                if not math.isnan(value):
                    writer.add_scalar(tag, value, global_step=tick)
                    series[key].append((tick, value))
            window = Recorder()
            window.record_reset(reset_info(env.unwrapped.state))
            ended_len, ended_ret = [], []
    summary = recorder.summary()
    for tag, key in FINAL_TAGS.items():
        if not math.isnan(summary[key]):
            writer.add_scalar(tag, summary[key], global_step=int(env.unwrapped.state.time))
            series[key].append((int(env.unwrapped.state.time), summary[key]))
    hparams = {"agent": agent_name, "env_id": env_id, "seed": seed, **_flat_config(cfg)}
    keys = report_keys(spec.slate_size)
    metrics = {f"final/{k}": v for k, v in summary.items() if k in keys and not math.isnan(v)}
    writer.add_hparams(hparams, metrics, run_name=".")
    writer.close()
    return RunRecord(agent_name, env_id, seed, summary, series, recorder.to_log(), time.perf_counter() - began)


def _flat_config(cfg: CompareConfig) -> dict[str, Any]:
    """The config as TensorBoard hyperparameters (scalars and strings only)."""
    out: dict[str, Any] = {}
    for f in fields(cfg):
        if f.name in ("agents", "extra", "progress"):
            continue
        value = getattr(cfg, f.name)
        out[f.name] = (
            ",".join(map(str, value))
            if isinstance(value, tuple)
            else value
            if isinstance(value, int | float)
            else str(value)
        )
    return out


def run(cfg: CompareConfig, after_each: Callable[[RunRecord], None] | None = None) -> list[RunRecord]:
    """Every agent x env id x seed; burn-ins are computed once per (env id, seed) and cached under the root.

    ``after_each`` is called with every finished run (the demo checks its training process there).
    """
    if cfg.threads:
        import torch

        torch.set_num_threads(cfg.threads)
    from freshrec.agents.ppo.agent import check_model_encoder

    env_kwargs = {"encoder": cfg.encoder, **cfg.extra}
    for path in cfg.model_paths().values():  # a missing or mismatched model is said before the first burn-in
        check_model_encoder(path, env_kwargs["encoder"])
    records = []
    for env_id in cfg.env_ids:
        for seed in cfg.world_seeds():
            start = burn_in(
                env_id, seed, cfg.num_envs, cfg.burn_in, cfg.logging_epsilon, env_kwargs,
                cache=cfg.root / "burn_in" if not cfg.extra else None, progress=cfg.progress,
            )  # fmt: skip
            for agent_name in cfg.agents:
                record = run_one(cfg, agent_name, env_id, seed, start)
                records.append(record)
                if cfg.progress:
                    print(describe(record))
                if after_each is not None:
                    after_each(record)
    return records


def describe(record: RunRecord) -> str:
    """The one-line progress report of a finished run."""
    s = record.summary
    return (
        f"  {record.env_id.split('/')[-1]:>16} seed {record.seed} {record.agent:>20}: CTR {s['ctr']:.3f}  "
        f"return {s['return']:.2f}  ({record.seconds:.0f} s)"
    )


def agent_seed(seed: int) -> int:
    """The agents' own seed on world ``seed``: a separate stream from the world's and the logging policy's."""
    return int(np.random.SeedSequence([seed, 2]).generate_state(1)[0])


def results_table(records: list[RunRecord]) -> dict[str, dict[str, dict[str, dict[str, Any]]]]:
    """env id -> agent -> metric -> {mean, ci95, values} over seeds."""
    out: dict[str, dict[str, dict[str, dict[str, Any]]]] = {}
    k = records[0].log.slate_item_ids.shape[1] if records else 5
    for r in records:
        out.setdefault(r.env_id, {}).setdefault(r.agent, {})
    for env_id, agents in out.items():
        for agent in agents:
            runs = [r for r in records if r.env_id == env_id and r.agent == agent]
            for key in report_keys(k):
                values = [r.summary.get(key, math.nan) for r in runs]
                m, h = mean_ci(values)
                agents[agent][key] = {"mean": m, "ci95": h, "values": values}
    return out


def markdown(table: dict[str, dict[str, dict[str, dict[str, Any]]]], keys: tuple[str, ...] | None = None) -> str:
    """One table per env id: agents as rows, metrics as columns, mean ± 95% CI; "(n of N seeds)" after a cell
    whose mean is over fewer seeds than the run had (the others gave NaN, e.g. no measured shift event)."""
    parts = []
    for env_id, agents in table.items():
        keys = keys or tuple(next(iter(agents.values())))
        lines = [f"### {env_id}", "", "| agent | " + " | ".join(keys) + " |", "|---|" + "---|" * len(keys)]
        for agent, metrics in agents.items():
            cells = []
            for key in keys:
                m, h, values = metrics[key]["mean"], metrics[key]["ci95"], metrics[key]["values"]
                n = sum(not math.isnan(v) for v in values)
                cell = "n/a" if math.isnan(m) else f"{m:.3g}" + ("" if math.isnan(h) else f" ± {h:.2g}")
                cells.append(cell + (f" ({n} of {len(values)} seeds)" if 0 < n < len(values) else ""))
            lines.append(f"| {agent} | " + " | ".join(cells) + " |")
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


def write_report(cfg: CompareConfig, records: list[RunRecord], seconds: float) -> Path:
    """results.json, results.md and the plots under ``<root>/report``."""
    from freshrec.experiments.plots import plot_all

    out = cfg.root / "report"
    out.mkdir(parents=True, exist_ok=True)
    table = results_table(records)
    meta = {
        "config": {k: (list(v) if isinstance(v, tuple) else str(v)) for k, v in asdict(cfg).items() if k != "extra"},
        "seeds": cfg.world_seeds(),
        "seconds": round(seconds, 1),
        "run_seconds": {f"{r.env_id}|{r.agent}|{r.seed}": round(r.seconds, 1) for r in records},
    }
    (out / "results.json").write_text(json.dumps({"meta": meta, "results": table}, indent=1, default=float))
    plots = plot_all(records, out)
    md = [
        f"# {cfg.experiment}: {len(cfg.agents)} agents x {len(cfg.env_ids)} regimes x {len(cfg.world_seeds())} "
        f"{'validation' if cfg.validation_seeds else 'held-out'} seeds",
        "",
        f"{cfg.num_envs} sessions, {cfg.burn_in} burn-in ticks (most-popular, epsilon {cfg.logging_epsilon}), then "
        f"{cfg.ticks} ticks per run; mean ± 95% CI (Student t) over seeds {meta['seeds']}; {seconds:.0f} s in all. "
        f"TensorBoard: `tensorboard --logdir {cfg.root}`.",
        "",
        markdown(table),
        "",
        *[f"![{name}]({name})" for name in plots],
    ]
    (out / "results.md").write_text("\n".join(md) + "\n")
    return out


def _parse(argv: list[str] | None) -> CompareConfig:
    return parse_config(CompareConfig, argv, __doc__, skip=("extra",))


def main(argv: list[str] | None = None) -> list[RunRecord]:
    """Command line entry point."""
    cfg = _parse(argv)
    began = time.perf_counter()
    print(
        f"{cfg.experiment}: agents {', '.join(cfg.agents)} on {', '.join(cfg.env_ids)}, seeds "
        f"{cfg.world_seeds()}, {cfg.num_envs} sessions x {cfg.ticks} ticks after {cfg.burn_in} burn-in"
    )
    records = run(cfg)
    out = write_report(cfg, records, time.perf_counter() - began)
    k = records[0].log.slate_item_ids.shape[1]
    shown = (
        "ctr",
        f"precision@{k}",
        f"recall@{k}",
        RANKING_RECALL,
        f"fresh_share@{k}",
        "drift_recovery_steps",
        "return",
    )
    print(markdown(results_table(records), shown))
    print(f"report: {out}/results.md; TensorBoard: tensorboard --logdir {cfg.root}")
    return records


if __name__ == "__main__":
    main()
