"""The replay protocol: split by global time, predict before learning, never a look at the future."""

from __future__ import annotations

import numpy as np
import pytest

from freshrec.data.records import Dataset, Event, EventKind
from freshrec.data.synthetic import generate
from freshrec.replay.baselines import MarkovStrategy, PopularStrategy
from freshrec.replay.metrics import summarise
from freshrec.replay.runner import run_strategy, stream_facts
from freshrec.replay.split import TimeSplit, time_split


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return generate(users=60, items=80, events=3000, clusters=4, new_item_share=0.2, seed=5)[0]


def test_split_is_by_global_time_and_loses_nothing(dataset: Dataset) -> None:
    split = time_split(dataset, 0.8)
    train = split.train.interactions
    assert len(train) == 2400 and len(split.stream) == 600
    assert train.timestamps.max() <= split.cutoff_time <= min(e.timestamp for e in split.stream)
    assert [e.timestamp for e in split.stream] == sorted(e.timestamp for e in split.stream)
    assert split.new_items == {e.item_id for e in split.stream} - set(train.item_ids) and split.new_items
    assert set(train.item_ids) == {train.item_ids[i] for i in np.unique(train.items)}  # re-coded: no unseen items
    with pytest.raises(ValueError, match=r"fraction=1\.0"):
        time_split(dataset, 1.0)


class Spy:
    """Answers with the items it has observed most recently, and checks what it was allowed to know."""

    name = "spy"

    def __init__(self, split: TimeSplit) -> None:
        self.split = split
        self.observed: list[Event] = []
        self.asked = 0

    def recommend(self, user_id: str, k: int, exclude: set[str]) -> list[str]:
        now = next(e for e in self.split.stream[len(self.observed) :] if e.kind is not EventKind.SEARCH)
        assert self.observed == self.split.stream[: len(self.observed)]  # exactly the past, in order
        assert now.user_id == user_id and all(e.timestamp <= now.timestamp for e in self.observed)
        # excluded: exactly what the user did before (before the cut-off and in the stream so far), no more
        train = self.split.train.interactions
        before = {
            train.item_ids[i] for u, i in zip(train.users, train.items, strict=True) if train.user_ids[u] == user_id
        }
        assert exclude == before | {e.item_id for e in self.observed if e.user_id == user_id}
        self.asked += 1
        recent = [str(e.item_id) for e in reversed(self.observed) if e.item_id not in exclude]
        return list(dict.fromkeys(recent))[:k]

    def observe(self, event: Event) -> None:
        self.observed.append(event)

    def finish(self) -> dict[str, object]:
        return {"asked": self.asked}


def test_every_prediction_is_made_before_its_event_is_seen(dataset: Dataset) -> None:
    split = time_split(dataset, 0.8)
    spy = Spy(split)
    run = run_strategy(spy, split, k=10, progress=False)
    assert spy.asked == len(run.ranks) == 600 and run.details == {"asked": 600}
    assert len(spy.observed) == len(split.stream)


def test_ranks_and_metrics_match_what_the_strategy_answered(dataset: Dataset) -> None:
    split = time_split(dataset, 0.8)

    class Oracle(Spy):  # a cheat that knows the next event: the harness must score it as a perfect hit
        def recommend(self, user_id: str, k: int, exclude: set[str]) -> list[str]:
            upcoming = next(e for e in self.split.stream[len(self.observed) :] if e.kind is not EventKind.SEARCH)
            return ["nothing", str(upcoming.item_id)]

    run = run_strategy(Oracle(split), split, k=10, progress=False)
    assert (run.ranks == 2).all()
    summary = summarise(run, stream_facts(split), k=10, windows=4)
    overall = summary["overall"]
    assert overall["HR@10"] == 1.0 and overall["MRR@10"] == 0.5 and overall["NDCG@10"] == pytest.approx(1 / np.log2(3))
    assert len(summary["over_time"]) == 4 and summary["new_items"]["n"] > 0  # type: ignore[arg-type]


def test_markov_follows_the_most_frequent_transition_and_updates_per_event() -> None:
    from freshrec.data.builder import InteractionsBuilder

    builder = InteractionsBuilder()
    for user, items in {"a": ["x", "y"], "b": ["x", "y"], "c": ["x", "z"]}.items():
        for t, item in enumerate(items):
            builder.add(user, item, float(t), EventKind.VIEW, None)
    train = Dataset("toy", builder.build(), {})
    markov, popular = MarkovStrategy(train), PopularStrategy(train)
    markov.observe(Event("d", item_id="x", timestamp=9.0))
    assert markov.recommend("d", 2, {"x"}) == ["y", "z"]
    for _ in range(3):
        markov.observe(Event("e", item_id="x", timestamp=10.0))
        markov.observe(Event("e", item_id="z", timestamp=11.0))
    assert markov.recommend("d", 1, {"x"}) == ["z"]  # z now follows x more often than y
    assert popular.recommend("new-user", 1, set()) == ["x"]
    for t in range(3):  # z: 1 + 3 = 4 interactions, x: 3
        popular.observe(Event("f", item_id="z", timestamp=12.0 + t))
    assert popular.recommend("new-user", 1, set()) == ["z"]
