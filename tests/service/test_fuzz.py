"""Fuzz the running server from its own OpenAPI spec (schemathesis, on loopback, bounded in count):
no 5xx, no response that breaks the spec, no malformed request accepted, no valid one refused."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from .conftest import ALL, Server

EXAMPLES = int(os.environ.get("FRESHREC_FUZZ_EXAMPLES", "40"))  # per operation; CI time stays under a minute


def test_schemathesis_finds_no_server_error_and_no_schema_violation(server: Server, tmp_path: Path) -> None:
    command = [
        str(Path(sys.executable).with_name("schemathesis")), "run", f"{server.url}/openapi.json",
        "--checks", "all", "--header", f"X-API-Key: {ALL}", "--max-examples", str(EXAMPLES), "--seed", "7",
        "--workers", "1", "--generation-database", "none", "--no-color", "--request-timeout", "20",
    ]  # fmt: skip
    run = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    report = run.stdout[-6_000:] + run.stderr[-2_000:]
    assert run.returncode == 0, report
    # the one tolerated warning: on a fresh server no model version exists, so activating any is a 404
    warnings = run.stdout.partition("WARNINGS")[2].partition("SUMMARY")[0]
    tolerated = warnings.count("  - ") == 1 and "POST /v1/models/{version}/activate" in warnings
    assert "No issues found" in run.stdout or tolerated, report
    assert "Traceback" not in server.output(), server.output()[-4_000:]
