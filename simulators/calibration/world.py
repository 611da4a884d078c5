"""The calibrated world: ``World``'s dynamics on real items and real users, and the logging policy that
stands in for the real platform's exposure.

Only the make-up changes: the items are real movies (their text, fitted hidden latents, quality from
ratings), they arrive in the order and at the ticks they first appear in the real log, and the
users start from interests fitted on their first interactions. Choices, drift, boredom, patience and
returns are the synthetic world's transition function, with the fitted parameters in the config.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from freshrec.simulators.catalog import no_arrivals
from freshrec.simulators.config import ConfigError, WorldConfig
from freshrec.simulators.state import WorldState
from freshrec.simulators.text import TextBank
from freshrec.simulators.world import World

if TYPE_CHECKING:
    from freshrec.simulators.calibration.fit import Calibration


class CalibratedWorld(World):
    """A ``World`` whose items, arrivals and users come from a :class:`Calibration`.

    Item ``i`` of the calibration (in order of first appearance) gets item id ``i`` and text id ``i``;
    user ``u`` is the calibration's user ``u``. Nothing about them is random, so ``reset(seed)``
    changes only the stochastic part: who returns when, choices, drift and shifts.

    >>> from freshrec.simulators.calibration.fit import toy_calibration
    >>> world = CalibratedWorld(toy_calibration(), num_sessions=2)
    >>> state = world.reset(seed=0)
    >>> int(state.catalog.live.sum()) == world.calibration.initial_items
    True
    """

    def __init__(self, calibration: Calibration, num_sessions: int = 1, config: WorldConfig | None = None) -> None:
        config = config or calibration.world_config()
        fixed = calibration.world_config()
        for group, name in (("catalog", "slots"), ("catalog", "initial_items"), ("catalog", "topics"),
                            ("catalog", "latent_dim"), ("users", "users")):  # fmt: skip
            have, want = getattr(getattr(config, group), name), getattr(getattr(fixed, group), name)
            if have != want:
                raise ConfigError(
                    f"{type(getattr(config, group)).__name__}.{name} = {have}: the calibrated world fixes it to "
                    f"{want} (the real data's size); start from the calibrated world's own config, "
                    "e.g. gymnasium.make('freshrec/MovieLens100K-v0').unwrapped.config.replace(...)"
                )
        # The base class would say "raise users", which the data fixes. Only an integer is compared here; anything
        # else the base class refuses by name (not a TypeError from >=).
        if isinstance(num_sessions, int | np.integer) and num_sessions >= fixed.users.users:
            raise ConfigError(
                f"num_sessions = {num_sessions}: must be less than the {fixed.users.users} real users of the "
                "calibrated world (each session serves a different user)"
            )
        super().__init__(config, num_sessions)
        self.calibration = calibration
        # Public text: the real titles and genres. The base class's synthetic bank is replaced; only
        # its ``texts`` are read outside the world (by the env's feature encoder).
        n = len(calibration.item_text)
        self.bank = TextBank(
            topics=len(calibration.topic_names),
            nouns_per_topic=1,
            texts=tuple(calibration.item_text),
            style_directions=np.zeros((0, config.catalog.latent_dim)),
            pair_index=np.zeros((0, 0), np.int64),
        )
        self._texts = np.arange(n, dtype=np.int64)

    def _populate(self, init: np.random.Generator) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray, np.ndarray]:
        cal, n0 = self.calibration, self.calibration.initial_items
        items = {
            "topic": cal.item_topic[:n0],
            "latent": cal.item_latent[:n0],
            "quality": cal.item_quality[:n0],
            "text": self._texts[:n0],
            "arrival": cal.item_arrival[:n0],
        }
        return cal.centres, items, cal.user_interest, cal.user_topic

    def _refill_arrivals(self, state: WorldState) -> None:
        """Every later real item, in order, at its real tick; then none (an infinite time ends the list)."""
        if state.arrival_buffer:  # the real list was consumed: nothing more will ever arrive
            state.arrival_buffer, state.arrival_cursor = no_arrivals(self.config.catalog.latent_dim), 0
            return
        cal, n0 = self.calibration, self.calibration.initial_items
        end = no_arrivals(self.config.catalog.latent_dim)  # one entry past the end, never taken
        real = {
            "time": cal.item_arrival[n0:], "topic": cal.item_topic[n0:], "latent": cal.item_latent[n0:],
            "quality": cal.item_quality[n0:], "text": self._texts[n0:],
        }  # fmt: skip
        pad = {key: np.concatenate([real[key], end[key]]).astype(end[key].dtype) for key in end}
        state.arrival_buffer, state.arrival_cursor = pad, 0


def popularity_slates(state: WorldState, slate_size: int, gen: np.random.Generator, power: float = 0.0) -> np.ndarray:
    """(B, K) slates of the logging policy: K candidates drawn without replacement, weight (1 + clicks)^power.

    It stands in for the real platform's exposure. With ``power = 0`` (the default) the slate is a
    uniform draw from the candidates, whose generator already mixes the newest, the trending and
    random items; ``power > 0`` adds a rich-get-richer bias on the public click counts. Masked
    candidates are drawn last.
    """
    st, cat = state.sessions, state.catalog
    clicks = cat.clicks.take(st.candidates)  # (B, M)
    logw = power * np.log1p(clicks) + np.where(st.candidate_valid, 0.0, -1e4)
    gumbel = -np.log(-np.log(gen.random(logw.shape)))  # Gumbel-top-K = sampling without replacement
    return np.argsort(-(logw + gumbel), axis=1)[:, :slate_size]


def simulate_log(
    world: World, ticks: int, seed: int, progress: bool = False, max_steps: int = 100, power: float = 0.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Run the logging policy (``popularity_slates`` of ``power``) for ``ticks`` ticks from ``reset(seed)``.

    Sessions are cut at ``max_steps`` steps, as the registered envs' time limit does.

    Returns (users, item ids, ticks) of every click (C,) each, and per ended session its clicks (S,).
    """
    state = world.reset(seed)
    gen = np.random.default_rng(np.random.SeedSequence(seed).spawn(6)[5])  # the policy's own stream
    users, items, times, session_clicks = [], [], [], []
    k = world.config.slate.slate_size
    steps = range(ticks)
    if progress:
        from tqdm.auto import tqdm

        steps = tqdm(steps, desc="simulating the logged world", unit="tick", leave=False)
    for _ in steps:
        who = state.sessions.user.copy()
        result = world.step(state, popularity_slates(state, k, gen, power))
        hit = result.clicked >= 0
        users.append(who[hit])
        items.append(result.item_ids[hit, result.clicked[hit]])
        times.append(np.full(int(hit.sum()), result.time))
        done = result.terminated | (state.sessions.step >= max_steps)
        session_clicks.append(state.sessions.clicks[done].copy())
        world.restart(state, done)
    return (np.concatenate(users), np.concatenate(items), np.concatenate(times), np.concatenate(session_clicks))
