"""The durable event log: every accepted change is appended here before it is acknowledged.

One SQLite database in WAL mode. Each entry is an operation (an event, an item added, an item
removed) with a monotonically increasing sequence number, so the whole online state can be rebuilt
by replaying the log in order. ``synchronous=NORMAL`` in WAL mode survives a killed process (the
commit is in the OS's hands once ``append`` returns); ``durability="full"`` also survives power loss,
at a cost in throughput.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Literal

from freshrec.data.records import Event, EventKind, Item

Op = tuple[str, Event | Item | str]  # ("event", Event) | ("item", Item) | ("remove", item_id)


def _encode(op: Op) -> tuple[str, str]:
    kind, payload = op
    if isinstance(payload, Event):
        data = asdict(payload)
        data["kind"] = payload.kind.value
        return kind, json.dumps(data, separators=(",", ":"))
    if isinstance(payload, Item):
        return kind, json.dumps(asdict(payload), separators=(",", ":"))
    return kind, json.dumps(payload)


def _decode(kind: str, text: str) -> Op:
    data = json.loads(text)
    if kind == "event":
        data["kind"] = EventKind(data["kind"])
        return kind, Event(**data)
    if kind == "item":
        data["categories"] = tuple(data["categories"])
        return kind, Item(**data)
    return kind, str(data)


class EventLog:
    """Append-only log of operations; thread-safe; ``replay`` yields them in sequence order."""

    def __init__(self, path: Path | str, durability: Literal["normal", "full"] = "normal") -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(f"PRAGMA synchronous={'FULL' if durability == 'full' else 'NORMAL'}")
        self._db.execute("PRAGMA secure_delete=ON")  # deleted rows are overwritten, not just unlinked (forget_user)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS ops (seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT, payload TEXT)"
        )

    def append(self, ops: Sequence[Op]) -> int:
        """Durably append ``ops`` in one transaction; returns the sequence number of the last one."""
        rows = [_encode(op) for op in ops]
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany("INSERT INTO ops (kind, payload) VALUES (?, ?)", rows)
                last = self._db.execute("SELECT last_insert_rowid()").fetchone()[0]
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return int(last)

    def replay(self, after: int = 0) -> Iterator[tuple[int, Op]]:
        """(sequence number, op) for every op after ``after``, in order."""
        reader = sqlite3.connect(self.path)
        try:
            cursor = reader.execute("SELECT seq, kind, payload FROM ops WHERE seq > ? ORDER BY seq", (after,))
            for seq, kind, payload in cursor:
                yield int(seq), _decode(kind, payload)
        finally:
            reader.close()

    def last_seq(self) -> int:
        with self._lock:
            row = self._db.execute("SELECT MAX(seq) FROM ops").fetchone()
        return int(row[0] or 0)

    def user_events(self, user_id: str) -> list[Event]:
        """Every logged event of ``user_id``, in order (what ``forget_user`` would delete)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT kind, payload FROM ops WHERE kind = 'event' AND json_extract(payload, '$.user_id') = ? "
                "ORDER BY seq",
                (user_id,),
            ).fetchall()
        return [event for _, event in (_decode(kind, payload) for kind, payload in rows) if isinstance(event, Event)]

    def forget_user(self, user_id: str) -> int:
        """Delete every event of ``user_id`` so that no byte of them stays on disk; returns how many.

        ``secure_delete`` zeroes the freed rows, the WAL (which holds older copies of the pages) is
        checkpointed and truncated, and VACUUM rewrites the file without free pages. VACUUM rewrites
        the whole log, so this takes time proportional to the log's size."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                deleted = self._db.execute(
                    "DELETE FROM ops WHERE kind = 'event' AND json_extract(payload, '$.user_id') = ?", (user_id,)
                ).rowcount
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            if deleted:
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                self._db.execute("VACUUM")
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return int(deleted)

    def close(self) -> None:
        with self._lock:
            self._db.close()
