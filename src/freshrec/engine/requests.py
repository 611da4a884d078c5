"""What the engine is configured with, what it is asked, and what it answers."""

from __future__ import annotations

from dataclasses import dataclass, field

from freshrec.engine.policy import PolicyConfig


@dataclass(frozen=True)
class Recommendation:
    item_id: str
    score: float
    reason: str


@dataclass(frozen=True)
class RecommendRequest:
    """One request for ``Engine.recommend_batch``: the arguments of ``recommend``."""

    user_id: str
    k: int = 10
    exclude_seen: bool = True
    categories: tuple[str, ...] | None = None
    exclude: tuple[str, ...] = ()


@dataclass
class EngineConfig:
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    trend_half_life: float = 6 * 3600.0  # seconds of stream time
    auto_register_items: bool = False  # events naming unknown items: register them (True) or refuse
    snapshot_every: int = 50_000  # log entries between automatic snapshots (0: never)
    approximate_above: int = 200_000  # catalog size from which requests go through the faiss index
    # batched requests take a bfloat16 first pass over the catalog, then exact scores for the best rows
    # (same answers, certified by an error bound; see engine.batched). None: from 20k items, on CPUs
    # with native bfloat16 arithmetic
    prefilter: bool | None = None
    state_url: str = "embedded"  # online-state backend (see freshrec.engine.backends)
    # torch threads for per-request forward passes: these are tiny, and a 2-thread pool stalls for
    # ~100 ms now and then waking up (measured: p99 106 ms with 2 threads, 7 ms with 1). None: leave as is
    inference_threads: int | None = 1
