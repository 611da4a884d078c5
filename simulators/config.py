"""Typed, validated configuration of the simulated world: one frozen dataclass per component.

Every field has a docstring; a bad value raises ``ConfigError`` naming the field, the value and the
allowed range, so a typo never falls back silently to a default.

>>> CatalogConfig(slots=0)
Traceback (most recent call last):
...
freshrec.simulators.config.ConfigError: CatalogConfig.slots = 0: must be an integer in [1, 1000000]
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np


class ConfigError(ValueError):
    """A configuration value outside its allowed range; the message names field, value and range."""


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def _check(obj: Any, name: str, low: float, high: float, integer: bool = False, low_open: bool = False) -> None:
    value = getattr(obj, name)
    where = f"{type(obj).__name__}.{name} = {value!r}"
    kind = "an integer" if integer else "a number"
    bracket = "(" if low_open else "["
    allowed = f"must be {kind} in {bracket}{_fmt(low)}, {_fmt(high)}]"
    if (
        isinstance(value, bool | np.bool_)
        or not isinstance(value, numbers.Real)
        or (integer and not isinstance(value, numbers.Integral))
    ):
        raise ConfigError(f"{where}: {allowed}")
    v = float(value)
    if not math.isfinite(v) or v < low or v > high or (low_open and v == low):
        raise ConfigError(f"{where}: {allowed}")


def _check_bool(obj: Any, name: str) -> None:
    value = getattr(obj, name)
    if not isinstance(value, bool):
        raise ConfigError(f"{type(obj).__name__}.{name} = {value!r}: must be True or False")


@dataclass(frozen=True)
class CatalogConfig:
    """The catalog: a fixed number of item slots; new items replace the oldest (first in, first out)."""

    slots: int = 1000
    """Item slots. Shapes never change; an item lives until ``slots`` newer items have arrived."""
    initial_items: int = 1000
    """Items live at reset (their ages are staggered as if they had arrived at ``arrival_rate``)."""
    topics: int = 20
    """Number of topics (categories). Each item has one; each user's long-term interest starts near one."""
    latent_dim: int = 16
    """Size of the hidden latent vectors of items and users."""
    item_spread: float = 0.6
    """How far an item's latent vector strays from its topic centre (noise norm relative to the unit centre)."""
    quality_std: float = 0.5
    """Standard deviation of the hidden item quality, added to every user's utility for the item."""
    arrival_rate: float = 1.0
    """Expected new items per tick (Poisson). 0 freezes the catalog."""
    freshness_appeal: float = 1.0
    """Utility bonus of a brand-new item; it halves every ``freshness_half_life`` ticks."""
    freshness_half_life: float = 100.0
    """Ticks for the freshness bonus to halve."""
    trend_half_life: float = 50.0
    """Ticks for the public trending count (clicks) to halve."""

    def __post_init__(self) -> None:
        _check(self, "slots", 1, 1_000_000, integer=True)
        _check(self, "initial_items", 1, self.slots, integer=True)
        _check(self, "topics", 1, 10_000, integer=True)
        _check(self, "latent_dim", 2, 1024, integer=True)
        _check(self, "item_spread", 0.0, 10.0)
        _check(self, "quality_std", 0.0, 10.0)
        _check(self, "arrival_rate", 0.0, 1e6)
        _check(self, "freshness_appeal", 0.0, 100.0)
        _check(self, "freshness_half_life", 0.0, 1e9, low_open=True)
        _check(self, "trend_half_life", 0.0, 1e9, low_open=True)


@dataclass(frozen=True)
class UserConfig:
    """The user population: hidden interests that drift, boredom, patience and returns."""

    users: int = 10_000
    """Size of the persistent population; must exceed the number of concurrent sessions."""
    interest_spread: float = 0.6
    """How far a user's long-term interest strays from its topic centre (noise norm)."""
    gradual_drift: bool = True
    """Interests follow a mean-reverting random walk (Ornstein-Uhlenbeck) around the long-term interest."""
    drift_std: float = 0.02
    """Per-tick standard deviation of each coordinate of the gradual drift."""
    drift_reversion: float = 0.01
    """Per-tick rate at which interests revert to the long-term interest (OU theta)."""
    abrupt_shifts: bool = True
    """Users' long-term interests jump to a new random topic at random times (ground-truth events)."""
    shift_hazard: float = 0.002
    """Probability per tick that a user's interests shift abruptly (online or offline)."""
    consumption_drift: bool = True
    """Clicking an item pulls the user's current interest towards the item's latent vector."""
    consumption_pull: float = 0.05
    """Fraction of the gap to the clicked item's latent vector closed by one click."""
    boredom: bool = True
    """Consuming a topic makes the user bored of it for a while."""
    boredom_weight: float = 0.3
    """Utility lost per unit of boredom with the item's topic."""
    boredom_decay: float = 0.9
    """Per-tick factor by which boredom fades (also applied in closed form while offline)."""
    patience: float = 5.0
    """Patience at the start of a session; an unanswered slate costs 1, the session ends at 0."""
    patience_max: float = 10.0
    """Upper bound on patience."""
    patience_gain: float = 1.0
    """Patience regained per unit of engagement after a click."""
    leave_hazard: float = 0.01
    """Probability per step that the user leaves whatever the slate (they have somewhere else to be)."""
    return_gap: float = 200.0
    """Mean ticks between sessions of a user whose last session had a 50% click-through rate."""
    return_sensitivity: float = 2.0
    """How much a good session shortens the gap: mean gap = return_gap * exp(-s * (session_ctr - 0.5))."""

    def __post_init__(self) -> None:
        for switch in ("gradual_drift", "abrupt_shifts", "consumption_drift", "boredom"):
            _check_bool(self, switch)
        _check(self, "users", 1, 100_000_000, integer=True)
        _check(self, "interest_spread", 0.0, 10.0)
        _check(self, "drift_std", 0.0, 10.0)
        _check(self, "drift_reversion", 0.0, 1.0, low_open=True)
        _check(self, "shift_hazard", 0.0, 1.0)
        _check(self, "consumption_pull", 0.0, 1.0)
        _check(self, "boredom_weight", 0.0, 100.0)
        _check(self, "boredom_decay", 0.0, 1.0)
        _check(self, "patience", 0.0, 1e6, low_open=True)
        _check(self, "patience_max", self.patience, 1e6)
        _check(self, "patience_gain", 0.0, 1e6)
        _check(self, "leave_hazard", 0.0, 1.0)
        _check(self, "return_gap", 0.0, 1e9, low_open=True)
        _check(self, "return_sensitivity", 0.0, 100.0)


@dataclass(frozen=True)
class ChoiceConfig:
    """Multinomial logit over the slate plus a no-click option; engagement of the clicked item."""

    affinity_weight: float = 5.0
    """Utility per unit of cosine-like affinity between the user's interest and the item's latent vector."""
    no_click_utility: float = 4.0
    """Utility of not clicking. An item is *relevant* when its utility reaches this (solo click prob >= 0.5)."""
    position_bias: float = 0.0
    """Utility lost per slate position below the first (0 = no position bias)."""
    engagement_noise: float = 0.5
    """Noise of the engagement (watch fraction = sigmoid(utility - no_click_utility + noise))."""
    reward: Literal["click", "engagement"] = "click"
    """Reward per step: 1 for a click, or the clicked item's engagement in (0, 1)."""

    def __post_init__(self) -> None:
        _check(self, "affinity_weight", 0.0, 1000.0)
        _check(self, "no_click_utility", -100.0, 100.0)
        _check(self, "position_bias", 0.0, 100.0)
        _check(self, "engagement_noise", 0.0, 100.0)
        if self.reward not in ("click", "engagement"):
            raise ConfigError(f"ChoiceConfig.reward = {self.reward!r}: must be one of 'click', 'engagement'")


@dataclass(frozen=True)
class SlateConfig:
    """What a session sees: candidates from a public generator, slate size, history lengths."""

    num_candidates: int = 32
    """M: candidates offered per step (the newest, the trending, and a uniform sample of live items)."""
    slate_size: int = 5
    """K: items shown per step, chosen by the agent among the M candidates."""
    newest: int = 6
    """Candidates taken from the newest arrivals."""
    trending: int = 6
    """Candidates taken from the top of the public trending count (refreshed every ``trending_every`` ticks)."""
    trending_every: int = 10
    """Ticks between refreshes of the trending list (a platform caches it)."""
    history: int = 16
    """H: the user's most recent clicks shown in the observation."""
    skipped: int = 10
    """Most recent shown-but-not-clicked items shown in the observation (two slates of five)."""

    def __post_init__(self) -> None:
        _check(self, "num_candidates", 1, 4096, integer=True)
        _check(self, "slate_size", 1, self.num_candidates, integer=True)
        _check(self, "newest", 0, self.num_candidates, integer=True)
        _check(self, "trending", 0, self.num_candidates - self.newest, integer=True)
        _check(self, "trending_every", 1, 1_000_000, integer=True)
        _check(self, "history", 1, 4096, integer=True)
        _check(self, "skipped", 1, 4096, integer=True)


@dataclass(frozen=True)
class WorldConfig:
    """The whole world. ``WorldConfig.regime(name)`` gives the registered regimes."""

    catalog: CatalogConfig = field(default_factory=CatalogConfig)
    """Items, topics, arrivals and freshness."""
    users: UserConfig = field(default_factory=UserConfig)
    """Population, drift, boredom, patience and returns."""
    choice: ChoiceConfig = field(default_factory=ChoiceConfig)
    """Choice model and reward."""
    slate: SlateConfig = field(default_factory=SlateConfig)
    """Candidates, slate size and history lengths."""

    def __post_init__(self) -> None:
        for name, kind in (("catalog", CatalogConfig), ("users", UserConfig), ("choice", ChoiceConfig)):
            if not isinstance(getattr(self, name), kind):
                raise ConfigError(f"WorldConfig.{name} = {getattr(self, name)!r}: must be a {kind.__name__}")
        if not isinstance(self.slate, SlateConfig):
            raise ConfigError(f"WorldConfig.slate = {self.slate!r}: must be a SlateConfig")
        if self.slate.num_candidates > self.catalog.slots:
            raise ConfigError(
                f"SlateConfig.num_candidates = {self.slate.num_candidates}: must be at most CatalogConfig.slots "
                f"= {self.catalog.slots}"
            )

    @staticmethod
    def regime(name: str) -> WorldConfig:
        """The named regimes behind the registered env ids: ``full`` (default), ``drift``, ``stationary``."""
        base = WorldConfig()
        if name == "full":
            return base
        if name == "drift":  # interests drift (all three ways); the catalog is frozen and nobody gets bored
            return dataclasses.replace(
                base,
                catalog=dataclasses.replace(base.catalog, arrival_rate=0.0, freshness_appeal=0.0),
                users=dataclasses.replace(base.users, boredom=False),
            )
        if name == "stationary":  # the control: batch CF/SVD should do well here
            return dataclasses.replace(
                base,
                catalog=dataclasses.replace(base.catalog, arrival_rate=0.0, freshness_appeal=0.0),
                users=dataclasses.replace(
                    base.users, gradual_drift=False, abrupt_shifts=False, consumption_drift=False, boredom=False
                ),
            )
        raise ConfigError(f"regime {name!r}: must be one of 'full', 'drift', 'stationary'")

    @staticmethod
    def from_dict(mapping: Mapping[str, Any]) -> WorldConfig:
        """The config of ``dataclasses.asdict(cfg)``, e.g. read back from JSON (``EnvSpec.to_json`` writes it so).

        Groups left out keep their defaults; an unknown group or field is refused by name.

        >>> WorldConfig.from_dict(dataclasses.asdict(WorldConfig().replace(users__users=500))).users.users
        500
        >>> WorldConfig.from_dict({"users": {"user": 500}})
        Traceback (most recent call last):
        ...
        freshrec.simulators.config.ConfigError: UserConfig has no field 'user' (from config['users'])
        """
        kinds = {"catalog": CatalogConfig, "users": UserConfig, "choice": ChoiceConfig, "slate": SlateConfig}
        groups: dict[str, Any] = {}
        for group, fields in mapping.items():
            if group not in kinds:
                raise ConfigError(f"config[{group!r}]: unknown config group, must be one of {list(kinds)}")
            if not isinstance(fields, Mapping):
                raise ConfigError(
                    f"config[{group!r}] = {fields!r}: must be a mapping of {kinds[group].__name__} fields"
                )
            known = {f.name for f in dataclasses.fields(kinds[group])}
            unknown = [name for name in fields if name not in known]
            if unknown:
                raise ConfigError(f"{kinds[group].__name__} has no field {unknown[0]!r} (from config[{group!r}])")
            groups[group] = kinds[group](**fields)
        return WorldConfig(**groups)

    def replace(self, **changes: Any) -> WorldConfig:
        """A copy with fields changed at any depth: ``cfg.replace(users__users=500, slate__slate_size=3)``."""
        groups: dict[str, dict[str, Any]] = {}
        top: dict[str, Any] = {}
        for key, value in changes.items():
            group, sep, name = key.partition("__")
            if sep:
                if group not in ("catalog", "users", "choice", "slate"):
                    raise ConfigError(f"unknown config group {group!r} in {key!r}")
                sub = getattr(self, group)
                if name not in {f.name for f in dataclasses.fields(sub)}:
                    raise ConfigError(f"{type(sub).__name__} has no field {name!r} (from {key!r})")
                groups.setdefault(group, {})[name] = value
            else:
                top[key] = value
        for group, fields in groups.items():
            top[group] = dataclasses.replace(getattr(self, group), **fields)
        return dataclasses.replace(self, **top)
