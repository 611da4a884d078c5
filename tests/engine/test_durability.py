"""Kill the process right after acknowledged events; the restarted engine has every one of them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from freshrec.engine.engine import Engine

from .conftest import Trained

CHILD = textwrap.dedent(
    """
    import json, os, signal, sys
    from freshrec.data.records import Event
    from freshrec.engine.engine import Engine
    from freshrec.models.sequential import TransformerRecommender
    from freshrec.text.encoder import HashingEncoder

    checkpoint, folder, items = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    engine = Engine(TransformerRecommender.load(checkpoint), HashingEncoder(64), folder)
    for n, item in enumerate(items):
        engine.ingest(Event("k", item_id=item, timestamp=100.0 + n))  # acknowledged when this returns
    print(json.dumps([[r.item_id, r.score, r.reason] for r in engine.recommend("k", k=10)]), flush=True)
    os.kill(os.getpid(), signal.SIGKILL)  # no close(), no snapshot, no flush: a crash
    """
)


def test_sigkill_after_acknowledged_events_loses_nothing(engine: Engine, trained: Trained, tmp_path: Path) -> None:
    checkpoint = tmp_path / "model.pt"
    trained.model.save(checkpoint)
    engine.close()  # the catalog is in the log; the child process opens the same folder
    items = trained.cluster_items(6)[:7]
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(checkpoint), str(engine.path), json.dumps(items)],
        capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )  # fmt: skip
    assert child.returncode == -signal.SIGKILL, child.stderr
    before = json.loads(child.stdout)
    restarted = Engine(trained.model, trained.encoder, engine.path)
    assert restarted.state.history("k") == items
    after = [[r.item_id, r.score, r.reason] for r in restarted.recommend("k", k=10)]
    assert after == before
