"""Registered, versioned ids: one per regime, with a native vector entry point for ``gymnasium.make_vec``.

The world's defaults behind these ids are fixed; a change to any default bumps the version.
"""

from __future__ import annotations

import gymnasium

MAX_EPISODE_STEPS = 100  # a session longer than 100 slates is cut (truncated, not terminated)

# id -> (regime, one-line description)
ENV_IDS: dict[str, tuple[str, str]] = {
    "freshrec/DriftingUsers-v0": (
        "full",
        "Full dynamics (default): gradual, abrupt and consumption-driven drift; boredom; arrivals and aging.",
    ),
    "freshrec/DriftOnly-v0": ("drift", "Interests drift three ways; frozen catalog, no boredom, no freshness bonus."),
    "freshrec/Stationary-v0": (
        "stationary",
        "Control: no drift, no arrivals, no boredom. Batch CF/SVD should do well.",
    ),
    "freshrec/MovieLens100K-v0": (
        "movielens",
        "Calibrated on MovieLens-100k: real movies arriving as they first appear, real users, fitted drift.",
    ),
}


def register_envs() -> None:
    """Register every freshrec id with Gymnasium (idempotent)."""
    for env_id, (regime, _) in ENV_IDS.items():
        if env_id in gymnasium.registry:
            continue
        gymnasium.register(
            id=env_id,
            entry_point="freshrec.envs.env:FreshRecEnv",
            vector_entry_point="freshrec.envs.vector:FreshRecVectorEnv",
            max_episode_steps=MAX_EPISODE_STEPS,
            kwargs={"regime": regime},
        )
