"""What the single and the vector env share: action checks, the info dict, building the world and features."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from gymnasium import logger

from freshrec.envs.features import text_features
from freshrec.envs.registration import ENV_IDS
from freshrec.simulators.config import ConfigError, WorldConfig
from freshrec.simulators.jit import jit
from freshrec.simulators.state import StepResult, WorldState
from freshrec.simulators.world import World

# Keys of ``info`` that describe the session's step (a leading N axis in the vector env).
SESSION_KEYS = (
    "time", "user_id", "session_id", "session_step", "slate_item_ids", "slate_topics", "slate_age",
    "slate_click_prob", "slate_relevance", "slate_relevant", "ideal_relevance", "num_relevant",
    "clicked_position", "clicked_item_id", "engagement", "repeated_positions", "shifted", "candidate_relevance",
)  # fmt: skip


CALIBRATED = "movielens"  # the regime of worlds calibrated on a real log (``data``)


def make_world(
    regime: str,
    config: WorldConfig | Mapping[str, Any] | None,
    num_sessions: int,
    encoder: str,
    text_dim: int,
    data: str | Path | None = None,
) -> tuple[World, np.ndarray]:
    """The world of a regime (or an explicit config) and the public text features of its text bank.

    The ``movielens`` regime builds a ``CalibratedWorld`` from ``data`` (default ``ml-100k``); its
    ``config``, when given, may change anything but the sizes the data fixes.
    """
    if isinstance(config, Mapping):  # a WorldConfig read back from JSON (``EnvSpec.from_json``), or by hand
        config = WorldConfig.from_dict(config)
    if config is not None and not isinstance(config, WorldConfig):
        raise ConfigError(f"config = {config!r}: must be a WorldConfig (or a mapping of its groups' fields)")
    if regime == CALIBRATED:
        from freshrec.simulators.calibration import CalibratedWorld, calibrated

        world: World = CalibratedWorld(calibrated(data or "ml-100k"), num_sessions, config)
    elif data is not None:
        raise ConfigError(f"data = {str(data)!r}: only the {CALIBRATED!r} regime reads a data set, not {regime!r}")
    else:
        world = World(config if config is not None else WorldConfig.regime(regime), num_sessions=num_sessions)
    return world, text_features(world.bank, encoder, text_dim)


def item_encoding(env: Any) -> dict[str, Any] | None:
    """``{"encoder", "text_dim"}`` of the freshrec env under ``env`` (through Gymnasium wrappers, SB3 VecEnv
    wrappers, SB3's own vector envs such as ``DummyVecEnv`` and ``SubprocVecEnv``, and the SB3 adapter), or None
    when there is none: what a trained policy's item tokens were made of, saved with the model so that it is never
    run on items another encoder made."""
    for _ in range(32):  # wrapper chains are short; the bound only guards against a cycle
        base = getattr(env, "unwrapped", env)
        found = _encoding(getattr(base, "encoder", None), getattr(base, "text_dim", None))
        if found is not None:
            return found
        inner = next((getattr(env, a) for a in ("venv", "env") if getattr(env, a, None) is not None), None)
        if inner is None:
            # SB3's vector envs of separate envs (DummyVecEnv, SubprocVecEnv) hold them out of reach, possibly in
            # other processes: ask the first through the VecEnv API. has_attr first, since a missing attribute in
            # get_attr kills a SubprocVecEnv's worker.
            has, get = getattr(env, "has_attr", None), getattr(env, "get_attr", None)
            if callable(has) and callable(get) and has("encoder") and has("text_dim"):
                return _encoding(get("encoder", indices=[0])[0], get("text_dim", indices=[0])[0])
            return None
        env = inner
    return None


def _encoding(encoder: Any, text_dim: Any) -> dict[str, Any] | None:
    ok = isinstance(encoder, str) and isinstance(text_dim, int)
    return {"encoder": encoder, "text_dim": text_dim} if ok else None


def describe_world(regime: str, data: str | Path | None = None) -> str:
    """A string that changes whenever the world of ``regime`` changes (a cache key for burned-in worlds):
    its config (or fitted calibration) and the source of the code that simulates and observes it."""
    if regime == CALIBRATED:  # the fitted world itself, so edited data or fitting code never reuse old pickles
        from freshrec.simulators.calibration import calibrated

        cal = calibrated(data or "ml-100k")
        world = f"{CALIBRATED}:{cal.world_config()!r}:{cal.params}:{cal.item_ids}:{cal.user_ids}"
    else:
        world = repr(WorldConfig.regime(regime))
    return f"{world}:{code_digest()}"


@functools.cache
def code_digest() -> str:
    """A digest of the simulator's and the envs' source files: a pickled world is only valid for the code that made it."""
    import freshrec.envs
    import freshrec.simulators

    digest = hashlib.sha1()
    for package in (freshrec.simulators, freshrec.envs):
        for path in sorted(Path(next(iter(package.__path__))).rglob("*.py")):
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def check_actions(actions: Any, sessions: int, slate: int, candidates: int) -> np.ndarray:
    """(B, K) int64 slate positions, or a ValueError naming the bad position, its value and the allowed range."""
    if type(actions) is np.ndarray and actions.dtype == np.int64:  # the usual case: one compiled pass
        shape = actions.shape
        if (shape == (sessions, slate) or (sessions == 1 and shape == (slate,))) and _in_range(actions, candidates):
            return actions.reshape(sessions, slate)
    a = np.asarray(actions)
    if a.shape != (sessions, slate) and not (sessions == 1 and a.shape == (slate,)):
        want = f"({slate},)" if sessions == 1 else f"({sessions}, {slate})"
        raise ValueError(f"action shape {a.shape}: must be {want}, slate positions into the {candidates} candidates")
    if a.dtype.kind not in "iuf":
        raise ValueError(f"action dtype {a.dtype}: each slate position must be an integer in [0, {candidates - 1}]")
    a = a.reshape(sessions, slate)
    with np.errstate(invalid="ignore"):  # checked on the given values, before any cast can wrap them
        bad = ~(a >= 0) | ~(a < candidates)  # NaN fails both comparisons
        if a.dtype.kind == "f":
            bad |= a != np.floor(a)
    if bad.any():
        row, pos = (int(v) for v in np.argwhere(bad)[0])
        where = f"session {row}, " if sessions > 1 else ""
        raise ValueError(
            f"action {where}slate position {pos} = {a[row, pos].item()!r}: must be an integer in [0, {candidates - 1}] "
            f"(an index into the {candidates} candidates)"
        )
    return a.astype(np.int64)


@jit
def _in_range(a: np.ndarray, high: int) -> bool:
    """Every entry of the int64 array ``a`` lies in [0, high)."""
    for v in a.ravel():  # noqa: SIM110 (a plain loop compiles; all() over a generator does not)
        if v < 0 or v >= high:
            return False
    return True


def step_info(
    state: WorldState, result: StepResult, positions: np.ndarray, session_step: np.ndarray, index: int | None = None
) -> dict[str, Any]:
    """Ground truth of a step for metrics and tests: per-session arrays have a leading (B,) axis, or are
    the values of session ``index`` alone (the single env's view); ``world_*`` values are the tick's."""
    st = state.sessions
    slate_rel, ideal, num_relevant, clicked_item = _graded(result.relevance, positions, result.item_ids, result.clicked)
    per_session = (
        np.full(st.user.size, result.time, np.int64), st.user.copy(), st.session_id.copy(), session_step,
        result.item_ids, result.topics, result.ages, result.click_prob, slate_rel, slate_rel >= 0.5, ideal,
        num_relevant, result.clicked, clicked_item, result.engagement, result.repeated, result.shifted,
        result.relevance,
    )  # fmt: skip
    info: dict[str, Any]
    if index is None:
        info = dict(zip(SESSION_KEYS, per_session, strict=True))
    else:
        info = {key: value[index] for key, value in zip(SESSION_KEYS, per_session, strict=True)}
    info["world_time"] = np.int64(state.time)
    info["world_arrived_item_ids"] = result.arrived
    info["world_retired_item_ids"] = result.retired
    info["world_shift_user_ids"] = result.shift_users
    info["world_shift_topics"] = result.shift_topics
    info["world_shift_before"] = result.shift_before
    info["world_shift_after"] = result.shift_after
    return info


@jit
def _graded(
    relevance: np.ndarray, positions: np.ndarray, item_ids: np.ndarray, clicked: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per session: the slate's relevance (B, K) (0 for empty slots), the K best candidate relevances
    in decreasing order (B, K), the number of relevant (>= 0.5) candidates (B,), the clicked item id (B,)."""
    b_, k_ = positions.shape
    m_ = relevance.shape[1]
    slate = np.zeros((b_, k_), np.float32)
    ideal = np.empty((b_, k_), np.float32)
    count = np.zeros(b_, np.int64)
    clicked_item = np.full(b_, -1, np.int64)
    top = np.empty(k_, np.float32)  # the K best so far, decreasing (an insertion pass: K << M)
    for b in range(b_):
        for i in range(k_):
            if item_ids[b, i] >= 0:
                slate[b, i] = relevance[b, positions[b, i]]
        top[:] = -np.inf
        for m in range(m_):
            rel = relevance[b, m]
            count[b] += rel >= 0.5
            j = k_ - 1
            if rel <= top[j]:
                continue
            while j > 0 and top[j - 1] < rel:
                top[j] = top[j - 1]
                j -= 1
            top[j] = rel
        ideal[b] = top
        if clicked[b] >= 0:
            clicked_item[b] = item_ids[b, clicked[b]]
    return slate, ideal, count, clicked_item


def reset_info(state: WorldState, idx: np.ndarray | None = None) -> dict[str, Any]:
    """What a reset tells: who is served, and the live catalog (for freshness and coverage metrics)."""
    st, cat = state.sessions, state.catalog
    sel = slice(None) if idx is None else idx
    return {
        "user_id": st.user[sel].copy(),
        "session_id": st.session_id[sel].copy(),
        "world_time": np.int64(state.time),
        "world_live_item_ids": cat.item_id[cat.live],
        "world_live_item_arrival": cat.arrival[cat.live],
    }


def check_id_regime(env: Any) -> None:
    """ValueError when ``env`` was made from a registered id with another ``regime`` given. Gymnasium merges the
    caller's keyword arguments over the id's, so ``make("freshrec/Stationary-v0", regime="full")`` would otherwise
    run the full regime under the Stationary id (and every record would carry that id). Called at reset: the env
    learns the id it was made from (``env.spec``) only after construction. ``config=`` stays the way to change the
    world under an id."""
    spec = getattr(env, "spec", None)
    if spec is None or spec.id not in ENV_IDS:
        return
    want, got = ENV_IDS[spec.id][0], spec.kwargs.get("regime")
    if got != want:
        ids = [i for i, (regime, _) in ENV_IDS.items() if regime == got]
        hint = f"make {ids[0]} instead" if ids else f"regimes: {sorted({r for r, _ in ENV_IDS.values()})}"
        raise ValueError(f"regime = {got!r}: {spec.id} is the {want!r} regime, set by the id ({hint})")


def check_render_mode(render_mode: Any) -> None:
    """Both envs take ``render_mode`` (generic code passes it, often as None) and accept only None: there is nothing
    to draw (``metadata["render_modes"]`` is empty). Anything else is refused by name, not ignored."""
    if render_mode is not None:
        raise ValueError(f"render_mode = {render_mode!r}: freshrec's envs have no render modes (only None)")


def render_nothing(env: Any) -> None:
    """Both envs' ``render``: nothing to draw (``metadata["render_modes"]`` is empty), so it warns and returns
    None, as Gymnasium's own envs do when made without a ``render_mode`` (the base classes raise instead)."""
    logger.warn(f"{type(env).__name__} has no render modes; the info dict holds what happened at each step")


def squeeze(info: dict[str, Any]) -> dict[str, Any]:
    """The single env's view of a one-session info: per-session arrays lose their leading axis."""
    return {key: (value if key.startswith("world_") else value[0]) for key, value in info.items()}
