"""A tiny trained checkpoint and catalog; the app in-process, or the real server (uvicorn in a
subprocess on a loopback port) where a test needs real HTTP, real signals and a real restart."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from freshrec.data.records import Item
from freshrec.data.synthetic import generate
from freshrec.models.transformer import ModelConfig
from freshrec.service.app import create_app
from freshrec.service.server import open_engine
from freshrec.service.settings import ServiceSettings
from freshrec.text.encoder import HashingEncoder
from freshrec.training.pipeline import fit_transformer, prepare
from freshrec.training.trainer import TrainConfig

READ, WRITE, ADMIN, ALL = "read-key-000000000000000000", "write-key-00000000000000000", "admin-key-0000000000000000", "all-scopes-key-000000000000"  # fmt: skip
KEYS = [
    {"name": "reader", "key": READ, "scopes": ["read"]},
    {"name": "writer", "key": WRITE, "scopes": ["write"]},
    {"name": "admin", "key": ADMIN, "scopes": ["admin"]},
    {"name": "all", "key": ALL, "scopes": ["read", "write", "admin"]},
]


@dataclass
class Model:
    checkpoint: Path
    items: list[Item]
    clusters: dict[int, list[str]]  # cluster -> its item ids


@pytest.fixture(scope="session")
def model(tmp_path_factory: pytest.TempPathFactory) -> Model:
    dataset, truth = generate(users=150, items=120, events=8_000, clusters=6, new_item_share=0.0, seed=5)
    prepared = prepare(dataset, HashingEncoder(64), progress=False)
    config = ModelConfig(num_items=1, hidden=32, layers=1, heads=2, max_len=50, dropout=0.1)
    trained, _ = fit_transformer(prepared, config, TrainConfig(epochs=4, batch_size=64, lr=3e-3), progress=False)
    checkpoint = tmp_path_factory.mktemp("model") / "tiny.pt"
    trained.save(checkpoint)
    ids = dataset.interactions.item_ids
    clusters: dict[int, list[str]] = {}
    for code, cluster in enumerate(truth.item_cluster):
        clusters.setdefault(int(cluster), []).append(ids[code])
    items = [dataset.items[i] for i in ids if i in dataset.items]
    items = [Item(i.item_id, i.text, (f"c{truth.item_cluster[n]}",)) for n, i in enumerate(items)]
    return Model(checkpoint, items, clusters)


def settings_for(model: Model, data_dir: Path, **overrides: object) -> ServiceSettings:
    return ServiceSettings(checkpoint=model.checkpoint, data_dir=data_dir, api_keys=KEYS, **overrides)  # type: ignore[arg-type]


@pytest.fixture
def app_client(model: Model, tmp_path: Path) -> Iterator[TestClient]:
    """The app in-process (no sockets) with the catalog loaded and small limits, for route behaviour."""
    settings = settings_for(model, tmp_path / "data", max_batch_events=50, max_body_bytes=64 * 1024)
    engine = open_engine(settings)
    engine.add_items(model.items)
    with TestClient(create_app(settings, engine)) as client:
        yield client


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """``freshrec serve`` in a subprocess on 127.0.0.1; settings through FRESHREC_* variables."""

    model: Model
    data_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 120.0) -> Server:
        import json

        self.port = free_port()
        env = {**os.environ, "FRESHREC_API_KEYS": json.dumps(KEYS), "FRESHREC_CHECKPOINT": str(self.model.checkpoint),
               "FRESHREC_DATA_DIR": str(self.data_dir), "FRESHREC_PORT": str(self.port), **self.env}  # fmt: skip
        self.log = open(self.data_dir.parent / f"server-{self.port}.log", "wb")  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-c", "from freshrec.cli import main; main()", "serve"], env=env,
            stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.output()
            try:
                if httpx.get(f"{self.url}/health/ready", timeout=1.0).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise TimeoutError(self.output())

    def output(self) -> str:
        self.log.flush()
        return (self.data_dir.parent / f"server-{self.port}.log").read_text(errors="replace")

    def signal(self, sig: int) -> None:
        assert self.process is not None
        self.process.send_signal(sig)

    def wait(self, timeout: float = 60.0) -> int:
        assert self.process is not None
        return self.process.wait(timeout)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.signal(signal.SIGTERM)
            try:
                self.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.wait()
        self.log.close()


@pytest.fixture
def server(model: Model, tmp_path: Path) -> Iterator[Server]:
    """A running server whose catalog holds the model's items (added through the API)."""
    running = Server(model, tmp_path / "data").start()
    response = httpx.put(f"{running.url}/v1/items", headers={"X-API-Key": ADMIN}, timeout=30,
                         json={"items": [{"item_id": i.item_id, "text": i.text, "categories": list(i.categories)}
                                         for i in model.items]})  # fmt: skip
    assert response.status_code == 200, response.text
    yield running
    running.stop()
