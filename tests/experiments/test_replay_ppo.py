"""The PPO policy as a replay scorer: same text features as its world, scores independent of the chunk."""

from __future__ import annotations

from pathlib import Path

import gymnasium
import numpy as np
import pytest
from movielens_fixture import planted_folder
from stable_baselines3 import PPO

import freshrec.envs  # noqa: F401  (registers the ids)
from freshrec.agents.ppo.policy import FreshRecTransformerPolicy
from freshrec.envs import FreshRecSB3VecEnv
from freshrec.envs.features import Projection, project
from freshrec.experiments.replay import ReplayConfig, replay, run
from freshrec.experiments.replay_log import ReplayLog, ScorerOptions
from freshrec.experiments.replay_ppo import PPOScorer
from freshrec.experiments.replay_scorers import make_scorers
from freshrec.simulators.data.loaders import load_dataset

HASH = "hashing:64"


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A PPO model briefly trained on the calibrated env of the planted MovieLens folder."""
    venv = gymnasium.make_vec("freshrec/MovieLens100K-v0", num_envs=8, encoder=HASH, data=planted_folder())
    ppo = PPO(FreshRecTransformerPolicy, FreshRecSB3VecEnv(venv), n_steps=16, batch_size=64, n_epochs=1,
              device="cpu", seed=0)  # fmt: skip
    ppo.learn(total_timesteps=256)
    path = tmp_path_factory.mktemp("ppo") / "model.zip"
    ppo.save(path)
    return path


def test_projection_of_new_texts_matches_the_bank_features() -> None:
    gen = np.random.default_rng(0)
    bank = gen.standard_normal((30, 12))
    fitted = Projection.fit(bank, 4)
    np.testing.assert_allclose(fitted(bank), project(bank, 4), atol=1e-6)
    assert fitted(gen.standard_normal((5, 12))).shape == (5, 4)


def test_scorer_sees_the_worlds_text_features_and_chunks_do_not_matter(model: Path) -> None:
    dataset, _ = load_dataset(planted_folder())
    log = ReplayLog.from_dataset(dataset, 0.8)
    scorer = PPOScorer(model, data=str(planted_folder()), encoder=HASH)
    scorer.fit(log.train())
    env = gymnasium.make("freshrec/MovieLens100K-v0", encoder=HASH, data=planted_folder()).unwrapped
    cal = env.world.calibration
    code = {item_id: i for i, item_id in enumerate(log.item_ids)}
    rows = [code[i] for i in cal.item_ids]
    np.testing.assert_allclose(scorer.text[rows], env.text, atol=1e-5)  # the world's own features, per movie

    user, now = int(log.users[log.cut]), float(log.timestamps[log.cut])
    scores = scorer.scores(user, now)
    available = scorer.first_seen < now
    assert np.isfinite(scores).all() and np.all(scores[~available] == -1e9)
    # Fewer available movies change the chunks, not the scores of the movies still there (up to the
    # slot embedding, the same for a movie in the same slot): drop ten movies after the first chunk of 20.
    keep = np.flatnonzero(available)
    dropped = np.setdiff1d(keep[20:], scorer.histories[user])[:10]  # not in the user's history tokens
    scorer.first_seen[dropped] = np.inf
    again = scorer.scores(user, now)
    first_chunk = keep[:20]
    np.testing.assert_allclose(again[first_chunk], scores[first_chunk], rtol=1e-5, atol=1e-5)


def test_the_replay_runs_the_ppo_scorer_end_to_end(model: Path) -> None:
    dataset, _ = load_dataset(planted_folder())
    log = ReplayLog.from_dataset(dataset, 0.8)
    options = ScorerOptions(encoder=HASH, ppo_model=str(model), ppo_data=str(planted_folder()))
    (scorer,) = make_scorers(["ppo"], options)
    result = replay(log, scorer)
    assert result.hits.size == len(log) - log.cut and np.all(result.ndcg <= result.hits)
    assert np.all(result.top[result.top >= 0] < log.num_items)
    assert ReplayConfig(scorers=("most-popular",), ppo_models=(str(model),)).scorers == ("most-popular", "ppo")
    with pytest.raises(ValueError, match=r"scorer 'ppo' needs a trained model: ppo_model = PATH"):
        make_scorers(["ppo"], ScorerOptions())


def test_several_models_get_one_row_each_and_a_mean_over_them(model: Path, tmp_path: Path) -> None:
    cfg = ReplayConfig(dataset=str(planted_folder()), scorers=("most-popular",), ppo_models=(str(model), str(model)),
                       ppo_data=str(planted_folder()), encoder=HASH, bootstrap=20, out=tmp_path / "r.json",
                       progress=False)  # fmt: skip
    results = run(cfg)["results"]
    assert set(results) == {"most-popular", "ppo[0]", "ppo[1]", "ppo (mean over models)"}
    mean = results["ppo (mean over models)"]
    assert mean["HR@10"] == pytest.approx(results["ppo[0]"]["HR@10"])  # the same model twice
    assert mean["HR@10_ci95"] == pytest.approx([mean["HR@10"], mean["HR@10"]])  # no spread between them
