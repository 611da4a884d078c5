"""The comparison harness on a tiny config: TensorBoard tags read back, report files, reproducibility."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from freshrec.experiments.compare import FINAL_TAGS, SESSION_TAGS, CompareConfig, main, markdown, run, window_tags
from freshrec.experiments.seeds import EVAL_SEEDS
from freshrec.simulators.config import WorldConfig

AGENTS = ("random", "most-popular")
TAGS = {**window_tags(5), **SESSION_TAGS, **FINAL_TAGS}


def tiny(tmp_path: Path, **changes: object) -> CompareConfig:
    base = {
        "experiment": "tiny", "agents": AGENTS, "env_ids": ("freshrec/DriftingUsers-v0",), "seeds": 2, "ticks": 60,
        "num_envs": 16, "burn_in": 20, "log_every": 20, "encoder": "hashing:64", "runs_dir": tmp_path, "progress": False,
    }  # fmt: skip
    base.update(changes)
    return CompareConfig(**base)  # type: ignore[arg-type]


def test_tensorboard_runs_hold_the_recorded_metrics(tmp_path: Path) -> None:
    cfg = tiny(tmp_path, extra={"config": WorldConfig().replace(users__users=600, users__shift_hazard=0.01)})
    records = run(cfg)
    assert {(r.agent, r.seed) for r in records} == {(a, s) for a in AGENTS for s in EVAL_SEEDS[:2]}
    for record in records:
        run_dir = tmp_path / "tiny" / "freshrec_DriftingUsers-v0" / record.agent / f"seed{record.seed}"
        events = EventAccumulator(str(run_dir))
        events.Reload()
        scalars = set(events.Tags()["scalars"])
        tags = {t for t in scalars if t.startswith("eval/")}
        assert {"eval/ctr", "eval/precision@5", "eval/item_age", "eval/coverage"} <= tags <= set(TAGS)
        # The whole-run summary is stored with the hyperparameters (TensorBoard's HPARAMS tab).
        assert events.Scalars("final/ctr")[0].value == pytest.approx(record.summary["ctr"], rel=1e-6)
        for tag in tags:
            logged = [(e.step, e.value) for e in events.Scalars(tag)]
            recorded = record.series[TAGS[tag]]
            assert [s for s, _ in logged] == [s for s, _ in recorded]  # against simulated time (world ticks)
            assert [v for _, v in logged] == pytest.approx([v for _, v in recorded], rel=1e-6)
        # Ticks are the world's clock after burn-in: the first point is at burn_in + log_every. (Checked on
        # eval/ctr, logged every window; session tags skip windows in which no session ended, and a check on
        # whichever tag a set happened to yield last failed now and then.)
        ctr_steps = [e.step for e in events.Scalars("eval/ctr")]
        assert ctr_steps[0] == cfg.burn_in + cfg.log_every
        # Every agent here ranks: its top 10 hold its slate, so their recall is at least the slate's.
        assert "eval/ranking_recall@10" in tags and record.log.ranking_depth == 10
        assert record.summary["recall@5"] <= record.summary["ranking_recall@10"] <= 1.0


def test_session_tags_over_one_window_are_the_recorders(tmp_path: Path) -> None:
    # With one window, eval/return and eval/session_length hold every session that began and ended in the run:
    # the Recorder's completed sessions, including those whose slot burn-in's last step had just restarted.
    cfg = tiny(tmp_path, agents=("random",), seeds=1, ticks=60, log_every=60, burn_in=25)
    (record,) = run(cfg)
    for key in ("return", "session_length"):
        ((_, value),) = record.series[key]
        assert value == pytest.approx(record.summary[key], rel=1e-9), key


def test_report_files_and_cli(tmp_path: Path) -> None:
    records = main(
        ["--experiment", "cli", "--agents", ",".join(AGENTS), "--env-ids", "freshrec/Stationary-v0", "--seeds", "2",
         "--ticks", "40", "--num-envs", "16", "--burn-in", "20", "--log-every", "20", "--encoder", "hashing:64",
         "--runs-dir", str(tmp_path), "--no-progress"]
    )  # fmt: skip
    report = tmp_path / "cli" / "report"
    results = json.loads((report / "results.json").read_text())["results"]["freshrec/Stationary-v0"]
    for agent in AGENTS:
        ctr = results[agent]["ctr"]
        values = [r.summary["ctr"] for r in records if r.agent == agent]
        assert ctr["values"] == pytest.approx(values)
        assert ctr["mean"] == pytest.approx(sum(values) / len(values))
        assert not math.isnan(ctr["ci95"])
    for name in ("metrics_by_agent.png", "over_time.png", "drift_aligned.png", "new_item_exposure.png"):
        assert (report / name).stat().st_size > 1000
    assert "| random |" in (report / "results.md").read_text()


def test_markdown_says_when_seeds_gave_nan() -> None:
    nan = math.nan
    table = {"env": {"a": {"x": {"mean": 2.0, "ci95": nan, "values": [2.0, nan, nan]},
                           "y": {"mean": 1.0, "ci95": 0.5, "values": [0.8, 1.2]},
                           "z": {"mean": nan, "ci95": nan, "values": [nan, nan]}}}}  # fmt: skip
    row = markdown(table).splitlines()[-1]
    assert row == "| a | 2 (1 of 3 seeds) | 1 ± 0.5 | n/a |"


def test_two_runs_with_one_seed_are_identical(tmp_path: Path) -> None:
    a = run(tiny(tmp_path / "a", seeds=1))
    b = run(tiny(tmp_path / "b", seeds=1))
    for x, y in zip(a, b, strict=True):
        assert x.summary.keys() == y.summary.keys()
        for key in x.summary:
            assert x.summary[key] == pytest.approx(y.summary[key], nan_ok=True), key


def test_every_agent_starts_from_the_same_world(tmp_path: Path) -> None:
    records = run(tiny(tmp_path, seeds=1, ticks=1))
    first_users = {r.agent: r.log.user_id.tolist() for r in records}
    assert first_users["random"] == first_users["most-popular"]  # the same sessions were served


def test_bad_config_is_named(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="agents"):
        tiny(tmp_path, agents=("nope",))
    with pytest.raises(ValueError, match="env_ids"):
        tiny(tmp_path, env_ids=("freshrec/Nope-v0",))
    with pytest.raises(ValueError, match="seeds = 16: must be in \\[1, 15\\]"):
        tiny(tmp_path, seeds=16)
    with pytest.raises(ValueError, match="seeds = 11: must be in \\[1, 10\\]"):
        tiny(tmp_path, seeds=11, skip_seeds=5)
    with pytest.raises(ValueError, match="skip_seeds = 15: must be in \\[0, 14\\]"):
        tiny(tmp_path, skip_seeds=15)
    assert tiny(tmp_path, seeds=3, skip_seeds=5).world_seeds() == [10_006, 10_007, 10_008]
    with pytest.raises(ValueError, match=r"threads = -1: must be >= 0"):
        tiny(tmp_path, threads=-1)
    with pytest.raises(ValueError, match=r"encoder = 'hashing:x': must be"):
        tiny(tmp_path, encoder="hashing:x")  # by name at once, not from the env after a burn-in


def test_validation_seeds_replace_the_held_out_ones_and_never_include_them(tmp_path: Path) -> None:
    cfg = tiny(tmp_path, validation_seeds=("9001",), agents=("random", "svd:factors=4"), ticks=2)  # CLI gives strings
    assert cfg.validation_seeds == (9001,) and cfg.world_seeds() == [9001]
    records = run(cfg)
    assert {(r.agent, r.seed) for r in records} == {("random", 9001), ("svd:factors=4", 9001)}
    assert tiny(tmp_path).world_seeds() == list(EVAL_SEEDS[:2])
    with pytest.raises(ValueError, match=r"validation_seeds: 10001 must be in \[0, 10000\), the training seeds"):
        tiny(tmp_path, validation_seeds=(EVAL_SEEDS[0],))  # a held-out world is never a validation one
    with pytest.raises(ValueError, match=r"validation_seeds = \['x'\]: must be integers"):
        tiny(tmp_path, validation_seeds=("x",))
    with pytest.raises(ValueError, match="agent 'svd:factor=4'"):  # options are checked before any burn-in
        tiny(tmp_path, agents=("svd:factor=4",))


def test_trained_agents_need_a_model_by_name(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"\['ppo'\] need a trained model"):
        tiny(tmp_path, agents=("random", "ppo"))
    with pytest.raises(ValueError, match=r"models entry 'svd=x\.zip'"):
        tiny(tmp_path, agents=("random",), models=("svd=x.zip",))
    with pytest.raises(ValueError, match="models entry 'ppo'"):
        tiny(tmp_path, agents=("random",), models=("ppo",))
    cfg = tiny(tmp_path, agents=("ppo", "ppo-seed1"), models=("ppo=a.zip", "ppo-seed1=b.zip"))
    assert cfg.model_paths() == {"ppo": "a.zip", "ppo-seed1": "b.zip"}
    with pytest.raises(FileNotFoundError, match=r"PPO model a\.zip: no such file"):
        run(cfg)  # said before the first burn-in, not after it
    assert not (tmp_path / "tiny").exists()


def test_help_shows_every_default_as_typed(capsys: pytest.CaptureFixture[str]) -> None:
    from freshrec.experiments import compare, world_reference

    with pytest.raises(SystemExit):
        compare.main(["--help"])
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    assert "(default: random,most-popular,trending," in text and "('random'" not in text  # not a Python tuple
    assert "name=path (e.g. ppo=runs/<run>/final_model.zip). (default: none)" in text  # once "(default: )"
    with pytest.raises(SystemExit):
        world_reference.main(["--help"])  # a hand-written parser: defaults come from the shared formatter
    assert "concurrent sessions (default: 256)" in " ".join(capsys.readouterr().out.split())
    # No default where it would mislead: a switch (once "--no-progress ... (default: True)"), a required flag and
    # an unset one (once "(default: None)").
    from freshrec.experiments import oracle_boredom, paired

    for script in (oracle_boredom, paired):
        with pytest.raises(SystemExit):
            script.main(["--help"])
        text = " ".join(capsys.readouterr().out.split())
        assert "(default: True)" not in text and "(default: None)" not in text
    assert "--agents AGENTS comma-separated agents of the recipe compared (A) --against" in text
