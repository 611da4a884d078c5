"""Configuration validation: every bad value raises ``ConfigError`` naming class.field, the value and the range."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import pytest

from freshrec.simulators.config import (
    CatalogConfig,
    ChoiceConfig,
    ConfigError,
    SlateConfig,
    UserConfig,
    WorldConfig,
)
from freshrec.simulators.world import World

# (class, field, bad value, other fields needed to make the case, text of the allowed range in the message)
BAD_VALUES: list[tuple[type, str, Any, dict[str, Any], str]] = [
    (CatalogConfig, "slots", 0, {}, "[1, 1000000]"),
    (CatalogConfig, "initial_items", 11, {"slots": 10}, "[1, 10]"),  # at most the number of slots
    (CatalogConfig, "topics", 0, {}, "[1, 10000]"),
    (CatalogConfig, "latent_dim", 1, {}, "[2, 1024]"),
    (CatalogConfig, "item_spread", -0.1, {}, "[0, 10]"),
    (CatalogConfig, "quality_std", 10.5, {}, "[0, 10]"),
    (CatalogConfig, "arrival_rate", -1.0, {}, "[0, 1000000]"),
    (CatalogConfig, "freshness_appeal", 101.0, {}, "[0, 100]"),
    (CatalogConfig, "freshness_half_life", 0.0, {}, "(0, 1000000000]"),
    (CatalogConfig, "trend_half_life", 0, {}, "(0, 1000000000]"),
    (UserConfig, "users", 0, {}, "[1, 100000000]"),
    (UserConfig, "interest_spread", -1.0, {}, "[0, 10]"),
    (UserConfig, "drift_std", 11.0, {}, "[0, 10]"),
    (UserConfig, "drift_reversion", 0.0, {}, "(0, 1]"),  # 0 would divide by zero in the OU variance
    (UserConfig, "shift_hazard", 1.5, {}, "[0, 1]"),
    (UserConfig, "consumption_pull", -0.01, {}, "[0, 1]"),
    (UserConfig, "boredom_weight", -1.0, {}, "[0, 100]"),
    (UserConfig, "boredom_decay", 1.1, {}, "[0, 1]"),
    (UserConfig, "patience", 0.0, {}, "(0, 1000000]"),
    (UserConfig, "patience_max", 4.0, {"patience": 5.0}, "[5, 1000000]"),  # at least the starting patience
    (UserConfig, "patience_gain", -0.5, {}, "[0, 1000000]"),
    (UserConfig, "leave_hazard", 2.0, {}, "[0, 1]"),
    (UserConfig, "return_gap", 0.0, {}, "(0, 1000000000]"),
    (UserConfig, "return_sensitivity", 101.0, {}, "[0, 100]"),
    (ChoiceConfig, "affinity_weight", -1.0, {}, "[0, 1000]"),
    (ChoiceConfig, "no_click_utility", 100.5, {}, "[-100, 100]"),
    (ChoiceConfig, "position_bias", -0.1, {}, "[0, 100]"),
    (ChoiceConfig, "engagement_noise", -2.0, {}, "[0, 100]"),
    (ChoiceConfig, "reward", "clicks", {}, "'click', 'engagement'"),
    (SlateConfig, "num_candidates", 0, {"newest": 0, "trending": 0, "slate_size": 1}, "[1, 4096]"),
    (SlateConfig, "slate_size", 5, {"num_candidates": 4, "newest": 0, "trending": 0}, "[1, 4]"),
    (SlateConfig, "newest", 33, {}, "[0, 32]"),
    (SlateConfig, "trending", 27, {}, "[0, 26]"),  # at most num_candidates - newest = 32 - 6
    (SlateConfig, "trending_every", 0, {}, "[1, 1000000]"),
    (SlateConfig, "history", 0, {}, "[1, 4096]"),
    (SlateConfig, "skipped", 0, {}, "[1, 4096]"),
]

BOOL_FIELDS = [(UserConfig, name) for name in ("gradual_drift", "abrupt_shifts", "consumption_drift", "boredom")]


def _case_id(case: tuple[type, str, Any, dict[str, Any], str]) -> str:
    return f"{case[0].__name__}.{case[1]}={case[2]!r}"


@pytest.mark.parametrize("case", BAD_VALUES, ids=_case_id)
def test_bad_value_names_field_value_and_range(case: tuple[type, str, Any, dict[str, Any], str]) -> None:
    cls, name, value, others, allowed = case
    with pytest.raises(ConfigError) as err:
        cls(**others, **{name: value})
    message = str(err.value)
    assert f"{cls.__name__}.{name} = {value!r}" in message
    assert allowed in message


def test_every_field_has_a_bad_value_case() -> None:
    """A new config field must come with a validation case here."""
    covered = {(cls, name) for cls, name, *_ in BAD_VALUES} | set(BOOL_FIELDS)
    for cls in (CatalogConfig, UserConfig, ChoiceConfig, SlateConfig):
        missing = {f.name for f in dataclasses.fields(cls)} - {name for c, name in covered if c is cls}
        assert not missing, f"{cls.__name__} fields without a validation test: {sorted(missing)}"


@pytest.mark.parametrize(
    ("cls", "name", "value", "kind"),
    [
        (CatalogConfig, "slots", 10.0, "an integer"),  # a float, even a whole one, is not an integer
        (CatalogConfig, "slots", True, "an integer"),  # bool is an int subclass but never a size
        (CatalogConfig, "item_spread", math.nan, "a number"),
        (CatalogConfig, "arrival_rate", math.inf, "a number"),
        (UserConfig, "drift_std", "0.05", "a number"),
        (UserConfig, "leave_hazard", None, "a number"),
        (SlateConfig, "history", 2.5, "an integer"),
    ],
    ids=lambda v: repr(v) if not isinstance(v, type) else v.__name__,
)
def test_wrong_types_and_non_finite_values(cls: type, name: str, value: Any, kind: str) -> None:
    with pytest.raises(ConfigError, match=rf"{cls.__name__}\.{name} = .*must be {kind} in"):
        cls(**{name: value})


@pytest.mark.parametrize(("cls", "name"), BOOL_FIELDS, ids=lambda v: v if isinstance(v, str) else v.__name__)
@pytest.mark.parametrize("value", ["no", 0, 1, None], ids=repr)
def test_bool_switches_reject_non_bools(cls: type, name: str, value: Any) -> None:
    # UserConfig(boredom="no") must not silently mean True (nor 0 mean False).
    with pytest.raises(ConfigError, match=rf"{cls.__name__}\.{name} = {value!r}: must be True or False"):
        cls(**{name: value})


def test_bounds_are_inclusive_where_documented() -> None:
    # The edges of closed ranges are valid values.
    CatalogConfig(slots=1, initial_items=1, topics=1, latent_dim=2, arrival_rate=0.0, freshness_appeal=0.0)
    UserConfig(users=1, drift_reversion=1.0, shift_hazard=1.0, boredom_decay=0.0, patience=5.0, patience_max=5.0)
    ChoiceConfig(no_click_utility=-100.0, affinity_weight=0.0)
    SlateConfig(num_candidates=4, slate_size=4, newest=2, trending=2)
    UserConfig(users=True + 1)  # an int computed from a bool is an int


def test_defaults_construct_and_regimes() -> None:
    full = WorldConfig.regime("full")
    assert full == WorldConfig()
    drift = WorldConfig.regime("drift")
    assert drift.catalog.arrival_rate == 0.0 and drift.catalog.freshness_appeal == 0.0
    assert not drift.users.boredom
    assert drift.users.gradual_drift and drift.users.abrupt_shifts and drift.users.consumption_drift
    stat = WorldConfig.regime("stationary")
    assert stat.catalog.arrival_rate == 0.0 and stat.catalog.freshness_appeal == 0.0
    u = stat.users
    assert not (u.gradual_drift or u.abrupt_shifts or u.consumption_drift or u.boredom)
    with pytest.raises(ConfigError, match=r"regime 'bogus'.*'full', 'drift', 'stationary'"):
        WorldConfig.regime("bogus")


def test_replace_changes_nested_fields_and_validates() -> None:
    cfg = WorldConfig().replace(users__users=500, slate__slate_size=3, catalog__arrival_rate=0.5)
    assert (cfg.users.users, cfg.slate.slate_size, cfg.catalog.arrival_rate) == (500, 3, 0.5)
    assert cfg.users.patience == UserConfig().patience  # everything else is untouched
    assert WorldConfig().users.users == 10_000  # the original is a frozen value, not modified
    with pytest.raises(ConfigError, match=r"UserConfig\.leave_hazard = 3"):
        WorldConfig().replace(users__leave_hazard=3)


def test_replace_unknown_group_or_field_is_named() -> None:
    with pytest.raises(ConfigError, match=r"unknown config group 'user'.*'user__users'"):
        WorldConfig().replace(user__users=5)
    with pytest.raises(ConfigError, match=r"UserConfig has no field 'userz'.*'users__userz'"):
        WorldConfig().replace(users__userz=5)
    # A field name without its group is not a WorldConfig field either: the error names it.
    with pytest.raises((ConfigError, TypeError), match="slots"):
        WorldConfig().replace(slots=5)


def test_world_config_checks_groups_and_cross_group_limits() -> None:
    with pytest.raises(ConfigError, match=r"WorldConfig\.users = 5: must be a UserConfig"):
        WorldConfig(users=5)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"WorldConfig\.slate = .*must be a SlateConfig"):
        WorldConfig(slate=CatalogConfig())  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"SlateConfig\.num_candidates = 32: .*CatalogConfig\.slots = 20"):
        WorldConfig().replace(catalog__slots=20, catalog__initial_items=20)


def test_world_needs_more_users_than_sessions() -> None:
    cfg = WorldConfig().replace(users__users=50, catalog__slots=100, catalog__initial_items=100)
    with pytest.raises(ConfigError) as err:
        World(cfg, num_sessions=50)
    message = str(err.value)
    assert "num_sessions = 50" in message and "UserConfig.users = 50" in message
    with pytest.raises(ConfigError, match="num_sessions = 0"):
        World(cfg, num_sessions=0)
    World(cfg, num_sessions=49)  # one user to spare is enough
