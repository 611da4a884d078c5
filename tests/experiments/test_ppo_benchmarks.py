"""The PPO benchmarks run end to end on tiny settings (their figures come from full runs, not from here)."""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import pytest

from freshrec.experiments import bench_ppo, time_to_beat
from freshrec.experiments.train_agent import train
from freshrec.experiments.train_config import TrainConfig


def test_bench_ppo_writes_rates(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    result = bench_ppo.main(["--variants", "mlp", "--rounds", "1", "--encoder", "hashing:64", "--json", str(out)])
    assert result["median_steps_per_second"]["mlp"] > 0
    assert json.loads(out.read_text())["rounds"]["mlp"]


def test_bench_ppo_times_updates_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "updates.json"
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "ALL")  # no limit, but recorded with the results
    argv = ["--variants", "mlp", "--rounds", "2", "--encoder", "hashing:64", "--updates-only", "--json", str(out)]
    result = bench_ppo.main(argv)
    assert len(result["seconds"]["mlp"]) == 2 and result["median_seconds_per_update"]["mlp"] > 0
    assert json.loads(out.read_text())["meta"]["isa_limits"] == {"ONEDNN_MAX_CPU_ISA": "ALL"}


@pytest.mark.parametrize("variant", ["default", "fp32"])
def test_bench_ppo_precision_variants(variant: str) -> None:
    from freshrec.agents.ppo.policy import resolve_precision

    model, _, _ = bench_ppo.build(variant, "cpu", "hashing:64")
    # The default resolves "auto" on this machine; the fp32 variant is float32 everywhere.
    assert model.policy.precision == resolve_precision("auto" if variant == "default" else "fp32", "cpu")


@pytest.mark.parametrize(("variant", "prior"), [("default", True), ("no-ctr-prior", False)])
def test_bench_ppo_default_has_the_ctr_prior_and_its_variant_not(variant: str, prior: bool) -> None:
    model, _, _ = bench_ppo.build(variant, "cpu", "hashing:64")
    assert model.policy.ctr_prior is prior and (model.policy.ctr_scale is not None) is prior


def test_bench_ppo_choice_variant_runs_the_choice_phase(monkeypatch: pytest.MonkeyPatch) -> None:
    from freshrec.experiments.train_callback import TrainingCallback

    pending: list[bool] = []
    phase = TrainingCallback.choice_phase

    def spy(self: TrainingCallback) -> None:
        pending.append(self._pending is not None)
        phase(self)

    monkeypatch.setattr(TrainingCallback, "choice_phase", spy)
    model, steps, callback = bench_ppo.build("choice-phase", "cpu", "hashing:64")
    assert steps == 2 * model.n_steps * model.n_envs
    model.learn(steps, callback=callback)
    assert pending == [False, True]  # each rollout's start: nothing yet, then the first rollout's clicks


@pytest.mark.parametrize(("variant", "coef"), [("default", 4.0), ("no-choice-loss", 0.0)])
def test_bench_ppo_default_trains_with_the_choice_loss(variant: str, coef: float) -> None:
    from freshrec.agents.ppo import FreshRecPPO

    model, _, callback = bench_ppo.build(variant, "cpu", "hashing:64")
    assert isinstance(model, FreshRecPPO) and model.choice_coef == coef and callback is None
    model.learn(model.n_steps * model.n_envs)
    assert ("train/choice_loss" in model.logger.name_to_value) is (coef > 0)


def test_bench_ppo_refuses_a_repeated_variant(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        bench_ppo.main(["--variants", "default,mlp,default"])
    assert "each variant at most once" in capsys.readouterr().err


def test_time_to_beat_evaluates_every_checkpoint(tmp_path: Path) -> None:
    run = train(
        TrainConfig(encoder="hashing:64", num_envs=8, n_steps=16, batch_size=64, total_steps=256, eval_every=0,
                    checkpoint_every=128, runs_dir=tmp_path / "runs", progress=False)
    ).run_dir  # fmt: skip
    out = tmp_path / "ttb.json"
    result = time_to_beat.main(
        [
            "--run",
            str(run),
            "--seeds",
            "1",
            "--ticks",
            "20",
            "--num-envs",
            "16",
            "--runs-dir",
            str(tmp_path),
            "--json",
            str(out),
            "--also",
            "user-knn:fallback=ctr",
        ]
    )
    assert [r["step"] for r in result["checkpoints"]] == [128, 256]
    assert all(r["elapsed_seconds"] > 0 for r in result["checkpoints"])
    assert result["baselines"] == [*time_to_beat.CF_SVD, "user-knn:fallback=ctr"]
    assert result["best_cf_svd"] in result["baselines"]
    assert json.loads(out.read_text())["seeds"] == 1
    with pytest.raises(SystemExit):  # only settings of the CF/SVD baselines compete for "best CF/SVD"
        time_to_beat.main(["--run", str(run), "--also", "public-ctr"])


def test_goals_are_paired_per_seed_ratios() -> None:
    from freshrec.experiments.ppo_goals import goals

    def agent(
        ret: list[float], recall: list[float], recovery: list[float], first: list[float]
    ) -> dict[str, dict[str, list[float]]]:
        return {"return": {"values": ret}, "recall@5": {"values": recall}, "drift_recovery_steps": {"values": recovery},
                "new_item_first_click": {"values": first}}  # fmt: skip

    table = {
        "ppo": agent([6.0, 9.0], [0.6, 0.9], [10.0, 10.0], [1.0, 1.0]),
        "svd": agent([3.0, 3.0], [0.3, 0.3], [30.0, 30.0], [2.0, 2.0]),
        "item-knn": agent([2.0, 2.0], [0.2, 0.2], [20.0, 40.0], [5.0, 5.0]),
        "sequence-transformer": agent([5.0, 10.0], [0.5, 0.5], [1.0, 1.0], [1.0, 1.0]),
        "random": agent([1.0, 1.0], [0.1, 0.1], [1.0, 1.0], [1.0, 1.0]),
        "myopic-oracle": agent([11.0, 11.0], [1.0, 1.0], [1.0, 1.0], [1.0, 1.0]),
    }
    rows = {r["goal"].split(" (")[0]: r for r in goals(table, "ppo")}  # type: ignore[arg-type]
    assert rows["return / best CF-SVD"]["mean"] == 2.5  # (6/3 + 9/3) / 2, svd best by return
    assert rows["recall@5 / best CF-SVD"]["mean"] == 2.5 and rows["recall@5 / best CF-SVD"]["met"]
    assert "ranking_recall@10 / best CF-SVD" not in rows  # a report from before rankings were recorded
    for name, values in {"ppo": [0.8, 0.4], "svd": [0.4, 0.4], "item-knn": [0.2, 0.8]}.items():
        table[name]["ranking_recall@10"] = {"values": values}
    rows = {r["goal"].split(" (")[0]: r for r in goals(table, "ppo")}  # type: ignore[arg-type]
    assert rows["ranking_recall@10 / best CF-SVD"]["mean"] == pytest.approx((0.8 / 0.2 + 0.4 / 0.8) / 2)  # item-knn
    assert rows["recall@5 / best CF-SVD"]["mean"] == 2.5  # the slate's recall, still reported
    # Recovery: item-knn's mean (30) ties svd's and comes first; per seed 10/20 and 10/40.
    assert rows["drift recovery / best CF-SVD"]["mean"] == pytest.approx((10 / 20 + 10 / 40) / 2)
    assert rows["new items' first click"]["mean"] == -1.0  # svd is the fastest CF/SVD (2 ticks)
    assert rows["return / sequence-transformer"]["mean"] == pytest.approx((6 / 5 + 9 / 10) / 2)
    assert rows["(return - random) /"]["mean"] == pytest.approx((0.5 + 0.8) / 2)
    assert not rows["(return - random) /"]["met"]
    assert "median drift recovery / best CF-SVD" not in rows  # a report from before the median was recorded
    # The median, where recorded: its own best CF/SVD (svd here, 5 against item-knn's 50), per seed 1/5 and 50/5.
    for name, values in {"ppo": [1.0, 50.0], "svd": [5.0, 5.0], "item-knn": [50.0, 50.0]}.items():
        table[name]["drift_recovery_median"] = {"values": values}
    rows = {r["goal"].split(" (")[0]: r for r in goals(table, "ppo")}  # type: ignore[arg-type]
    median = rows["median drift recovery / best CF-SVD"]
    assert median["goal"].endswith("(svd)") and median["mean"] == pytest.approx((1 / 5 + 50 / 5) / 2)
    assert median["target"] == pytest.approx(1 / 3) and not median["met"]
    assert rows["drift recovery / best CF-SVD"]["mean"] == pytest.approx((10 / 20 + 10 / 40) / 2)  # the mean's, apart
    for name in ("ppo", "svd", "item-knn"):
        del table[name]["drift_recovery_median"]
    # The no-learning public-CTR ranker, when the report has it: two rows against it, target 1.
    assert not any("public-ctr" in goal for goal in rows)
    table["public-ctr"] = agent([8.0, 6.0], [0.5, 0.5], [1.0, 1.0], [1.0, 1.0])
    table["public-ctr"]["ranking_recall@10"] = {"values": [0.4, 0.8]}
    rows = {r["goal"].split(" (")[0]: r for r in goals(table, "ppo")}  # type: ignore[arg-type]
    against = rows["return / public-ctr"]
    assert against["mean"] == pytest.approx((6 / 8 + 9 / 6) / 2) and against["target"] == 1.0 and against["met"]
    assert rows["ranking_recall@10 / public-ctr"]["mean"] == pytest.approx((0.8 / 0.4 + 0.4 / 0.8) / 2)
    assert rows["return / best CF-SVD"]["mean"] == 2.5  # public-ctr is not one of the CF/SVD baselines
    del table["public-ctr"]
    # A setting of a CF/SVD baseline in the report competes for "best": the goal is against CF/SVD's best settings.
    table["user-knn:fallback=ctr"] = {k: dict(v) for k, v in table["svd"].items()}
    table["user-knn:fallback=ctr"]["return"] = {"values": [4.0, 6.0]}
    rows = {r["goal"].split(" (")[0]: r for r in goals(table, "ppo")}  # type: ignore[arg-type]
    best = rows["return / best CF-SVD"]
    assert best["goal"].endswith("(user-knn:fallback=ctr)") and best["mean"] == pytest.approx((6 / 4 + 9 / 6) / 2)
    del table["user-knn:fallback=ctr"]

    # A world without shifts or arrivals (the stationary control): those goals are n/a, quietly.
    for name in table:
        table[name]["drift_recovery_steps"] = table[name]["new_item_first_click"] = {"values": [math.nan, math.nan]}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "Mean of empty slice" from numpy
        rows = {r["goal"].split(" (")[0]: r for r in goals(table, "ppo")}  # type: ignore[arg-type]
    assert math.isnan(rows["drift recovery / best CF-SVD"]["mean"]) and not rows["drift recovery / best CF-SVD"]["met"]
    assert rows["return / best CF-SVD"]["mean"] == 2.5


def test_goals_over_training_seeds(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """One value per training seed (its mean over held-out seeds), then mean and t interval over seeds."""
    from freshrec.experiments import ppo_goals

    def agent(ret: list[float]) -> dict[str, dict[str, list[float]]]:
        ones = [1.0] * len(ret)
        return {"return": {"values": ret}, "recall@5": {"values": ones}, "drift_recovery_steps": {"values": ones},
                "new_item_first_click": {"values": ones}}  # fmt: skip

    table = {"svd": agent([2.0, 4.0]), "a": agent([4.0, 8.0]), "b": agent([2.0, 4.0]), "c": agent([3.0, 6.0])}
    rows = ppo_goals.across_seeds([ppo_goals.goals(table, a) for a in "abc"])  # type: ignore[arg-type]
    ret = rows[0]
    assert ret["goal"].startswith("return / best CF-SVD")
    assert ret["values"] == [2.0, 1.0, 1.5] and ret["mean"] == pytest.approx(1.5)
    assert ret["ci95"] == pytest.approx(ppo_goals.mean_ci([2.0, 1.0, 1.5])[1])
    assert ret["agents_meeting"] == 2 and ret["met"] and not ret["clears"]
    path = tmp_path / "results.json"
    path.write_text(json.dumps({"results": {"env": table}}))
    out = ppo_goals.main([str(path), "--agent", "a,b,c"])
    assert out["env"]["across_seeds"][0]["mean"] == pytest.approx(1.5)
    # Over held-out worlds: per world the agents' mean ratio, (2 + 1 + 1.5) / 3 on both worlds here.
    worlds = ppo_goals.across_worlds([ppo_goals.goals(table, a) for a in "abc"])  # type: ignore[arg-type]
    assert worlds[0]["values"] == pytest.approx([1.5, 1.5]) and worlds[0]["ci95"] == pytest.approx(0.0)
    assert worlds[0]["met"] and worlds[0]["clears"]
    table["a"] = agent([4.0, 4.0])  # a now 2 and 1: world means (2 + 1 + 1.5) / 3 and (1 + 1 + 1.5) / 3
    worlds = ppo_goals.across_worlds([ppo_goals.goals(table, a) for a in "abc"])  # type: ignore[arg-type]
    assert worlds[0]["values"] == pytest.approx([1.5, 7 / 6])
    assert worlds[0]["ci95"] == pytest.approx(ppo_goals.mean_ci([1.5, 7 / 6])[1]) and not worlds[0]["clears"]
    assert "(2 of 3 seeds)" in capsys.readouterr().out
    # A setting of a CF/SVD baseline better than its default sets the goals; --defaults-only leaves it out.
    path.write_text(json.dumps({"results": {"env": {**table, "svd:fallback=ctr": agent([4.0, 8.0])}}}))
    assert ppo_goals.main([str(path), "--agent", "a"])["env"]["a"][0]["goal"].endswith("(svd:fallback=ctr)")
    assert ppo_goals.main([str(path), "--agent", "a", "--defaults-only"])["env"]["a"][0]["goal"].endswith("(svd)")
    path.write_text(json.dumps({"results": {"env": table}}))
    with pytest.raises(SystemExit, match="lacks agents"):
        ppo_goals.main([str(path), "--agent", "a,zz"])
    with pytest.raises(SystemExit, match=r"no regime has agents \['ppo'\] \(it has \['a', 'b', 'c', 'svd'\]\)"):
        ppo_goals.main([str(path)])  # the default agent, absent: once silent, exit status 0
    del table["svd"]  # a report without CF/SVD (say, a diagnostic run): refused by name, not max() of nothing
    path.write_text(json.dumps({"results": {"env": table}}))
    with pytest.raises(SystemExit, match=r"results.json: env: no CF/SVD baseline .* has \['a', 'b', 'c'\]"):
        ppo_goals.main([str(path), "--agent", "a"])


@pytest.mark.parametrize("order", ["ab", "ba"])
def test_goals_of_one_table_pair_by_goal_when_optional_keys_differ(
    tmp_path: Path, order: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Agents merged from reports of different ages: only the goals every agent and baseline can be checked on are
    checked, for all of them, so rows over training seeds pair the same goal (once paired by position: the median
    of one agent against the first-click goal of the other)."""
    from freshrec.experiments import ppo_goals

    def agent(ret: float, recovery: float, median: float | None) -> dict[str, dict[str, list[float]]]:
        row = {"return": {"values": [ret, ret]}, "recall@5": {"values": [1.0, 1.0]},
               "drift_recovery_steps": {"values": [recovery, recovery]},
               "new_item_first_click": {"values": [1.0, 1.0]}}  # fmt: skip
        if median is not None:
            row["drift_recovery_median"] = {"values": [median, median]}
        return row

    table = {"svd": agent(2.0, 10.0, 20.0), "a": agent(4.0, 5.0, 2.0), "b": agent(3.0, 20.0, None)}
    agents = list(order)
    assert ppo_goals.optional_goals(table, agents) == set()  # type: ignore[arg-type]
    assert ppo_goals.optional_goals(table, ["a"]) == {"drift_recovery_median"}  # type: ignore[arg-type]
    path = tmp_path / "results.json"
    path.write_text(json.dumps({"results": {"env": table}}))
    out = ppo_goals.main([str(path), "--agent", ",".join(agents)])["env"]
    seeds = {r["goal"].split(" (")[0]: r for r in out["across_seeds"]}
    assert "median drift recovery / best CF-SVD" not in seeds
    assert sorted(seeds["drift recovery / best CF-SVD"]["values"]) == [0.5, 2.0]  # a's 5/10 and b's 20/10
    assert sorted(seeds["new items' first click"]["values"]) == [0.0, 0.0]
    # Called one agent at a time without a shared choice, the goals differ and pairing refuses rather than mixing.
    with pytest.raises(ValueError, match="different goals"):
        ppo_goals.across_seeds([ppo_goals.goals(table, a) for a in agents])  # type: ignore[arg-type]
    # Baselines without the median (an older report) and an agent with it: the median goal is left out, no KeyError.
    table["b"] = agent(3.0, 20.0, 4.0)
    del table["svd"]["drift_recovery_median"]
    assert ppo_goals.optional_goals(table, agents) == set()  # type: ignore[arg-type]
    assert "median drift recovery" not in str(ppo_goals.goals(table, "a"))  # type: ignore[arg-type]
    with pytest.raises(SystemExit):
        ppo_goals.main([str(path), "--agent", ""])
    assert "--agent '' names no agent" in capsys.readouterr().err
