"""The online trainer: keeps fine-tuning the serving model on the newest events and publishes versions.

It follows the engine's durable log (so it sees exactly what was acknowledged, in order), and every
update trains on the windows of users with new events plus a replay sample of other users' histories,
so the model learns the present without forgetting the past. Items it has not seen get ID embeddings
on the fly (starting from their text, see :mod:`freshrec.models.growth`). Each update is validated on
events held out from it, published as a version, and swapped into the engine atomically; requests never
wait on training. Users need no new parameters: the model represents a user by their history.
"""

from __future__ import annotations

import copy
import random
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from freshrec.data.records import Event, EventKind
from freshrec.data.sequences import pad_histories
from freshrec.engine.engine import Engine
from freshrec.engine.versions import ModelVersion
from freshrec.evaluation.metrics import hit_rate, ndcg, target_ranks
from freshrec.models.growth import carry_optimizer_state, with_new_items
from freshrec.models.sequential import TransformerRecommender
from freshrec.models.transformer import SequenceRecommender
from freshrec.training.trainer import TrainConfig, length_bucketed_batches, sequence_loss


@dataclass
class OnlineConfig:
    """Cadence and compute budget of online updates."""

    every_events: int = 500  # an update starts once this many new interactions arrived...
    every_seconds: float = 30.0  # ...or this long after the previous one, if any arrived at all
    epochs: int = 1  # passes over each update's windows
    batch_size: int = 64
    lr: float = 5e-4
    weight_decay: float = 0.01
    replay_ratio: float = 1.0  # windows from other users' histories per window with new events
    max_seconds: float = 20.0  # compute budget of one update: training stops there
    max_busy: float = 0.5  # share of wall time the trainer may use: it rests between updates accordingly
    poll_seconds: float = 0.1
    seed: int = 0

    def __post_init__(self) -> None:
        if self.every_events < 1 or self.epochs < 1 or self.batch_size < 1:
            raise ValueError("every_events, epochs and batch_size must be at least 1")
        if not 0.0 < self.max_busy <= 1.0:
            raise ValueError(f"max_busy={self.max_busy} must be in (0, 1]")
        if self.replay_ratio < 0 or self.every_seconds <= 0 or self.max_seconds <= 0:
            raise ValueError("replay_ratio must be >= 0; every_seconds and max_seconds > 0")


@dataclass
class UpdateLog:
    """One update: what it learned from, what it cost, how far behind the stream it was when it served."""

    version: int
    events: int  # new interactions it learned from
    windows: int  # training windows (new + replayed)
    new_items: int  # items that got an ID embedding in this update
    train_seconds: float
    lag_events: int  # log entries the stream had moved on by the time this version served
    lag_seconds: float  # wall time from the update's data cut to serving
    metrics: dict[str, float] = field(default_factory=dict)
    published_at: float = 0.0  # wall-clock seconds since the epoch


class OnlineTrainer:
    """Background fine-tuning for one :class:`Engine`. ``start`` / ``stop``, or ``update`` by hand."""

    def __init__(self, engine: Engine, config: OnlineConfig | None = None) -> None:
        self.engine = engine
        self.config = config or OnlineConfig()
        self.max_len = engine.model.model.config.max_len
        self.updates: list[UpdateLog] = []
        self.errors: list[str] = []
        self._rng = random.Random(self.config.seed)
        self._histories: dict[str, deque[str]] = {}
        self._pending: dict[str, int] = {}  # user -> new interactions not learned from yet
        self._seq = 0
        self._stream_time = self._learned_time = 0.0
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._updating = threading.Lock()
        self._published = engine.model_version
        self._reset_from_engine()
        engine.on_forget(self._forget)
        self._read_log()
        self._pending.clear()  # the starting model already learned from everything logged before now
        self._learned_seq, self._learned_time = self._seq, self._stream_time

    # ------------------------------------------------------------ lifecycle
    def start(self) -> OnlineTrainer:
        if self._thread is not None:
            raise RuntimeError("the online trainer is already running")
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="freshrec-online-trainer", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 60.0) -> None:
        """Finish the update in progress (if any) and stop."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def lag(self) -> dict[str, float]:
        """How far the serving model is behind the stream now: log entries, and stream seconds (cheap: no
        log query, so a replay can ask after every event)."""
        last = self.engine.state.applied_seq
        return {"events": float(last - self._learned_seq), "stream_seconds": self._stream_time - self._learned_time}

    def busy_seconds(self) -> float:
        return sum(u.train_seconds for u in self.updates)

    # --------------------------------------------------------------- update
    def update(self) -> UpdateLog | None:
        """One update now, if there is anything new: train, validate, publish, swap in."""
        with self._updating:  # the background thread and a caller never train at once
            return self._update()

    def _update(self) -> UpdateLog | None:
        self._read_log()
        if not self._pending:
            return None
        if self.engine.model_version != self._published:  # someone activated or rolled back a version
            self._reset_from_engine()
        started = time.perf_counter()
        data_seq, data_time = self._seq, self._stream_time
        users = list(self._pending)
        events = sum(self._pending.values())
        # the newest interaction of each updated user is held out to validate this update
        # (``events_seen`` of the version is still the log position read: those events come next time)
        held_histories = [list(self._histories[u])[:-1] for u in users]
        held_targets = [self._histories[u][-1] for u in users]
        fresh = held_histories
        others = [u for u in self._histories if u not in self._pending]
        replayed = self._rng.sample(others, min(len(others), round(self.config.replay_ratio * len(users))))
        sequences = [s for s in fresh + [list(self._histories[u]) for u in replayed] if len(s) >= 2]
        added = self._grow({i for s in sequences for i in s})
        before = self._validate(self.engine.model, held_histories, held_targets)
        self._train(sequences, started)
        candidate = TransformerRecommender(copy.deepcopy(self._model).eval(), list(self._item_ids), self._encoder)
        after = self._validate(candidate, held_histories, held_targets)
        self._pending = {u: 1 for u in users if len(self._histories[u]) >= 2}  # held-out events: next time
        train_seconds = time.perf_counter() - started
        metrics = {f"{k}_before": v for k, v in before.items()} | after | {"valid_events": float(len(users))}
        meta = ModelVersion(0, time.time(), data_seq, data_time, metrics)
        version = self.engine.publish(candidate, meta)
        self._published = version.version
        self._learned_seq, self._learned_time = data_seq, data_time
        log = UpdateLog(
            version.version,
            events,
            len(sequences),
            added,
            train_seconds,
            self.engine.log.last_seq() - data_seq,
            time.perf_counter() - started,
            metrics,
            time.time(),
        )
        self.updates.append(log)
        return log

    def summary(self) -> dict[str, object]:
        lags = [u.lag_seconds for u in self.updates]
        intervals = np.diff([u.published_at for u in self.updates])
        return {
            "updates": len(self.updates),
            "train_seconds": self.busy_seconds(),
            "lag_seconds_median": float(np.median(lags)) if lags else None,
            "lag_seconds_max": max(lags) if lags else None,
            "lag_events_median": float(np.median([u.lag_events for u in self.updates])) if lags else None,
            "publish_interval_seconds_max": float(intervals.max()) if len(intervals) else None,
            "new_items": sum(u.new_items for u in self.updates),
            "errors": list(self.errors),
            "log": [asdict(u) for u in self.updates],
        }

    # ------------------------------------------------------------ internals
    def _run(self) -> None:
        last_update = time.monotonic()
        rest_until = 0.0
        while not self._stop.is_set():
            with self._updating:
                self._read_log()
            now = time.monotonic()
            pending = sum(self._pending.values())
            due = pending >= self.config.every_events or (pending and now - last_update >= self.config.every_seconds)
            if due and now >= rest_until:
                try:
                    log = self.update()
                except Exception as error:  # keep serving the last good version; report why
                    self.errors.append(f"{type(error).__name__}: {error}")
                    log = None
                last_update = time.monotonic()
                spent = log.train_seconds if log else 0.0
                rest_until = last_update + spent * (1.0 / self.config.max_busy - 1.0)
            else:
                self._stop.wait(self.config.poll_seconds)

    def _forget(self, user_id: str) -> None:
        """A privacy request: drop the user's recent history (weights already trained keep no per-user data
        that can be looked up, but they were shaped by it: retrain from the log to remove even that)."""
        with self._updating:
            self._histories.pop(user_id, None)
            self._pending.pop(user_id, None)

    def _reset_from_engine(self) -> None:
        """Train from the model the engine serves now (at start, and after an activation or rollback)."""
        serving = self.engine.model
        self._model: SequenceRecommender = copy.deepcopy(serving.model)
        self._item_ids: list[str] = list(serving.item_ids)
        self._code_of = {item_id: code for code, item_id in enumerate(self._item_ids, start=1)}
        self._encoder = serving.encoder_name
        self._optimizer = self._new_optimizer(self._model)
        self._published = self.engine.model_version

    def _new_optimizer(self, model: SequenceRecommender) -> torch.optim.Optimizer:
        return torch.optim.AdamW(model.parameters(), lr=self.config.lr, weight_decay=self.config.weight_decay)

    def _read_log(self) -> None:
        for seq, (_kind, payload) in self.engine.log.replay(after=self._seq):
            self._seq = seq
            event = payload
            if not isinstance(event, Event) or event.kind in (EventKind.SEARCH, EventKind.IMPRESSION):
                continue
            user = event.user_id
            history = self._histories.setdefault(user, deque(maxlen=self.max_len + 1))
            history.append(str(event.item_id))
            self._pending[user] = self._pending.get(user, 0) + 1
            self._stream_time = max(self._stream_time, float(event.timestamp))

    def _grow(self, item_ids: set[str]) -> int:
        """Give every item in ``item_ids`` that the model lacks an ID embedding; returns how many."""
        unknown = sorted(i for i in item_ids if i not in self._code_of)
        if not unknown:
            return 0
        text = self.engine.item_text_vectors(unknown) if self._model.config.use_text else None
        grown = with_new_items(self._model, text, len(unknown))
        optimizer = self._new_optimizer(grown)
        carry_optimizer_state(self._optimizer, self._model, optimizer, grown)
        self._model, self._optimizer = grown, optimizer
        for item_id in unknown:
            self._item_ids.append(item_id)
            self._code_of[item_id] = len(self._item_ids)
        return len(unknown)

    def _train(self, sequences: list[list[str]], started: float) -> None:
        codes = [np.array([self._code_of[i] for i in s], dtype=np.int64) for s in sequences]
        windows = torch.from_numpy(pad_histories(codes, self.max_len + 1))
        lengths = (windows > 0).sum(dim=1)
        config = TrainConfig(batch_size=self.config.batch_size)
        generator = torch.Generator().manual_seed(self._rng.randrange(2**31))
        self._model.train()
        for _ in range(self.config.epochs):
            for batch in length_bucketed_batches(windows, lengths, self.config.batch_size, generator):
                loss = sequence_loss(self._model, batch, config)
                self._optimizer.zero_grad(set_to_none=True)
                loss.backward()  # type: ignore[no-untyped-call]
                torch.nn.utils.clip_grad_norm_(self._model.parameters(), config.grad_clip)
                self._optimizer.step()
                if time.perf_counter() - started > self.config.max_seconds:
                    break
        self._model.eval()

    @staticmethod
    def _validate(model: TransformerRecommender, histories: list[list[str]], targets: list[str]) -> dict[str, float]:
        """HR@10 / NDCG@10 of ``model`` on held-out next items (seen items excluded; unknown targets miss)."""
        code_of = {item_id: code for code, item_id in enumerate(model.item_ids, start=1)}
        rows = [np.array([code_of[i] for i in h if i in code_of], dtype=np.int64) for h in histories]
        scores = model.score_histories(rows).astype(np.float64)
        for row, history in enumerate(rows):
            scores[row, history] = -np.inf
        codes = np.array([code_of.get(t, 0) for t in targets], dtype=np.int64)
        ranks = target_ranks(scores, codes)
        ranks[codes == 0] = np.inf
        return {"HR@10": hit_rate(ranks, 10), "NDCG@10": ndcg(ranks, 10)}
