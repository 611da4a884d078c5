"""Model versions on disk: every published model with what it was trained on, and which one serves.

``folder/vNNNNNN.pt`` holds each version's checkpoint; ``folder/versions.json`` (rewritten atomically)
holds their metadata and the activation history, so a restart serves the same version and a rollback
returns to the one that served before.
"""

from __future__ import annotations

import json
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path

from freshrec.models.sequential import TransformerRecommender

INDEX = "versions.json"


@dataclass(frozen=True)
class ModelVersion:
    """What a version is: when it was made, how much of the stream it had learned from, how it validated."""

    version: int
    created_at: float  # wall-clock seconds since the epoch
    events_seen: int  # log sequence number of the newest entry it was trained on
    stream_time: float  # timestamp of the newest event it was trained on
    metrics: dict[str, float] = field(default_factory=dict)  # validation figures (see the publisher)
    parent: int | None = None
    note: str = ""
    items: int = 0  # items with a learned ID embedding


class ModelRegistry:
    """Publish, list, load and activate model versions; keeps the newest ``keep`` checkpoints."""

    def __init__(self, folder: Path | str, keep: int = 10) -> None:
        if keep < 2:
            raise ValueError(f"keep={keep}: at least 2 versions are needed to roll back")
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.keep = keep
        self._lock = threading.Lock()
        self._versions: dict[int, ModelVersion] = {}
        self._history: list[int] = []  # activations, oldest first; the last one serves
        index = self.folder / INDEX
        if index.exists():
            data = json.loads(index.read_text())
            self._versions = {v["version"]: ModelVersion(**v) for v in data["versions"]}
            self._history = [int(v) for v in data["history"]]

    def publish(self, model: TransformerRecommender, metadata: ModelVersion) -> ModelVersion:
        """Store ``model`` as the next version number (``metadata.version`` is ignored) and activate it."""
        with self._lock:
            number = max(self._versions, default=0) + 1
            version = ModelVersion(**{**asdict(metadata), "version": number, "items": len(model.item_ids)})
            model.save(self._path(number), extra={"version": asdict(version)})
            self._versions[number] = version
            self._history.append(number)
            self._prune()
            self._write()
            return version

    def versions(self) -> list[ModelVersion]:
        """Stored versions, oldest first."""
        with self._lock:
            return [self._versions[v] for v in sorted(self._versions)]

    def active(self) -> ModelVersion | None:
        with self._lock:
            return self._versions[self._history[-1]] if self._history else None

    def load(self, version: int) -> TransformerRecommender:
        with self._lock:
            if version not in self._versions:
                raise KeyError(f"version={version}: no such model version (have {sorted(self._versions)})")
        return TransformerRecommender.load(self._path(version))

    def activate(self, version: int) -> ModelVersion:
        """Record ``version`` as the serving one (the caller swaps the model in)."""
        with self._lock:
            if version not in self._versions:
                raise KeyError(f"version={version}: no such model version (have {sorted(self._versions)})")
            self._history.append(version)
            self._write()
            return self._versions[version]

    def rollback(self) -> ModelVersion:
        """Undo the latest activation: the version that served before the current one serves again."""
        with self._lock:
            history = list(self._history)
            while len(history) > 1:
                history.pop()
                if history[-1] in self._versions:
                    self._history = history
                    self._write()
                    return self._versions[history[-1]]
        raise LookupError("no earlier model version to roll back to")

    def _path(self, version: int) -> Path:
        return self.folder / f"v{version:06d}.pt"

    def _prune(self) -> None:
        """Drop the oldest checkpoints beyond ``keep``, never the serving one or the one before it."""
        protected = set(self._history[-2:])
        for number in sorted(self._versions)[: max(0, len(self._versions) - self.keep)]:
            if number not in protected:
                self._path(number).unlink(missing_ok=True)
                del self._versions[number]
        self._history = [v for v in self._history if v in self._versions][-1000:]

    def _write(self) -> None:
        data = {"versions": [asdict(self._versions[v]) for v in sorted(self._versions)], "history": self._history}
        partial = self.folder / (INDEX + ".partial")
        partial.write_text(json.dumps(data, indent=1))
        partial.replace(self.folder / INDEX)
