"""Swapping models in the item table: vectors prepared off the request path, rows added meanwhile filled
in, and a text change in between never leaves a stale vector."""

from __future__ import annotations

import numpy as np
import torch

from freshrec.engine.catalog import ItemTable
from freshrec.models.growth import with_new_items

from .conftest import Trained


def test_adopt_fills_rows_added_after_prepare_and_redoes_a_changed_text(trained: Trained) -> None:
    model = trained.model
    table = ItemTable(model.model, model.item_ids)
    text = trained.encoder.encode(["first new item", "second new item", "a changed text"])
    table.upsert(["new-a"], text[:1], [frozenset()])
    grown = with_new_items(model.model, text[:1], 1)
    with torch.no_grad():
        grown.item_ids.weight[-1] += 1.0  # the grown model learned an ID embedding for new-a
    trained_ids = [*model.item_ids, "new-a"]
    prepared = table.vectors_for(grown, trained_ids)
    table.upsert(["new-b"], text[1:2], [frozenset()])  # arrives between prepare and adopt
    table.adopt(prepared, trained_ids)
    rows = table.rows(["new-a", "new-b"])
    with torch.no_grad():
        expected_a = grown.item_vectors()[-1].numpy()
        expected_b = grown.text_proj(torch.from_numpy(text[1:2]))[0].numpy()  # type: ignore[misc]
    assert np.allclose(table.vectors[rows[0]], expected_a, atol=1e-5) and not table.is_new(rows[:1]).any()
    assert np.allclose(table.vectors[rows[1]], expected_b, atol=1e-5) and table.is_new(rows[1:]).all()

    stale = table.vectors_for(model.model, model.item_ids)
    table.upsert([model.item_ids[0]], text[2:], [frozenset()])  # an item's text changes meanwhile
    table.adopt(stale, model.item_ids)
    with torch.no_grad():
        id_part = model.model.item_ids.weight[1].numpy()
        expected = id_part + model.model.text_proj(torch.from_numpy(text[2:]))[0].numpy()  # type: ignore[misc]
    assert np.allclose(table.vectors[1], expected, atol=1e-5)
    assert table.is_new(table.rows(["new-a"])).all()  # the old model never trained on new-a
