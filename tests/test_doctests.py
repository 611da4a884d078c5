"""Every docstring example in the four code packages runs and prints what it says."""

from __future__ import annotations

import doctest
import importlib
import pkgutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("simulators", "envs", "agents", "experiments")


def _walk(folder: Path, prefix: str) -> list[str]:
    """Like ``pkgutil.walk_packages`` but over the source folder, importing nothing: a module that the
    (strict editable) installation does not expose yet fails its test instead of being skipped."""
    names = []
    for info in pkgutil.iter_modules([str(folder)], prefix):
        names.append(info.name)
        if info.ispkg:
            names += _walk(folder / info.name.rsplit(".", 1)[-1], info.name + ".")
    return names


def _modules() -> list[str]:
    """freshrec.<folder>[.<...>] for every package and module of the four code folders."""
    return sorted(name for top in FOLDERS for name in [f"freshrec.{top}", *_walk(ROOT / top, f"freshrec.{top}.")])


MODULES = _modules()


def test_the_walk_finds_the_core_modules() -> None:
    for name in ("freshrec.simulators.world", "freshrec.simulators.dynamics", "freshrec.envs.env", "freshrec.envs.sb3"):
        assert name in MODULES


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name: str) -> None:
    module = importlib.import_module(name)  # no optional heavy dependency is allowed to be missing
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} doctest examples failed"
