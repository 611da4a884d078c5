"""``TrainConfig``: every setting of one PPO run of ``train_agent``, each field a command-line flag with its docstring.

Its own module so that the config (validated field by field on construction, saved as ``config.json`` with a run)
can be read without the training code; ``freshrec.experiments.train_agent`` re-exports it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from stable_baselines3.common.utils import ConstantSchedule, LinearSchedule

from freshrec.agents.ppo import FreshRecMLPPolicy, FreshRecTransformerPolicy
from freshrec.agents.ppo.policy import PRECISIONS, check_ctr_prior_scale
from freshrec.envs.registration import ENV_IDS
from freshrec.experiments.seeds import TRAIN_SEEDS, check_eval_seed

POLICIES = {"transformer": FreshRecTransformerPolicy, "mlp": FreshRecMLPPolicy}
# SB3's schedules are picklable classes, so a checkpoint (model.zip) carries its schedule and a resumed run's
# progress (num_timesteps / total_steps: one learn() call to total_steps, fresh or resumed) picks it up.
LR_SCHEDULES: dict[str, Any] = {
    "constant": ConstantSchedule,
    "linear": lambda lr: LinearSchedule(lr, 0.0, 1.0),
}


@dataclass(frozen=True)
class TrainConfig:
    """One PPO run. Every field is a command-line flag; defaults are the measured defaults (see README)."""

    env_id: str = "freshrec/DriftingUsers-v0"
    """Registered env id to train on."""
    experiment: str = "ppo"
    """Experiment name, part of the run name."""
    seed: int = 0
    """Training seed (world, policy init, sampling); must be in TRAIN_SEEDS [0, 10000)."""
    policy: str = "transformer"
    """Policy network: "transformer" (default) or "mlp" (the ablation)."""
    total_steps: int = 500_000
    """Env steps to train for (one step = one slate shown to one session)."""
    num_envs: int = 64
    """Concurrent sessions of the native vector env."""
    n_steps: int = 64
    """Steps per session per rollout (a rollout is num_envs * n_steps env steps)."""
    batch_size: int = 1024
    """PPO minibatch size."""
    n_epochs: int = 3
    """PPO epochs over each rollout."""
    learning_rate: float = 5e-4
    """Adam learning rate (the start of the schedule)."""
    lr_schedule: str = "linear"
    """"linear": from learning_rate down to 0 at total_steps (CleanRL's anneal_lr), chosen on validation worlds
    over five training seeds (docs/ppo-results.md, "Choosing the learning-rate schedule"); or "constant". A resumed run
    continues the same schedule."""
    gamma: float = 0.99
    """Discount per step."""
    gae_lambda: float = 0.95
    """GAE lambda."""
    clip_range: float = 0.2
    """PPO clip range."""
    ent_coef: float = 0.03
    """Entropy bonus on the chain-rule slate entropy (see PlackettLuceDistribution); 0.03 chosen on validation
    worlds over three training seeds (docs/ppo-results.md, "Choosing the entropy bonus")."""
    d_model: int = 32
    """Token width of the policy."""
    layers: int = 1
    """Encoder and decoder layers (transformer policy)."""
    heads: int = 1
    """Attention heads (transformer policy)."""
    candidate_self_attention: bool = False
    """Candidates also attend to each other (PyTorch's decoder layer; slower, see README)."""
    match_features: bool = False
    """Each candidate token also gets its text's match with the user's clicks and skips (``text_match`` in
    agents/ppo/networks.py); off by default: on validation worlds it scored below the default (docs/ppo-results.md,
    "Match features")."""
    topic_embeddings: bool = False
    """Every token also gets a learned embedding of its item's topic (a public category; ``TokenEmbedding`` in
    agents/ppo/networks.py); off by default: on validation worlds it scored below the default
    (docs/ppo-results.md, "Topic embeddings")."""
    topic_match: bool = False
    """Each candidate token also gets how its topic matches the user's clicks and skips (``topic_match_columns`` in
    agents/ppo/networks.py: shares and a recency-weighted count of the same topic, from the public ``*_topics``);
    off by default: on top of the CTR prior it scored lower on every validation seed (docs/ppo-results.md, "Topic
    match on top of the prior")."""
    ctr_prior: bool = True
    """Each candidate's score also gets ``beta * log(smoothed public CTR)``, ``beta`` learned from ``ctr_prior_scale``:
    PPO starts from the ``public-ctr`` baseline's ranking and learns a correction (``FreshRecSlatePolicy``, agents/ppo/policy.py).
    Chosen on validation worlds over three training seeds (docs/ppo-results.md, "Starting from the public-CTR
    ranker"); ``--no-ctr-prior`` trains from scratch, as every run before December 4, 2026 did, and a
    ``config.json`` without the field reads as off."""
    ctr_prior_scale: float = 4.0
    """The CTR prior's initial beta (learned from there): slates are drawn in proportion to CTR^beta at first, so a
    larger value starts training closer to the ``public-ctr`` slate the policy is evaluated on. 4 chosen over 1 on
    validation worlds over three training seeds (docs/ppo-results.md, "Starting from the public-CTR ranker", "A
    sharper prior"); every run before December 4, 2026 used 1 (``--ctr-prior-scale 1``), and a ``config.json``
    without the field reads as 1."""
    reveal_relevance: bool = False
    """Diagnostic, not a recommender: the policy is also given each candidate's hidden solo click probability,
    what the myopic oracle ranks by (``FreshRecVectorEnv(reveal_relevance=True)``; when such a model is evaluated,
    the agent reads it from the env as the oracle does). It measures how much of PPO's gap to the oracle is
    information and how much learning (docs/ppo-results.md, "Information or learning")."""
    relevance_coef: float = 0.0
    """Privileged, off by default: weight of an auxiliary loss fitting the policy's scores to every candidate's
    hidden solo click probability on the training rollouts (``FreshRecPPO``, agents/ppo/algorithm.py). The
    training env reveals it; the policy does not read it, so the trained agent acts on public signals only
    (docs/ppo-results.md, "Information or learning")."""
    choice_coef: float = 4.0
    """Weight of the auxiliary slate-choice loss added to each PPO minibatch's loss (``FreshRecPPO``,
    agents/ppo/algorithm.py); 4 chosen over 1 on validation worlds over three training seeds
    (docs/ppo-results.md, "The choice loss inside PPO's update"); 0 = PPO alone, as before December 2026."""
    choice_epochs: int = 0
    """Auxiliary choice phase: after each PPO update, passes of the warm start's slate-choice loss over the
    clicked steps of the rollout just collected, with PPO's optimizer (``experiments/warm_start.py``); 0 = off,
    the default (docs/ppo-results.md, "The auxiliary choice loss")."""
    warm_start_ticks: int = 0
    """Supervised warm start: ticks of the logging policy whose clicks pre-train the scorer (0 = from scratch)."""
    warm_start_epochs: int = 3
    """Epochs over the warm-start clicks."""
    precision: str = "auto"
    """The policy's matmuls: "fp32", "bf16" (bfloat16 autocast in the features extractor; ``FreshRecSlatePolicy``)
    or "auto": bf16 where the device has native bfloat16 (CPUs with AVX512-BF16 or AMX, CUDA GPUs that support it),
    fp32 elsewhere. The model saves the precision it used. docs/ppo-results.md: "bfloat16 matmuls"."""
    threads: int = 1
    """torch CPU threads (1 measured faster than 2 on a busy 2-core machine; see README)."""
    device: str = "auto"
    """"auto" (CUDA when present), "cpu" or "cuda"."""
    eval_every: int = 100_000
    """Env steps between validation evaluations (eval/* tags); 0 turns them off."""
    eval_ticks: int = 200
    """Ticks of each validation evaluation."""
    eval_envs: int = 128
    """Concurrent sessions of each validation evaluation."""
    eval_burn_in: int = 300
    """Ticks of the comparison harness's logging policy (most-popular, epsilon 0.2) on the validation world before
    each evaluation, so validation starts as the harness does (0: a fresh world)."""
    train_burn_in: int = 300
    """Ticks of the harness's logging policy before each training world, so training starts as the harness's
    evaluation does (0: train on one fresh world)."""
    train_world_steps: int = 65_536
    """With train_burn_in: env steps on each burned-in training world before moving to the next."""
    checkpoint_every: int = 100_000
    """Env steps between checkpoints (one is always written at the end)."""
    encoder: str = "minilm"
    """Item text encoder: "minilm" or "hashing:DIM"."""
    runs_dir: Path = Path("runs")
    """Root folder of runs."""
    resume: str = ""
    """A run folder to continue from its last checkpoint, with its saved config (other flags but --progress are ignored)."""
    progress: bool = True
    """Progress bar and a line per evaluation."""

    def __post_init__(self) -> None:
        if self.env_id not in ENV_IDS:
            raise ValueError(f"env_id = {self.env_id!r}: must be one of {sorted(ENV_IDS)}")
        check_eval_seed(self.seed)
        if self.seed not in TRAIN_SEEDS:
            raise ValueError(f"seed = {self.seed}: must be in TRAIN_SEEDS [0, 10000)")
        choices = {"policy": sorted(POLICIES), "device": ["auto", "cpu", "cuda"], "lr_schedule": list(LR_SCHEDULES),
                   "precision": ["auto", *PRECISIONS]}  # fmt: skip
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} = {getattr(self, name)!r}: must be one of {allowed}")
        for name in ("total_steps", "num_envs", "n_steps", "batch_size", "n_epochs", "d_model", "layers", "heads"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} = {getattr(self, name)}: must be >= 1")
        if self.train_world_steps < 1:
            raise ValueError(f"train_world_steps = {self.train_world_steps}: must be >= 1")
        for name in (
            "eval_every", "checkpoint_every", "warm_start_ticks", "warm_start_epochs", "eval_burn_in", "train_burn_in",
            "choice_epochs",
        ):  # fmt: skip
            if getattr(self, name) < 0:
                raise ValueError(f"{name} = {getattr(self, name)}: must be >= 0 (0 = off)")
        if self.batch_size > self.num_envs * self.n_steps:
            raise ValueError(
                f"batch_size = {self.batch_size}: must be at most num_envs * n_steps = {self.num_envs * self.n_steps}"
            )
        if not self.choice_coef >= 0:
            raise ValueError(f"choice_coef = {self.choice_coef}: must be >= 0 (0 = off)")
        if not self.relevance_coef >= 0:
            raise ValueError(f"relevance_coef = {self.relevance_coef}: must be >= 0 (0 = off)")
        check_ctr_prior_scale(self.ctr_prior_scale)
        if self.threads < 1:
            raise ValueError(f"threads = {self.threads}: must be >= 1")
        if not 0 < self.learning_rate < 1:
            raise ValueError(f"learning_rate = {self.learning_rate}: must be in (0, 1)")
        if not 0 <= self.gamma <= 1 or not 0 <= self.gae_lambda <= 1:
            raise ValueError(f"gamma = {self.gamma}, gae_lambda = {self.gae_lambda}: each must be in [0, 1]")

    def run_name(self, stamp: int) -> str:
        """``<env id>__<experiment>__<seed>__<unix time>``, the env id's slash as an underscore."""
        return f"{self.env_id.replace('/', '_')}__{self.experiment}__{self.seed}__{stamp}"

    def validation_seed(self) -> int:
        """The validation world's seed: derived from the training seed, in TRAIN_SEEDS, never the seed itself."""
        return (self.seed + 5_000) % 10_000

    def warm_start_seed(self) -> int:
        """The warm-start log's world: derived from the training seed, in TRAIN_SEEDS."""
        return (self.seed + 2_500) % 10_000

    def train_world_seed(self, k: int) -> int:
        """The k-th burned-in training world's seed: in TRAIN_SEEDS, apart from the validation and warm-start ones."""
        return (self.seed + 7_501 + k) % 10_000

    def world_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of every env this run trains on (``gymnasium.make_vec(env_id, **them)``)."""
        reveal = self.reveal_relevance or self.relevance_coef > 0
        return {"encoder": self.encoder, **({"reveal_relevance": True} if reveal else {})}

    def to_json(self) -> dict[str, Any]:
        return {k: str(v) if isinstance(v, Path) else v for k, v in asdict(self).items()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        kwargs: dict[str, Any] = {k: Path(v) if k == "runs_dir" else v for k, v in data.items() if k in known}
        kwargs.setdefault("lr_schedule", "constant")  # runs saved before the field existed trained at a constant rate
        kwargs.setdefault("choice_coef", 0.0)  # and those saved before this one, without the choice loss
        kwargs.setdefault("precision", "fp32")  # and those saved before precision existed, in float32
        kwargs.setdefault("ctr_prior", False)  # and those saved before the prior existed, without it
        kwargs.setdefault("ctr_prior_scale", 1.0)  # and those saved before its scale existed, from beta 1
        return cls(**kwargs)
