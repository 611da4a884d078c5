"""The comparison harness's configuration: what runs, on which worlds, checked by name before anything runs.

Every field is a command-line flag of ``python -m freshrec.experiments.compare`` (``--help`` lists them). Kept
apart from the harness itself (``compare.py``) so that each file stays a few hundred lines.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from freshrec.agents.log import AgentSpec
from freshrec.agents.registry import BASELINES, NAMES, known, make_agent, needs_model
from freshrec.envs.registration import ENV_IDS
from freshrec.envs.text.encoder import check_encoder
from freshrec.experiments.burn_in import LOGGING_EPSILON
from freshrec.experiments.seeds import EVAL_SEEDS, TRAIN_SEEDS


@dataclass(frozen=True)
class CompareConfig:
    """What the comparison runs. Every field is a command-line flag (tuples comma-separated)."""

    experiment: str = "compare"
    """Name: runs land in ``runs_dir/experiment``."""
    agents: tuple[str, ...] = BASELINES
    """Agents by registry name (``freshrec.agents.registry.AGENTS``, ``ppo-<label>``, or the diagnostics
    ``oracle-boredom-<w>`` and ``oracle-rollout``); default: every baseline."""
    models: tuple[str, ...] = ()
    """Trained models for the agents that need one, as name=path (e.g. ppo=runs/<run>/final_model.zip)."""
    env_ids: tuple[str, ...] = ("freshrec/DriftingUsers-v0", "freshrec/Stationary-v0")
    """Registered env ids (regimes)."""
    seeds: int = 3
    """How many held-out evaluation seeds (the first of ``EVAL_SEEDS``, after ``skip_seeds``)."""
    skip_seeds: int = 0
    """Held-out seeds to skip from the start of ``EVAL_SEEDS``: 5 runs 10006 onwards, worlds that no result
    before December 4, 2026 was seen on (``experiments/seeds.py``)."""
    validation_seeds: tuple[int, ...] = ()
    """World seeds to run instead of the held-out ones, to choose a setting before any held-out run (e.g.
    9001,9002,9003, as ``select_runs`` does for PPO): each must be a training seed, never a held-out one;
    ``seeds`` is then not read."""
    ticks: int = 1000
    """World ticks per run after burn-in (every session gets one slate per tick)."""
    num_envs: int = 256
    """Concurrent sessions."""
    burn_in: int = 300
    """Ticks of the logging policy before the agents start (their initial log)."""
    logging_epsilon: float = LOGGING_EPSILON
    """Share of random slates in the logging policy."""
    log_every: int = 50
    """Ticks per TensorBoard point (each point summarises those ticks)."""
    encoder: str = "minilm"
    """Item text encoder: "minilm" or "hashing:DIM"."""
    runs_dir: Path = Path("runs")
    """Root of TensorBoard runs and reports."""
    progress: bool = True
    """Progress bars."""
    threads: int = 0
    """torch CPU threads for the torch agents (0: torch's default). Use 1 when another busy process shares the
    cores: two-thread torch processes slowed down up to 20x here when the other core was busy."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Extra env keyword arguments (e.g. a WorldConfig for experiments; not a flag)."""

    def __post_init__(self) -> None:
        unknown = [a for a in self.agents if not known(a)]
        if unknown or not self.agents:
            raise ValueError(f"agents = {list(self.agents)}: each must be {NAMES}")
        for name in (a for a in self.agents if ":" in a):  # options are checked now, not after the first burn-in
            make_agent(name, AgentSpec(slate_size=1, num_candidates=2, feature_dim=4, history=1), 0, None)
        models = self.model_paths()
        missing = [a for a in self.agents if needs_model(a) and a not in models]
        if missing:
            raise ValueError(
                f"agents {missing} need a trained model: pass models=('{missing[0]}=PATH',) (CLI: --models {missing[0]}=PATH)"
            )
        bad = [e for e in self.env_ids if e not in ENV_IDS]
        if bad or not self.env_ids:
            raise ValueError(f"env_ids = {list(self.env_ids)}: each must be one of {sorted(ENV_IDS)}")
        if not 0 <= self.skip_seeds < len(EVAL_SEEDS):
            raise ValueError(f"skip_seeds = {self.skip_seeds}: must be in [0, {len(EVAL_SEEDS) - 1}]")
        left = len(EVAL_SEEDS) - self.skip_seeds
        if not 1 <= self.seeds <= left:
            raise ValueError(
                f"seeds = {self.seeds}: must be in [1, {left}], how many of the held-out seeds "
                f"{EVAL_SEEDS[0]}–{EVAL_SEEDS[-1]} to run (the first ones after skip_seeds = {self.skip_seeds})"
            )
        try:  # the command line gives strings
            seeds = tuple(int(x) for x in self.validation_seeds)
        except ValueError:
            raise ValueError(f"validation_seeds = {list(self.validation_seeds)}: must be integers") from None
        object.__setattr__(self, "validation_seeds", seeds)
        for seed in seeds:
            if seed not in TRAIN_SEEDS:  # which the held-out seeds are not (tests/experiments/test_seeds.py)
                raise ValueError(f"validation_seeds: {seed} must be in [0, 10000), the training seeds")
        for name in ("ticks", "num_envs", "burn_in", "log_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} = {getattr(self, name)}: must be >= 1")
        if self.threads < 0:
            raise ValueError(f"threads = {self.threads}: must be >= 0 (0: torch's default)")
        if not 0.0 <= self.logging_epsilon <= 1.0:
            raise ValueError(f"logging_epsilon = {self.logging_epsilon}: must be in [0, 1]")
        check_encoder(self.encoder)  # by name, before any burn-in

    def model_paths(self) -> dict[str, str]:
        """Agent name -> model path, from ``models``."""
        out = {}
        for item in self.models:
            name, sep, path = item.partition("=")
            if not sep or not needs_model(name) or not path:
                raise ValueError(f"models entry {item!r}: must be NAME=PATH with NAME ppo, ppo-mlp or ppo-<label>")
            out[name] = path
        return out

    def world_seeds(self) -> list[int]:
        """The world seeds this comparison runs: ``validation_seeds`` if given, else ``seeds`` held-out ones after
        the first ``skip_seeds``."""
        if self.validation_seeds:
            return list(self.validation_seeds)
        return list(EVAL_SEEDS[self.skip_seeds : self.skip_seeds + self.seeds])

    @property
    def root(self) -> Path:
        """Where this experiment's runs and report land."""
        return self.runs_dir / self.experiment
