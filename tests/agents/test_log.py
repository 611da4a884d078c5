"""The platform log pickles compactly (the burn-in cache) and comes back bit for bit."""

from __future__ import annotations

import pickle
from dataclasses import fields, replace

import numpy as np
import pytest

from freshrec.agents.log import Transitions
from freshrec.experiments.burn_in import burn_in


@pytest.fixture(scope="module")
def logged() -> Transitions:
    return burn_in("freshrec/DriftingUsers-v0", 0, 64, 10, 0.2, {"encoder": "hashing:16"}, progress=False).log


def assert_identical(a: Transitions, b: Transitions) -> None:
    for f in fields(Transitions):
        x, y = getattr(a, f.name), getattr(b, f.name)
        assert x.dtype == y.dtype and x.shape == y.shape, f.name
        assert x.tobytes() == y.tobytes(), f.name  # bit for bit, -0.0 and NaN included


def raw_size(log: Transitions) -> int:
    return sum(getattr(log, f.name).nbytes for f in fields(Transitions))


def test_an_env_log_round_trips_bit_for_bit_in_a_fraction_of_its_size(logged: Transitions) -> None:
    assert (logged.candidate_ids < 0).any()  # masked slots, whose features are kept verbatim, are covered
    blob = pickle.dumps(logged)
    assert_identical(pickle.loads(blob), logged)
    assert len(blob) < raw_size(logged) / 3


def test_features_that_do_not_factor_by_item_and_tick_are_kept_as_they_are(logged: Transitions) -> None:
    features = logged.candidate_features.copy()
    features[0, 0, 0] += 1.0  # the item's text now differs between two rows: no per-item table fits
    odd = replace(logged, candidate_features=features)
    assert_identical(pickle.loads(pickle.dumps(odd)), odd)
    assert len(pickle.dumps(odd)) > features.nbytes


def test_signed_zeros_and_nans_come_back_as_they_were(logged: Transitions) -> None:
    features = logged.candidate_features.copy()
    features[:, :, -1] = np.where(features[:, :, -1] == 0, -0.0, np.nan)  # per (item, tick) still, odd bits
    odd = replace(logged, candidate_features=features)
    assert_identical(pickle.loads(pickle.dumps(odd)), odd)


def test_ids_beyond_int32_stay_int64_and_old_plain_pickles_still_load(logged: Transitions) -> None:
    big = replace(logged, user_id=logged.user_id + 2**40)
    assert_identical(pickle.loads(pickle.dumps(big)), big)
    plain = object.__new__(Transitions)
    plain.__setstate__({f.name: getattr(logged, f.name) for f in fields(Transitions)})  # an uncompacted pickle's state
    assert_identical(plain, logged)
