"""Packaging: the four code folders install as ``freshrec.*`` packages, all of them, and nothing else.

Also the layering rule: the simulated world does not import Gymnasium or torch.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("simulators", "envs", "agents", "experiments")


def _pyproject() -> dict:  # type: ignore[type-arg]
    with (ROOT / "pyproject.toml").open("rb") as f:
        return tomllib.load(f)


def _folder_packages() -> set[str]:
    """freshrec.<dotted path> of every folder (under the four code folders) holding an __init__.py."""
    found = set()
    for top in FOLDERS:
        for init in (ROOT / top).rglob("__init__.py"):
            if "__pycache__" in init.parts:
                continue
            rel = init.parent.relative_to(ROOT)
            found.add("freshrec." + ".".join(rel.parts))
    return found


def test_every_package_folder_is_listed_and_every_listed_package_exists() -> None:
    listed = set(_pyproject()["tool"]["setuptools"]["packages"])
    folders = _folder_packages()
    assert folders - listed == set(), "folders with an __init__.py missing from [tool.setuptools] packages"
    assert listed - folders == set(), "packages listed in pyproject.toml without a folder and __init__.py"


def test_package_dir_maps_the_four_folders_under_freshrec() -> None:
    package_dir = _pyproject()["tool"]["setuptools"]["package-dir"]
    assert package_dir == {f"freshrec.{top}": top for top in FOLDERS}
    for top in FOLDERS:
        assert (ROOT / top / "__init__.py").is_file()


def test_mypy_checks_the_same_top_packages() -> None:
    assert set(_pyproject()["tool"]["mypy"]["packages"]) == {f"freshrec.{top}" for top in FOLDERS}


def _run(code: str, cwd: Path) -> str:
    done = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_no_generic_top_level_package_is_installed(tmp_path: Path) -> None:
    """``import envs`` (or agents, simulators, experiments) must not find this repository's folders.

    Run from an empty directory: from the repository root, Python would find the folders through the
    current directory, which says nothing about what the installation exposes.
    """
    code = (
        "import importlib.util, json\n"
        f"names = {list(FOLDERS)!r}\n"
        "out = {}\n"
        "for n in names:\n"
        "    s = importlib.util.find_spec(n)\n"
        "    out[n] = None if s is None else [s.origin, list(s.submodule_search_locations or [])]\n"
        "print(json.dumps(out))\n"
    )
    import json

    found = json.loads(_run(code, tmp_path))
    for name, where in found.items():
        if where is None:
            continue
        locations = [p for p in [where[0], *where[1]] if p]
        assert not any(Path(p).resolve().is_relative_to(ROOT) for p in locations), (name, where)


def test_freshrec_packages_import_from_anywhere(tmp_path: Path) -> None:
    out = _run(
        "import freshrec.simulators, freshrec.envs, freshrec.agents, freshrec.experiments; print('ok')", tmp_path
    )
    assert out.strip() == "ok"


@pytest.mark.parametrize(
    "modules",
    ["freshrec.simulators.world, freshrec.simulators.config, freshrec.simulators.data.loaders"],
)
def test_simulators_import_neither_gymnasium_nor_torch(tmp_path: Path, modules: str) -> None:
    code = f"import sys\nimport {modules}\nprint(sorted(m for m in ('torch', 'gymnasium') if m in sys.modules))\n"
    assert _run(code, tmp_path).strip() == "[]"


def test_envs_need_neither_torch_nor_sb3_until_asked(tmp_path: Path) -> None:
    """Building and stepping the envs (hashing encoder) loads no torch; the SB3 adapter loads it on first use."""
    code = (
        "import sys, gymnasium, numpy as np, freshrec.envs\n"
        "heavy = ('torch', 'stable_baselines3', 'sentence_transformers')\n"
        "env = gymnasium.make('freshrec/DriftingUsers-v0', encoder='hashing:64')\n"
        "env.reset(seed=0); env.step(np.arange(5))\n"
        "venv = gymnasium.make_vec('freshrec/DriftingUsers-v0', num_envs=2, encoder='hashing:64')\n"
        "venv.reset(seed=0); venv.step(np.tile(np.arange(5), (2, 1)))\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
        "from freshrec.envs import FreshRecSB3VecEnv\n"
        "print(FreshRecSB3VecEnv.__module__, 'stable_baselines3' in sys.modules)\n"
    )
    lines = _run(code, tmp_path).strip().splitlines()
    assert lines == ["[]", "freshrec.envs.sb3 True"]
