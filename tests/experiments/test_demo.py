"""The main job end to end on a small run: PPO trains, the harness compares it, held-out seeds only."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from freshrec.experiments import demo
from freshrec.experiments.seeds import EVAL_SEEDS, TRAIN_SEEDS, check_eval_seed


def test_demo_trains_compares_and_reports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    demo.main(
        ["--runs-dir", str(tmp_path), "--train-steps", "4096", "--agents", "random,most-popular", "--ticks", "40",
         "--num-envs", "16", "--seeds", "2", "--encoder", "hashing:64", "--no-progress"]
    )  # fmt: skip
    printed = capsys.readouterr().out
    assert "| ppo |" in printed and "| random |" in printed and "tensorboard --logdir" in printed
    results = json.loads((tmp_path / "demo" / "report" / "results.json").read_text())
    assert results["meta"]["seeds"] == list(EVAL_SEEDS[:2])
    table = results["results"]["freshrec/DriftingUsers-v0"]
    assert set(table) == {"random", "most-popular", "ppo"}
    assert all(0.0 <= v <= 1.0 for v in table["ppo"]["ctr"]["values"])
    # The PPO run and one TensorBoard run per agent and seed, with the same eval tags.
    assert list((tmp_path / "demo" / "ppo").glob("*/final_model.zip"))
    for agent in ("random", "ppo"):
        assert list((tmp_path / "demo" / "freshrec_DriftingUsers-v0" / agent / f"seed{EVAL_SEEDS[0]}").glob("events.*"))


def test_demo_in_parallel_gives_the_same_results_as_in_turn(tmp_path: Path) -> None:
    # Training in a second process while the baselines run here must not change a single figure.
    if demo.cores() < 2:
        pytest.skip("one core: --parallel falls back to the sequential order, so there is nothing to compare")
    argv = ["--train-steps", "2048", "--agents", "random,sequence-transformer,svd", "--ticks", "30",
            "--num-envs", "8", "--seeds", "1", "--encoder", "hashing:32", "--no-progress"]  # fmt: skip
    tables = []
    for mode, folder in (("--parallel", "a"), ("--no-parallel", "b")):
        demo.main([*argv, mode, "--runs-dir", str(tmp_path / folder)])
        results = json.loads((tmp_path / folder / "demo" / "report" / "results.json").read_text())
        tables.append(results["results"])
        assert not list((tmp_path / folder / "demo" / "burn_in").glob("*.part"))  # written aside, then renamed
    assert json.dumps(tables[0]) == json.dumps(tables[1])  # as text: NaN equals NaN
    assert set(tables[0]["freshrec/DriftingUsers-v0"]) == {"random", "sequence-transformer", "svd", "ppo"}


def test_the_process_beside_exits_cleanly(tmp_path: Path) -> None:
    """The training process is let finish, not terminated: killed, it left behind the semaphore of its progress
    bar's lock (tqdm makes one with SB3's first bar and keeps it), and the resource tracker printed a "leaked
    semaphore" warning after the demo had ended (when the kill won the race with the worker's own exit). Here the
    child makes one and is slow to exit, so a kill always comes first."""
    script = tmp_path / "beside.py"
    script.write_text(
        "import multiprocessing, multiprocessing.util, time\n"
        "from freshrec.experiments.demo import beside\n"
        "def hold(x):\n"
        "    global lock\n"
        "    lock = multiprocessing.get_context('spawn').RLock()  # kept, as tqdm keeps its lock\n"
        "    multiprocessing.util.Finalize(None, time.sleep, args=(1.0,), exitpriority=10)  # runs before its release\n"
        "    return x + 1\n"
        "if __name__ == '__main__':\n"
        "    with beside(hold, 1) as job:\n"
        "        assert job.get() == 2\n"
    )
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "leaked" not in done.stderr, done.stderr


def test_demo_rejects_bad_config() -> None:
    with pytest.raises(ValueError, match="ticks = 0"):
        demo.DemoConfig(ticks=0)
    with pytest.raises(ValueError, match="env_id"):
        demo.DemoConfig(env_id="freshrec/Nope-v0")


def test_eval_seeds_are_held_out() -> None:
    assert not set(EVAL_SEEDS) & set(TRAIN_SEEDS)
    with pytest.raises(ValueError, match="held-out"):
        check_eval_seed(EVAL_SEEDS[0])
    check_eval_seed(0)
