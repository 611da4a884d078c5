"""Errors that name exactly what was wrong with the input: file, line, field, value."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path


class RecordError(ValueError):
    """A single record is invalid. ``field`` and ``value`` say which part and what it held."""

    def __init__(self, field_name: str, value: object, reason: str) -> None:
        self.field = field_name
        self.value = value
        self.reason = reason
        super().__init__(f"{field_name}={value!r}: {reason}")


class DataFormatError(ValueError):
    """A row of an input file is malformed; the message names file, line and field."""

    def __init__(self, path: Path | str, line: int, field_name: str, value: object, reason: str) -> None:
        self.path = str(path)
        self.line = line
        self.field = field_name
        self.value = value
        self.reason = reason
        super().__init__(f"{self.path}:{line}: field {field_name!r} = {value!r}: {reason}")


@dataclass
class LoadReport:
    """What a loader skipped when asked to skip bad rows: exact counts, by reason, with examples."""

    rows_read: int = 0
    rows_kept: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)

    @property
    def rows_skipped(self) -> int:
        return sum(self.skipped.values())

    def record(self, error: DataFormatError, max_examples: int = 5) -> None:
        self.skipped[f"{Path(error.path).name}: {error.field}: {error.reason}"] += 1
        if len(self.examples) < max_examples:
            self.examples.append(str(error))

    def describe(self) -> str:
        if not self.rows_skipped:
            return f"read {self.rows_read:,} rows, skipped none"
        reasons = "; ".join(f"{n} × {why}" for why, n in self.skipped.most_common())
        return f"read {self.rows_read:,} rows, skipped {self.rows_skipped:,} ({reasons})"
