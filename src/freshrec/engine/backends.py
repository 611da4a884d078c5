"""Online-state backends chosen by URL, the embedded one by default (no server needed).

``embedded`` (or ``embedded://``) keeps the state in this process, durable through the engine's
event log and snapshots. Other schemes register here as they are implemented.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

from freshrec.engine.state import SNAPSHOT, EmbeddedState, OnlineState

StateFactory = Callable[[str, Path, int, float], OnlineState]


def _embedded(url: str, folder: Path, history_len: int, half_life: float) -> OnlineState:
    snapshot = folder / SNAPSHOT
    return EmbeddedState.restore(snapshot) if snapshot.exists() else EmbeddedState(history_len, half_life)


BACKENDS: dict[str, StateFactory] = {"embedded": _embedded}


def open_state(url: str, folder: Path, history_len: int, half_life: float) -> OnlineState:
    """The state for ``url`` (scheme picks the backend), restored from ``folder`` when it holds one.

    >>> import tempfile
    >>> type(open_state("embedded", Path(tempfile.mkdtemp()), 50, 3600.0)).__name__
    'EmbeddedState'
    """
    scheme = urlparse(url).scheme or url
    if scheme not in BACKENDS:
        raise ValueError(f"state_url={url!r}: unknown backend {scheme!r} (available: {', '.join(sorted(BACKENDS))})")
    return BACKENDS[scheme](url, folder, history_len, half_life)
