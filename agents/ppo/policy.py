"""``FreshRecTransformerPolicy``: an SB3 ``ActorCriticPolicy`` that scores candidates and draws slates without repeats.

    from stable_baselines3 import PPO
    model = PPO(FreshRecTransformerPolicy, env)   # env: any freshrec env (single, vector via the SB3 adapter)

The features extractor (``networks.py``) turns the observation into (B, 1 + M, d) embeddings; the
policy adds a per-candidate score head (``action_net``: d -> 1) and a value head (``value_net``: an
MLP of the summary row and the candidates' mean). Slates follow ``PlackettLuceDistribution``
(``distribution.py``): exact log-probabilities, no repeats, masked candidates last. The MLP
ablation (``FreshRecMLPPolicy``) is the same policy over ``MLPExtractor``.

``precision="bf16"`` (a policy keyword, ``policy_kwargs={"precision": "bf16"}``; default ``"fp32"``)
runs the features extractor under bfloat16 autocast: its matmuls in bfloat16, its softmaxes, the heads
and the slate distribution in float32. Rollouts, updates and play all go through ``_heads``, so a
row's log-probability is the same in a rollout batch and in an update minibatch (tested), as PPO's
ratio needs. Faster only where the hardware multiplies bfloat16 (``native_bf16``); the training
script's ``--precision auto`` picks it there (docs/ppo-results.md, "bfloat16 matmuls").

``ctr_prior=True`` (a policy keyword; off in the class, so that models saved before it load unchanged;
on in the training script) adds ``beta * log(smoothed public CTR)`` to each candidate's score, ``beta``
learned and starting at ``ctr_prior_scale`` (1), the CTR (clicks + 1) / (impressions + 2) read off the
candidate token's public counters: at initialisation the policy's top K is the ``public-ctr``
baseline's slate and PPO learns a correction to it (a residual policy). Why: that rule, with no
learning, beat PPO trained from scratch (docs/ppo-results.md, "Starting from the public-CTR ranker").
A larger ``ctr_prior_scale`` samples the first slates closer to that top K (Plackett-Luce draws in
proportion to CTR^beta).

SB3's MLP trunk (``net_arch``) is not used: the heads read the extractor directly, so
``forward``, ``evaluate_actions``, ``get_distribution``, ``predict_values`` and ``_predict`` are
overridden to share one pass through the extractor.
"""

from __future__ import annotations

from typing import Any

import torch
from gymnasium import spaces
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.common.type_aliases import PyTorchObs, Schedule
from torch import nn

from freshrec.agents.ppo.distribution import PlackettLuceDistribution
from freshrec.agents.ppo.networks import MLPExtractor, TransformerExtractor

PRECISIONS = ("fp32", "bf16")


def native_bf16(device: str | torch.device) -> bool:
    """Whether ``device`` multiplies bfloat16 in hardware: a CUDA GPU that supports it, or a CPU with
    AVX512-BF16 or AMX. Elsewhere bf16 is emulated and slower than fp32 (``bench_ppo --updates-only`` with
    oneDNN held to AVX-512 without BF16: an update took 1.23x fp32's time; held to AVX2: 7.4x)."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    if device.type == "cpu":  # torch.cpu's private CPU-flag helpers (torch >= 2.3); absent: say no
        flags = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
        return any(bool(getattr(torch.cpu, name, lambda: False)()) for name in flags)
    return False


def resolve_precision(precision: str, device: str | torch.device) -> str:
    """``"auto"``: ``"bf16"`` where ``device`` has native bfloat16 (``native_bf16``), else ``"fp32"``; others as given."""
    if precision == "auto":
        return "bf16" if native_bf16(device) else "fp32"
    if precision not in PRECISIONS:
        raise ValueError(f"precision = {precision!r}: must be 'auto' or one of {list(PRECISIONS)}")
    return precision


def log_public_ctr(candidate_features: torch.Tensor, m: int) -> torch.Tensor:
    """(B, M*F) candidate tokens -> (B, M) log of the smoothed public CTR (clicks + 1) / (impressions + 2).

    The tokens' last two columns are log1p(clicks) and log1p(impressions) (``freshrec.agents.simple.smoothed_ctr``
    is the same in numpy). In float32 whatever the extractor's precision: bfloat16 would round the counts.
    """
    tokens = candidate_features.float().reshape(candidate_features.shape[0], m, -1)
    return tokens[:, :, -2] - torch.log(torch.expm1(tokens[:, :, -1]) + 2.0)  # log(c + 1) - log(i + 2)


def _empty_trunk(net_arch: Any) -> bool:
    """Whether ``net_arch`` asks for no SB3 trunk, in any of SB3's spellings: None, [], {} or dict(pi=[], vf=[])."""
    if isinstance(net_arch, dict):
        return all(not layers for layers in net_arch.values())
    return not net_arch


def check_ctr_prior_scale(value: float) -> float:
    """The CTR prior's initial beta as a float; ValueError naming it unless in (0, 100] (``TrainConfig`` calls it too).

    >>> check_ctr_prior_scale(4)
    4.0
    """
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 < value <= 100.0:
        raise ValueError(f"ctr_prior_scale = {value!r}: must be in (0, 100] (the prior's initial beta)")
    return float(value)


class FreshRecSlatePolicy(ActorCriticPolicy):
    """Actor-critic over a token features extractor; actions are slates (K,) of candidate positions."""

    def __init__(
        self,
        observation_space: spaces.Space[Any],
        action_space: spaces.Space[Any],
        lr_schedule: Schedule,
        precision: str = "fp32",
        ctr_prior: bool = False,
        ctr_prior_scale: float = 1.0,
        **kwargs: Any,
    ) -> None:
        self.ctr_prior = bool(ctr_prior)  # read by _build (called by ActorCriticPolicy.__init__)
        self.ctr_prior_scale = check_ctr_prior_scale(ctr_prior_scale)
        if precision not in PRECISIONS:
            raise ValueError(
                f"precision = {precision!r}: must be one of {list(PRECISIONS)} (for 'auto', pass "
                "resolve_precision('auto', device), as train_agent does: the policy does not know its device yet)"
            )
        self.precision = precision
        if not _empty_trunk(kwargs.get("net_arch")):
            raise ValueError(
                f"net_arch = {kwargs['net_arch']!r}: the freshrec policies have no SB3 trunk (the heads read the "
                "features extractor); size them with features_extractor_kwargs (d_model, layers). A model saved "
                "with one (once ignored) loads with custom_objects={'policy_kwargs': {...its other kwargs...}}"
            )
        if not isinstance(action_space, spaces.MultiDiscrete) or len(set(action_space.nvec.tolist())) != 1:
            raise ValueError(f"action_space = {action_space}: expected MultiDiscrete([M] * K) (a freshrec slate)")
        if not isinstance(observation_space, spaces.Dict):
            raise ValueError(f"observation_space = {observation_space}: expected a freshrec Dict observation")
        kwargs.setdefault("features_extractor_class", TransformerExtractor)
        kwargs["net_arch"] = []  # no SB3 trunk: the heads read the extractor (see module doc)
        kwargs.setdefault("ortho_init", False)  # PyTorch's own inits for the Transformer layers
        super().__init__(observation_space, action_space, lr_schedule, **kwargs)

    def _get_constructor_parameters(self) -> dict[str, Any]:
        # Saved with the policy; a model saved before ctr_prior existed loads with the default (off).
        return {
            **super()._get_constructor_parameters(),
            "precision": self.precision,
            "ctr_prior": self.ctr_prior,
            "ctr_prior_scale": self.ctr_prior_scale,
        }

    def _build(self, lr_schedule: Schedule) -> None:
        """The distribution, the score and value heads, and the optimizer."""
        assert isinstance(self.action_space, spaces.MultiDiscrete)
        m, k = int(self.action_space.nvec[0]), len(self.action_space.nvec)
        self.action_dist = PlackettLuceDistribution(m, k)  # type: ignore[assignment]
        d = self.features_dim
        self.mlp_extractor = nn.Identity()  # type: ignore[assignment]  # unused; kept for SB3 code that looks it up
        self.action_net = self.action_dist.proba_distribution_net(d)
        self.value_net = nn.Sequential(nn.Linear(2 * d, d), nn.Tanh(), nn.Linear(d, 1))  # type: ignore[assignment]
        head = self.action_net
        assert isinstance(head, nn.Linear)
        with torch.no_grad():  # small initial scores: the first slates are close to uniform
            head.weight.mul_(0.01)
            head.bias.zero_()
        # The prior's weight: a scalar, ``ctr_prior_scale`` (1) at first (no draw from torch's generator, so the
        # other weights are those of the same seed without the prior). None when off.
        self.ctr_scale = nn.Parameter(torch.tensor(self.ctr_prior_scale)) if self.ctr_prior else None
        self.optimizer = self.optimizer_class(self.parameters(), lr=lr_schedule(1), **self.optimizer_kwargs)  # type: ignore[call-arg]

    def _heads(self, obs: PyTorchObs) -> tuple[PlackettLuceDistribution, torch.Tensor]:
        """The slate distribution and the values (B, 1) for a batch of observations."""
        assert isinstance(obs, dict)
        # bf16: the extractor's matmuls in bfloat16 (autocast), everything after in float32. The same
        # pass serves rollouts, updates and play, so PPO's ratio compares like with like.
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.precision == "bf16"):
            tokens = self.extract_features(obs)  # (B, 1 + M, d)
        assert isinstance(tokens, torch.Tensor)
        tokens = tokens.float()
        mask = obs["candidate_mask"]  # (B, M)
        # The heads read all 1 + M rows and slice small results: slicing the (B, 1 + M, d) tokens
        # instead costs a zero-filled (B, 1 + M, d) gradient per slice in the backward pass.
        scores = self.action_net(tokens).squeeze(-1)[:, 1:]  # (B, M)
        if self.ctr_scale is not None:
            scores = scores + self.ctr_scale * log_public_ctr(obs["candidate_features"], scores.shape[1])
        # [summary row, mean of the valid candidates' rows] as one (B, 2, 1 + M) @ (B, 1 + M, d) product.
        keep = mask.to(tokens.dtype)
        pool = torch.zeros(tokens.shape[0], 2, tokens.shape[1], dtype=tokens.dtype, device=tokens.device)
        pool[:, 0, 0] = 1.0
        pool[:, 1, 1:] = keep / keep.sum(1, keepdim=True).clamp(min=1.0)
        values = self.value_net(torch.bmm(pool, tokens).flatten(1))  # (B, 2d) -> (B, 1)
        dist = self.action_dist.proba_distribution(scores, mask)
        assert isinstance(dist, PlackettLuceDistribution)
        return dist, values

    def forward(self, obs: PyTorchObs, deterministic: bool = False) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:  # type: ignore[override]
        """Slates (B, K), values (B, 1) and log-probabilities (B,), as SB3's rollout collection wants."""
        dist, values = self._heads(obs)
        actions = dist.get_actions(deterministic=deterministic)
        return actions, values, dist.log_prob(actions)

    def evaluate_actions(
        self, obs: PyTorchObs, actions: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Values, exact log-probabilities and the chain-rule entropy along the given slates."""
        return self.evaluate_slates(obs, actions)[:3]

    def evaluate_slates(
        self, obs: PyTorchObs, actions: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """``evaluate_actions``' values (B, 1), log-probabilities (B,) and entropies (B,), plus the masked
        candidate scores (B, M) of the same pass (``FreshRecPPO``'s choice loss reads them)."""
        dist, values = self._heads(obs)
        actions = actions.long()
        assert dist.logits is not None
        return values, dist.log_prob(actions), dist.entropy_of(actions), dist.logits

    def get_distribution(self, obs: PyTorchObs) -> PlackettLuceDistribution:  # type: ignore[override]
        """The slate distribution for ``obs``."""
        return self._heads(obs)[0]

    def predict_values(self, obs: PyTorchObs) -> torch.Tensor:
        """Values (B, 1)."""
        return self._heads(obs)[1]

    def _predict(self, observation: PyTorchObs, deterministic: bool = False) -> torch.Tensor:
        return self.get_distribution(observation).get_actions(deterministic=deterministic)

    def score(self, obs: PyTorchObs) -> torch.Tensor:
        """Masked candidate scores (B, M): the policy as a ranker (higher is shown first)."""
        dist = self.get_distribution(obs)
        assert dist.logits is not None
        return dist.logits


class FreshRecTransformerPolicy(FreshRecSlatePolicy):
    """The default policy: ``TransformerExtractor`` (see ``networks.py``)."""


class FreshRecMLPPolicy(FreshRecSlatePolicy):
    """The ablation: ``MLPExtractor``, the same heads and slate distribution."""

    def __init__(
        self,
        observation_space: spaces.Space[Any],
        action_space: spaces.Space[Any],
        lr_schedule: Schedule,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("features_extractor_class", MLPExtractor)
        super().__init__(observation_space, action_space, lr_schedule, **kwargs)
