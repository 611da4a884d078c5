"""Give a trained model ID embeddings for items it has never seen, without retraining from scratch.

A new item's ID embedding starts at zero, so its vector starts as the learned projection of its text:
exactly where the serving engine already placed it. Training then moves it from there.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from freshrec.models.transformer import SequenceRecommender


def with_new_items(model: SequenceRecommender, new_text: np.ndarray | None, count: int) -> SequenceRecommender:
    """A copy of ``model`` with ``count`` more item rows (codes after the existing ones).

    ``new_text`` (count, D) holds the new items' text embeddings; None when the model uses no text.
    Every other weight is copied unchanged, so old items score exactly as before.
    """
    if count < 0:
        raise ValueError(f"count={count} must not be negative")
    config = replace(model.config, num_items=model.config.num_items + count)
    state = {name: value.detach().clone() for name, value in model.state_dict().items()}
    hidden = config.hidden
    state["item_ids.weight"] = torch.cat([state["item_ids.weight"], torch.zeros(count, hidden)])
    text = None
    if config.use_text:
        if new_text is None or new_text.shape != (count, config.text_dim):
            got = None if new_text is None else new_text.shape
            raise ValueError(f"new_text must have shape {(count, config.text_dim)}, got {got}")
        text = torch.cat([state["text_vectors"], torch.from_numpy(new_text).float()])
        state["text_vectors"] = text
    else:
        state["text_vectors"] = torch.zeros(config.num_items + 1, 0)
    grown = SequenceRecommender(config, text)
    grown.load_state_dict(state)
    grown.train(model.training)
    return grown


def carry_optimizer_state(
    old: torch.optim.Optimizer,
    old_model: SequenceRecommender,
    new: torch.optim.Optimizer,
    new_model: SequenceRecommender,
) -> None:
    """Move AdamW moments from ``old_model``'s parameters to ``new_model``'s, zero-padding grown rows."""
    for before, after in zip(old_model.parameters(), new_model.parameters(), strict=True):
        moments = old.state.get(before)
        if not moments:
            continue
        carried = {}
        for key, value in moments.items():
            if torch.is_tensor(value) and value.dim() and value.shape != after.shape:
                padded = torch.zeros_like(after)
                padded[: value.shape[0]] = value
                value = padded
            carried[key] = value.clone() if torch.is_tensor(value) else value
        new.state[after] = carried
