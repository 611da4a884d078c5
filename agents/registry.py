"""Every agent by name, built the same way: ``make_agent(name, spec, seed, env, **options)``.

``env`` is the vector env the agent will act in; only the oracle reads it (for the hidden truth),
and says so in its name. Modules are imported on first use, so heavy ones (torch) load only when
asked for.
"""

from __future__ import annotations

import importlib
from typing import Any

from freshrec.agents.base import Agent
from freshrec.agents.log import AgentSpec

# name -> (module, factory function); every factory is factory(spec, seed, env) -> Agent
AGENTS: dict[str, tuple[str, str]] = {
    "random": ("freshrec.agents.simple", "make_random"),
    "most-popular": ("freshrec.agents.popular", "make_most_popular"),
    "trending": ("freshrec.agents.popular", "make_trending"),
    "public-ctr": ("freshrec.agents.simple", "make_public_ctr"),
    "item-knn": ("freshrec.agents.cf", "make_item_knn"),
    "user-knn": ("freshrec.agents.cf", "make_user_knn"),
    "svd": ("freshrec.agents.svd", "make_svd"),
    "svd-fold-in": ("freshrec.agents.svd", "make_svd_fold_in"),
    "sequence-transformer": ("freshrec.agents.sequence_agent", "make_sequence_transformer"),
    "linucb": ("freshrec.agents.bandit", "make_linucb"),
    "myopic-oracle": ("freshrec.agents.oracle", "make_myopic_oracle"),
    # Trained policies: make_agent(..., model=PATH) names the saved model (experiments/train_agent.py).
    "ppo": ("freshrec.agents.ppo.agent", "make_ppo"),
    "ppo-mlp": ("freshrec.agents.ppo.agent", "make_ppo"),
}
NEEDS_MODEL = frozenset({"ppo", "ppo-mlp"})
"""Agents that load a trained model instead of fitting on the log (any "ppo-<label>" does too)."""
BASELINES: tuple[str, ...] = tuple(a for a in AGENTS if a not in NEEDS_MODEL)
DIAGNOSTICS: dict[str, tuple[str, str]] = {"oracle-rollout": ("freshrec.agents.oracle", "make_rollout_oracle")}
"""Agents that read the hidden truth to answer a question about the world, not baselines: no default run
includes them (``agents/oracle.py``). ``oracle-boredom-<w>`` is one too."""
REWEIGHTED_ORACLE = "oracle-boredom-"
"""Diagnostic agents named ``oracle-boredom-<w>``: the myopic oracle ranking as if boredom cost ``w`` utility
per unit (``agents/oracle.py``). Not baselines: no default run includes them."""


NAMES = (
    f"one of {sorted(AGENTS)}, {sorted(DIAGNOSTICS)}, ppo-<label> or {REWEIGHTED_ORACLE}<w>; a baseline may carry "
    "options, <name>:<key>=<value>[:<key>=<value>...]"
)
"""Every name ``make_agent`` builds, for error messages."""


def _value(text: str) -> Any:
    """An option's value from its text: an int, a float, a bool (true/false) or else the string itself."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text.lower(), text)


def split_options(name: str) -> tuple[str, dict[str, Any]]:
    """A baseline's name and its constructor options: ``"svd-fold-in:factors=32:refit_every=20"`` ->
    ``("svd-fold-in", {"factors": 32, "refit_every": 20})``. A name without ``:`` has none.

    Options let one run compare settings of a baseline side by side (each variant keeps its full name
    in the report), e.g. on validation worlds before a setting is chosen. ValueError for a malformed one.

    >>> split_options("linucb:alpha=0.25")
    ('linucb', {'alpha': 0.25})
    """
    base, *items = name.split(":")
    options: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key.isidentifier() or not text or key in options:
            raise ValueError(f"agent {name!r}: option {item!r} must be key=value (each key once), as in svd:factors=32")
        options[key] = _value(text)
    if items and (base not in AGENTS or base in NEEDS_MODEL):
        raise ValueError(f"agent {name!r}: only the baselines {sorted(BASELINES)} take options")
    return base, options


def reweighted_oracle_weight(name: str) -> float | None:
    """The boredom weight in ``oracle-boredom-<w>``; None for any other name; ValueError for a bad ``<w>``."""
    if not name.startswith(REWEIGHTED_ORACLE):
        return None
    text = name[len(REWEIGHTED_ORACLE) :]
    try:
        weight = float(text)
    except ValueError:
        raise ValueError(f"agent {name!r}: {text!r} is not a number (oracle-boredom-<w>, w in [0, 100])") from None
    if not 0.0 <= weight <= 100.0:
        raise ValueError(f"agent {name!r}: boredom weight {weight} must be in [0, 100]")
    return weight


def needs_model(name: str) -> bool:
    """Whether agent ``name`` loads a trained model: "ppo", "ppo-mlp", or "ppo-<label>" for more runs side by side."""
    return name in NEEDS_MODEL or name.startswith("ppo-")


def known(name: str) -> bool:
    """Whether ``make_agent`` can build ``name`` (an ``oracle-boredom-<w>`` with a bad ``<w>``, or a baseline with
    malformed options, raises ValueError; whether its options are ones it takes is checked when it is built)."""
    if ":" in name:
        if name.split(":")[0] not in BASELINES:
            return False
        split_options(name)  # malformed options raise, naming the option
        return True
    return name in AGENTS or name in DIAGNOSTICS or needs_model(name) or reweighted_oracle_weight(name) is not None


def make_agent(name: str, spec: AgentSpec, seed: int, env: Any, **options: Any) -> Agent:
    """A fresh agent ``name`` for an env with ``spec``, seeded with ``seed``; ``options`` go to its factory
    (``model=PATH`` for the agents in ``NEEDS_MODEL``)."""
    if not known(name):
        raise ValueError(f"agent {name!r}: must be {NAMES}")
    weight = reweighted_oracle_weight(name)
    if weight is not None:
        from freshrec.agents.oracle import make_reweighted_oracle

        return make_reweighted_oracle(spec, seed, env, weight, **options)
    base, settings = split_options(name)  # "svd:factors=32" -> ("svd", {"factors": 32}); no options: (name, {})
    module, factory = DIAGNOSTICS[base] if base in DIAGNOSTICS else AGENTS["ppo" if needs_model(base) else base]
    try:
        agent: Agent = getattr(importlib.import_module(module), factory)(spec, seed, env, **settings, **options)
    except (TypeError, ValueError) as error:
        if not settings:
            raise
        raise ValueError(f"agent {name!r}: {error}") from None  # an option it does not take, or a bad value
    return agent
