"""Time-decayed counters: each event adds 1, and every count halves each ``half_life`` seconds.

Stored as accumulators relative to a reference time ``t0``: an event at time t adds
2^((t - t0) / half_life), and the value at ``now`` is acc * 2^(-(now - t0) / half_life). All items
decay by the same factor, so ranking by the raw accumulator is ranking by trend, with no per-item
work on read. Decay follows stream time (event timestamps), so a replay of the log gives exactly
the same counts whatever the wall clock says.

>>> c = DecayedCounter(half_life=10.0)
>>> c.add("a", 0.0); c.add("a", 0.0); c.add("b", 10.0)
>>> c.value("a", now=10.0), c.value("b", now=10.0)
(1.0, 1.0)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

REBASE_EXPONENT = 600.0  # 2^600 is far from float overflow (2^1024); rebase before reaching it


@dataclass
class DecayedCounter:
    half_life: float
    t0: float | None = None
    _acc: dict[str, float] = field(default_factory=dict)

    def weight(self, at: float) -> float:
        """What one event at time ``at`` adds to an accumulator."""
        if self.t0 is None:
            self.t0 = at
        exponent = (at - self.t0) / self.half_life
        if exponent > REBASE_EXPONENT:
            self._rebase(at)
            exponent = 0.0
        return 2.0**exponent

    def _rebase(self, at: float) -> None:
        assert self.t0 is not None
        scale = 2.0 ** (-(at - self.t0) / self.half_life)
        self._acc = {k: v * scale for k, v in self._acc.items()}
        self.t0 = at

    def add(self, key: str, at: float, amount: float = 1.0) -> None:
        self._acc[key] = self._acc.get(key, 0.0) + amount * self.weight(at)

    def take_back(self, key: str, at: float) -> None:
        """Undo one ``add(key, at)`` (a forgotten event), exactly up to float rounding: the weight of
        time ``at`` relative to the current ``t0`` is what that event contributes after any rebase."""
        if self.t0 is None or key not in self._acc:
            return
        left = self._acc[key] - 2.0 ** ((at - self.t0) / self.half_life)
        if left <= 1e-9 * max(1.0, abs(self._acc[key])):
            del self._acc[key]
        else:
            self._acc[key] = left

    def factor(self, now: float) -> float:
        """Multiply an accumulator by this to get its value at ``now``."""
        return 0.0 if self.t0 is None else math.pow(2.0, -(now - self.t0) / self.half_life)

    def value(self, key: str, now: float) -> float:
        return self._acc.get(key, 0.0) * self.factor(now)

    def accumulators(self) -> dict[str, float]:
        """Raw accumulators: proportional to the values at any single moment."""
        return self._acc
