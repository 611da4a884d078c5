"""Privacy requests: forgetting a user everywhere the engine keeps them. ``Engine.forget_user`` calls
:func:`forget_user` under its lock; the function is apart from the event and request paths it undoes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from freshrec.text.cache import CachedEncoder

if TYPE_CHECKING:
    from freshrec.engine.engine import Engine


def forget_user(engine: Engine, user_id: str) -> int:
    """Delete everything ``engine`` keeps about ``user_id``; returns how many events went.

    The user leaves the state and the caches, a fresh snapshot is written, and only then are their
    events deleted from the log (bytes scrubbed): a crash at any point leaves no snapshot that could
    bring them back, and a retry finishes the job. Hooks registered with ``Engine.on_forget`` run last."""
    events = engine.log.user_events(user_id)
    engine.state.forget_user(user_id, events)
    engine._user_cache.pop(user_id, None)
    engine._rows_cache.pop(user_id, None)
    engine._query_cache.pop(user_id, None)
    popularity = engine.state.popularity()
    table = engine.table
    for item_id in {str(e.item_id) for e in events if e.item_id is not None and e.item_id in table.row_of}:
        table.popularity[table.row_of[item_id]] = popularity.get(item_id, 0)
    engine._reload_trend()
    if isinstance(engine.encoder, CachedEncoder):  # the user's search texts, embedded on disk
        engine.encoder.forget([e.query for e in events if e.query is not None])
    engine.snapshot()
    engine.log.forget_user(user_id)
    for forget in engine._forget_hooks:  # e.g. the online trainer's copy of recent histories
        forget(user_id)
    return len(events)
