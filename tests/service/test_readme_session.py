"""The README's curl session, request by request, against the real server and the model it trains:
every answer is the one the README shows (scores to 1e-4: float rounding may differ)."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from .conftest import Model, Server

README = Path(__file__).parents[2] / "README.md"


def session() -> tuple[list[str], dict[str, str], list[tuple[list[str], str]]]:
    """The train command, the shell variables, and each curl command with the answer shown under it."""
    section = README.read_text().split("## Service", 1)[1].split("\n## ", 1)[0]
    block = next(b for b in re.findall(r"```bash\n(.*?)```", section, flags=re.DOTALL) if "curl" in b)
    variables = dict(re.findall(r"^(?:export )?(\w+)='(.*)'$", block, flags=re.MULTILINE))
    train = next(shlex.split(line) for line in block.splitlines() if "freshrec train" in line)
    calls: list[tuple[list[str], str]] = []
    pending = ""
    for line in block.splitlines():
        if line.startswith("# -> "):
            calls[-1] = (calls[-1][0], line.removeprefix("# -> "))
        elif line.startswith("curl") or pending:
            pending += line + "\n"
            try:
                words = shlex.split(pending)
            except ValueError:  # a quoted body continues on the next line
                continue
            calls.append(([variables.get(w[1:], w) if w.startswith("$") else w for w in words], ""))
            pending = ""
    return train, variables, calls


def send(words: list[str], base: str) -> httpx.Response:
    method, headers, body, url = "GET", {}, None, ""
    args = iter(words[1:])
    for word in args:
        if word == "-X":
            method = next(args)
        elif word == "-H":
            name, value = next(args).split(": ", 1)
            headers[name] = value
        elif word == "-d":
            body = next(args)
        elif word != "-s":
            url = "http://" + word.replace("localhost:8000", base)
    return httpx.request(method, url, headers=headers, content=body, timeout=30)


def same(got: Any, shown: Any) -> bool:
    if isinstance(shown, float) and isinstance(got, int | float):
        return abs(got - shown) <= 1e-4 * max(1.0, abs(shown))
    if isinstance(shown, dict):
        return isinstance(got, dict) and got.keys() == shown.keys() and all(same(got[k], shown[k]) for k in shown)
    if isinstance(shown, list):
        return isinstance(got, list) and len(got) == len(shown) and all(map(same, got, shown))
    return bool(got == shown)


def test_readme_curl_session_answers_as_shown(tmp_path: Path) -> None:
    train, variables, calls = session()
    assert len(calls) >= 8 and all(shown for _, shown in calls)
    checkpoint = tmp_path / "tiny.pt"
    command = [sys.executable, "-c", "from freshrec.cli import main; main()", *train[1:]]
    command[command.index("--out") + 1] = str(checkpoint)
    subprocess.run(command, check=True, capture_output=True, timeout=300, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    server = Server(
        Model(checkpoint, [], {}), tmp_path / "data", env={"FRESHREC_API_KEYS": variables["FRESHREC_API_KEYS"]}
    )
    server.start()
    try:
        for words, shown in calls:
            response = send(words, f"127.0.0.1:{server.port}")
            expected = json.loads(shown)
            assert (response.status_code < 300) == ("detail" not in expected), (words, response.text)
            assert same(response.json(), expected), f"{' '.join(words)}\n got: {response.text}\nshown: {shown}"
    finally:
        server.stop()
