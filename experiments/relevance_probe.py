"""A diagnostic: how much of the hidden relevance the public observation carries, read by PPO's own network.

    python -m freshrec.experiments.relevance_probe --seed 0 --runs-dir runs/probe
    python -m freshrec.experiments.compare --agents random,myopic-oracle,ppo-probe \\
        --models ppo-probe=runs/probe/<run>/model.zip

PPO told the hidden relevance (``train_agent --reveal-relevance``) plays about as well as the myopic
oracle, so the oracle's information is what PPO lacks from public signals (docs/ppo-results.md, "Information or
learning"). This asks the other half: how much of that information a policy can read from the public
observation. The default PPO policy (same network, same public inputs, nothing revealed) is fitted
by supervised regression to every candidate's hidden solo click probability
(``World.candidate_relevance``): binary cross-entropy of its scores with the probability as a soft
label, over every valid candidate of every step. That is a far denser signal than PPO's clicks (M
labels a step, without noise), so the fit approaches what this network can read from the
observation (more data still helped: docs/ppo-results.md). Its deterministic slates are the top K of the
predicted relevance: the myopic oracle imitated from public signals. The model is saved as a PPO model
(``model.zip``; the value head is untrained and unused by deterministic slates), so the harness
plays it as any PPO run.

The data: on ``worlds`` burned-in worlds of training seeds (``ProbeConfig.world_seed``; never a
held-out one), ``ticks`` ticks in which the myopic oracle picks the slates (with probability ``epsilon``
a session's slate is uniformly random), every step's observation with every candidate's relevance.
One more such world is kept apart to measure the fit: the cross-entropy, against a constant's and
the truth's (``apart_explained``: the share of the constant's excess over the truth that the probe
removes), and how many of the oracle's K picks the probe's top K holds (``topk_agreement``), next
to what random slates hold.

``--dagger-rounds R`` asks whether the probe plays poorly because it learned only on the oracle's states
(the compounding error of imitation): DAgger (Ross et al., 2011). Each round collects ``dagger_worlds``
more training worlds with the probe's own slates (its top K, ``epsilon`` of them random), still labelled
with the oracle's relevance, adds them to the data and fits ``dagger_epochs`` more passes over all of it.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy.special import xlogy
from torch.nn import functional as F
from tqdm import tqdm

from freshrec.agents.base import top_k
from freshrec.agents.oracle import MyopicOracleAgent
from freshrec.agents.ppo.policy import FreshRecSlatePolicy
from freshrec.envs import ENV_IDS
from freshrec.experiments.burn_in import LOGGING_EPSILON, burn_in
from freshrec.experiments.cli import parse_config
from freshrec.experiments.seeds import TRAIN_SEEDS, check_eval_seed


@dataclass(frozen=True)
class ProbeConfig:
    """One probe. Every field is a command-line flag; the policy is ``train_agent``'s default one."""

    env_id: str = "freshrec/DriftingUsers-v0"
    """Registered env id."""
    seed: int = 0
    """Probe seed (its worlds, the policy's initialisation, the shuffling); in TRAIN_SEEDS [0, 10000)."""
    worlds: int = 8
    """Burned-in training worlds to collect on (one more is kept apart to measure the fit); 8 with 16 epochs fit
    better than 4 with 8 (docs/ppo-results.md, "Information or learning"), about 9 minutes on one core."""
    ticks: int = 400
    """Ticks collected on each world."""
    num_envs: int = 64
    """Concurrent sessions of each world."""
    burn_in: int = 300
    """Ticks of the harness's logging policy before collecting, so the worlds start as the harness's do."""
    epsilon: float = 0.2
    """Share of uniformly random slates among the oracle's while collecting."""
    epochs: int = 16
    """Passes over the collected steps."""
    batch_size: int = 1024
    """Minibatch size (steps)."""
    learning_rate: float = 1e-3
    """Adam's learning rate."""
    encoder: str = "minilm"
    """Item text encoder: "minilm" or "hashing:DIM"."""
    threads: int = 1
    """torch CPU threads."""
    runs_dir: Path = Path("runs")
    """Root folder of runs."""
    experiment: str = "probe"
    """Experiment name, part of the run name."""
    dagger_rounds: int = 0
    """DAgger rounds after the first fit (0: the oracle's states only)."""
    dagger_worlds: int = 4
    """Worlds each DAgger round collects with the probe's own slates."""
    dagger_epochs: int = 4
    """Passes over all the data collected so far after each DAgger round."""
    also: tuple[str, ...] = ()
    """Saved PPO models (``.zip``, comma-separated) whose top-K agreement with the oracle on the world apart is
    reported beside the probe's; a model trained with the relevance revealed is given it."""
    progress: bool = True
    """Progress bars."""

    def __post_init__(self) -> None:
        if self.env_id not in ENV_IDS:
            raise ValueError(f"env_id = {self.env_id!r}: must be one of {sorted(ENV_IDS)}")
        check_eval_seed(self.seed)
        if self.seed not in TRAIN_SEEDS:
            raise ValueError(f"seed = {self.seed}: must be in TRAIN_SEEDS [0, 10000)")
        for name in ("worlds", "ticks", "num_envs", "burn_in", "epochs", "batch_size", "threads"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} = {getattr(self, name)}: must be >= 1")
        for name in ("dagger_worlds", "dagger_epochs"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} = {getattr(self, name)}: must be >= 1")
        if self.dagger_rounds < 0:
            raise ValueError(f"dagger_rounds = {self.dagger_rounds}: must be >= 0")
        worlds = {self.world_seed(k) for k in range(self.worlds + 1 + self.dagger_rounds * self.dagger_worlds)}
        if clash := sorted(worlds & {9_001, 9_002, 9_003}):
            raise ValueError(
                f"seed = {self.seed}: its worlds would include {clash}, select_runs' validation worlds; pick a seed "
                "whose worlds (seed + 8,001 onwards, one per world, the one apart and DAgger's) miss 9001-9003"
            )
        if not 0.0 <= self.epsilon <= 1.0:
            raise ValueError(f"epsilon = {self.epsilon}: must be in [0, 1]")
        if not 0 < self.learning_rate < 1:
            raise ValueError(f"learning_rate = {self.learning_rate}: must be in (0, 1)")
        from freshrec.agents.ppo.agent import check_model_encoder

        for path in self.also:
            if not Path(path).is_file():
                raise ValueError(f"also: {path!r} is not a file (a saved PPO model, e.g. runs/<run>/best_model.zip)")
            check_model_encoder(path, self.encoder)  # now, not after the probe's training: it scores these items

    def world_seed(self, k: int) -> int:
        """The k-th world's seed (k = worlds: the one kept apart; after it DAgger's): training seeds apart from
        ``train_agent``'s validation (seed + 5,000), warm-start (+ 2,500) and training worlds (+ 7,501 + k,
        k < 500), and from ``select_runs``' 9001-9003 (checked in ``__post_init__``)."""
        return (self.seed + 8_001 + k) % 10_000


def collect(
    cfg: ProbeConfig, world_seed: int, rng: np.random.Generator, chooser: FreshRecSlatePolicy | None = None
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Observations (R, ...) and every candidate's hidden relevance (R, M) of ``cfg.ticks`` ticks on one world,
    R = ticks * num_envs, the myopic oracle picking the slates, or ``chooser`` (the top K of its scores);
    ``epsilon`` of them random."""
    start = burn_in(
        cfg.env_id, world_seed, cfg.num_envs, cfg.burn_in, LOGGING_EPSILON, {"encoder": cfg.encoder},
        cache=None, progress=False,
    )  # fmt: skip
    env, obs = start.start()
    k = env.unwrapped.config.slate.slate_size
    oracle = MyopicOracleAgent(env, k)
    kept: list[dict[str, np.ndarray]] = []
    labels: list[np.ndarray] = []
    for _ in tqdm(range(cfg.ticks), desc=f"probe: world {world_seed}", disable=not cfg.progress, leave=False):
        relevance = oracle.relevance()  # (N, M), 0 where masked
        kept.append(obs)
        labels.append(relevance.astype(np.float32))
        mask = obs["candidate_mask"]
        slates = top_k(relevance if chooser is None else scores_of(chooser, obs), mask, k)
        explore = rng.random(cfg.num_envs) < cfg.epsilon
        # Random slates: valid candidates in random order (masked ones sort last).
        noise = rng.random(mask.shape) + (mask == 0)
        slates[explore] = np.argsort(noise[explore], axis=1)[:, :k]
        obs = env.step(slates)[0]
    env.close()
    return {key: np.concatenate([o[key] for o in kept]) for key in kept[0]}, np.concatenate(labels)


def relevance_loss(
    policy: FreshRecSlatePolicy, data: dict[str, np.ndarray], relevance: np.ndarray
) -> tuple[torch.Tensor, torch.Tensor]:
    """(mean binary cross-entropy of the policy's scores against ``relevance`` (R, M) over valid candidates,
    the scores (R, M))."""
    obs, _ = policy.obs_to_tensor(data)
    scores = policy.score(obs)  # type: ignore[arg-type]  # (R, M), masked ones at the distribution's floor
    valid = torch.as_tensor(data["candidate_mask"], device=scores.device).bool()
    target = torch.as_tensor(relevance, device=scores.device)
    return F.binary_cross_entropy_with_logits(scores[valid], target[valid]), scores


def scores_of(policy: FreshRecSlatePolicy, obs: dict[str, np.ndarray]) -> np.ndarray:
    """(N, M) the policy's candidate scores, without gradients."""
    with torch.no_grad():
        tensors, _ = policy.obs_to_tensor(obs)
        return policy.score(tensors).float().cpu().numpy()  # type: ignore[arg-type]


def overlap(ours: np.ndarray, theirs: np.ndarray) -> float:
    """Mean share of the positions in ``theirs`` (R, k) that ``ours`` (R, k) holds too."""
    return float((ours[:, :, None] == theirs[:, None, :]).any(axis=1).mean())


def agreement(scores: np.ndarray, relevance: np.ndarray, mask: np.ndarray, k: int) -> float:
    """Mean share of the oracle's top k (by ``relevance``) among the top k of ``scores``; (R, M) each."""
    return overlap(top_k(scores, mask, k), top_k(relevance, mask, k))


def cross_entropy_bounds(
    train: np.ndarray, train_mask: np.ndarray, apart: np.ndarray, apart_mask: np.ndarray
) -> dict[str, float]:
    """The cross-entropy on the world apart of a perfect predictor (the labels' mean binary entropy, the floor) and
    of the best constant one (the training labels' mean), each over valid candidates; (R, M) arrays."""
    p = apart[apart_mask.astype(bool)].astype(np.float64)
    q = float(train[train_mask.astype(bool)].mean())
    floor = -(xlogy(p, p) + xlogy(1 - p, 1 - p)).mean()
    constant = -(p * np.log(q) + (1 - p) * np.log(1 - q)).mean()
    return {"floor": float(floor), "constant": float(constant)}


def evaluate(
    policy: FreshRecSlatePolicy, data: dict[str, np.ndarray], relevance: np.ndarray, k: int, batch_size: int
) -> dict[str, float]:
    """Cross-entropy and top-k agreement with the oracle on ``data``, batch by batch."""
    losses, scores = [], []
    with torch.no_grad():
        for s in range(0, relevance.shape[0], batch_size):
            part = {key: v[s : s + batch_size] for key, v in data.items()}
            loss, sc = relevance_loss(policy, part, relevance[s : s + batch_size])
            losses.append(float(loss) * sc.shape[0])
            scores.append(sc.cpu().numpy())
    mask = data["candidate_mask"]
    return {
        "cross_entropy": sum(losses) / relevance.shape[0],
        "topk_agreement": agreement(np.concatenate(scores), relevance, mask, k),
    }


def fit(
    policy: FreshRecSlatePolicy,
    data: dict[str, np.ndarray],
    relevance: np.ndarray,
    cfg: ProbeConfig,
    rng: np.random.Generator,
    opt: torch.optim.Optimizer,
    epochs: int,
) -> list[float]:
    """``epochs`` passes of ``relevance_loss`` over shuffled minibatches with ``opt``; the mean loss per epoch."""
    policy.set_training_mode(True)
    n, losses = relevance.shape[0], []
    for _ in tqdm(range(epochs), desc="probe: fitting", disable=not cfg.progress, leave=False):
        order, total = rng.permutation(n), 0.0
        for s in range(0, n, cfg.batch_size):
            idx = order[s : s + cfg.batch_size]
            loss, _ = relevance_loss(policy, {key: v[idx] for key, v in data.items()}, relevance[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()  # type: ignore[no-untyped-call]
            opt.step()
            total += float(loss.detach()) * idx.size
        losses.append(total / n)
    policy.set_training_mode(False)
    return losses


def agreement_of(
    path: str,
    data: dict[str, np.ndarray],
    relevance: np.ndarray,
    k: int,
    batch_size: int,
    encoder: str | None = None,
) -> float:
    """Top-k agreement with the oracle of the deterministic slates of the PPO model saved at ``path`` on ``data``.

    ``encoder``: the encoder that made ``data``'s items; a model trained on another's is refused (None: not
    checked, e.g. when called by hand on data whose encoder is known to match)."""
    from freshrec.agents.ppo.agent import PolicyAgent, load_policy

    agent = PolicyAgent(load_policy(path, device="cpu", encoder=encoder))
    if agent.reads_relevance:  # trained with the hidden relevance revealed: given it, as in training
        data = {**data, "candidate_relevance": relevance}
    slates = np.concatenate(
        [
            agent.rank({key: v[s : s + batch_size] for key, v in data.items()}, k, deterministic=True)
            for s in range(0, relevance.shape[0], batch_size)
        ]
    )  # (R, k)
    return overlap(slates, top_k(relevance, data["candidate_mask"], k))


def run(cfg: ProbeConfig) -> Path:
    """Collect, fit, measure on the world kept apart, save ``model.zip`` and ``probe.json``; returns the run folder."""
    from stable_baselines3.common.utils import set_random_seed

    from freshrec.experiments.checkpoints import new_run_dir
    from freshrec.experiments.train_agent import make_model, make_training_env
    from freshrec.experiments.train_config import TrainConfig

    began = time.perf_counter()
    torch.set_num_threads(cfg.threads)
    set_random_seed(cfg.seed)
    # float32 and no public-CTR prior, as when the probe figures (docs/ppo-results.md) were recorded: both came
    # later. The probe asks what the network reads from public inputs, so a fixed prior would only blur it.
    train_cfg = TrainConfig(
        env_id=cfg.env_id, seed=cfg.seed, encoder=cfg.encoder, progress=False, precision="fp32", ctr_prior=False
    )
    model = make_model(train_cfg, make_training_env(train_cfg))
    policy = model.policy
    assert isinstance(policy, FreshRecSlatePolicy)
    k = len(model.action_space.nvec)  # type: ignore[attr-defined]
    rng = np.random.default_rng(cfg.seed)
    parts = [collect(cfg, cfg.world_seed(i), rng) for i in range(cfg.worlds)]
    data = {key: np.concatenate([p[0][key] for p in parts]) for key in parts[0][0]}
    relevance = np.concatenate([p[1] for p in parts])
    del parts
    apart, apart_relevance = collect(cfg, cfg.world_seed(cfg.worlds), rng)
    # The score head starts at the labels' base rate (the slates do not change: they ignore a shared shift), so
    # the fit spends its steps on telling candidates apart, not on the level.
    base = float(relevance[data["candidate_mask"].astype(bool)].mean())
    head = policy.action_net
    assert isinstance(head, torch.nn.Linear) and head.bias is not None
    with torch.no_grad():
        head.bias.fill_(float(np.log(base / (1 - base))))
    before = evaluate(policy, apart, apart_relevance, k, cfg.batch_size)
    # Adam over everything but the value head (unused by deterministic slates), kept across DAgger's rounds.
    opt = torch.optim.Adam(
        [p for n, p in policy.named_parameters() if not n.startswith("value_net")], cfg.learning_rate
    )
    losses = fit(policy, data, relevance, cfg, rng, opt, cfg.epochs)
    dagger: list[dict[str, Any]] = []
    for r in range(cfg.dagger_rounds):
        seeds = [cfg.world_seed(cfg.worlds + 1 + r * cfg.dagger_worlds + i) for i in range(cfg.dagger_worlds)]
        parts = [collect(cfg, s, rng, chooser=policy) for s in seeds]
        own = {key: np.concatenate([p[0][key] for p in parts]) for key in parts[0][0]}
        own_relevance = np.concatenate([p[1] for p in parts])
        # Measured before the refit: how far the probe's own states lead it from the oracle's picks.
        on_own = evaluate(policy, own, own_relevance, k, cfg.batch_size)
        data = {key: np.concatenate([data[key], own[key]]) for key in data}
        relevance = np.concatenate([relevance, own_relevance])
        del parts, own, own_relevance
        round_losses = fit(policy, data, relevance, cfg, rng, opt, cfg.dagger_epochs)
        after_round = evaluate(policy, apart, apart_relevance, k, cfg.batch_size)
        dagger.append({"worlds": seeds, "own_states_before_refit": on_own, "train_loss": round_losses,
                       "apart_after": after_round, "steps": int(relevance.shape[0])})  # fmt: skip
    after = evaluate(policy, apart, apart_relevance, k, cfg.batch_size)
    shuffled = rng.random(apart_relevance.shape)  # random slates' agreement, the floor
    bounds = cross_entropy_bounds(relevance, data["candidate_mask"], apart_relevance, apart["candidate_mask"])
    # The share of the cross-entropy a constant leaves that the probe explains (1: the truth; 0: no better).
    explained = (bounds["constant"] - after["cross_entropy"]) / (bounds["constant"] - bounds["floor"])
    report: dict[str, Any] = {
        "config": {key: str(v) if isinstance(v, Path) else v for key, v in asdict(cfg).items()},
        "steps": int(relevance.shape[0]),
        "worlds": [cfg.world_seed(i) for i in range(cfg.worlds)],
        "world_apart": cfg.world_seed(cfg.worlds),
        "train_loss": losses,
        "dagger": dagger,
        "apart_before": before,
        "apart_after": after,
        "apart_random_topk_agreement": agreement(shuffled, apart_relevance, apart["candidate_mask"], k),
        "apart_cross_entropy_bounds": bounds,
        "apart_explained": explained,
        "apart_also_topk_agreement": {
            path: agreement_of(path, apart, apart_relevance, k, cfg.batch_size, cfg.encoder) for path in cfg.also
        },
        "seconds": round(time.perf_counter() - began, 1),
    }
    run_dir = new_run_dir(
        cfg.runs_dir, f"{cfg.env_id.replace('/', '_')}__{cfg.experiment}__{cfg.seed}__{int(time.time())}"
    )
    model.save(run_dir / "model.zip")
    (run_dir / "probe.json").write_text(json.dumps(report, indent=1))
    return run_dir


def main(argv: list[str] | None = None) -> Path:
    """Command line entry point."""
    cfg = parse_config(ProbeConfig, argv, __doc__)
    run_dir = run(cfg)
    report = json.loads((run_dir / "probe.json").read_text())
    a, b = report["apart_after"], report["apart_before"]
    print(
        f"{report['steps']:,} steps on worlds {report['worlds']}"
        + "".join(f" + {r['worlds']} (DAgger round {i + 1})" for i, r in enumerate(report["dagger"]))
        + f"; on world {report['world_apart']}: cross-entropy "
        f"{b['cross_entropy']:.4f} -> {a['cross_entropy']:.4f} (a constant: "
        f"{report['apart_cross_entropy_bounds']['constant']:.4f}, the truth: "
        f"{report['apart_cross_entropy_bounds']['floor']:.4f}; explained {report['apart_explained']:.2f}), "
        f"top-K agreement with the oracle "
        f"{b['topk_agreement']:.3f} -> {a['topk_agreement']:.3f} (random slates "
        f"{report['apart_random_topk_agreement']:.3f}); {report['seconds']:.0f} s\n"
        + "".join(f"{path}: top-K agreement {v:.3f}\n" for path, v in report["apart_also_topk_agreement"].items())
        + f"model: {run_dir / 'model.zip'} (harness: --agents ppo-probe --models ppo-probe={run_dir / 'model.zip'})"
    )
    return run_dir


if __name__ == "__main__":
    main()
