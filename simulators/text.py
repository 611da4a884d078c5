"""Synthetic item text that carries real signal about an item's hidden latent vector, as a title does.

An item's text is ``"<style> <style> <noun>"``, e.g. ``"compact premium trail backpack"``:
the noun names the item's topic (each topic has a few nouns), and the two style words are the ones
whose hidden directions best match how the item's latent vector departs from its topic centre. A
pretrained sentence encoder then places the text near items of the same topic and style, so a
brand-new item can be scored from its text before anyone has clicked it.

The set of possible texts is finite (topic nouns x style pairs), so the environment encodes the whole
bank once (cached on disk) and items carry a text id; no text is encoded during a step.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

# Topic names and nouns (a few per topic); topics beyond this list reuse them with a numeric suffix.
TOPIC_NOUNS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("hiking", ("trail backpack", "hiking boots", "camping tent", "trekking poles")),
    ("cooking", ("chef knife", "cast iron skillet", "pasta recipe book", "spice set")),
    ("fitness", ("yoga mat", "kettlebell", "running shoes", "resistance bands")),
    ("gaming", ("strategy video game", "gaming headset", "arcade controller", "puzzle game")),
    ("music", ("jazz vinyl record", "acoustic guitar", "studio headphones", "piano songbook")),
    ("science fiction", ("space opera novel", "robot film", "time travel series", "alien invasion movie")),
    ("gardening", ("tomato seeds", "pruning shears", "raised garden bed", "compost bin")),
    ("photography", ("mirrorless camera", "prime lens", "tripod", "photo editing course")),
    ("travel", ("city guide book", "carry-on suitcase", "beach resort deal", "rail pass")),
    ("finance", ("investing podcast", "budget planner", "stock market course", "tax guide")),
    ("parenting", ("baby stroller", "bedtime story book", "toddler toy", "family board game")),
    ("fashion", ("leather jacket", "summer dress", "sneakers", "wool scarf")),
    ("home decor", ("table lamp", "wall art print", "velvet cushion", "ceramic vase")),
    ("pets", ("dog bed", "cat scratching post", "aquarium kit", "pet grooming brush")),
    ("history", ("world war documentary", "ancient rome biography", "medieval history podcast", "museum pass")),
    ("comedy", ("stand-up special", "sitcom box set", "satire novel", "improv show tickets")),
    ("cycling", ("road bike", "bike helmet", "cycling jersey", "bike repair kit")),
    ("coffee", ("espresso machine", "coffee grinder", "single origin beans", "pour-over kettle")),
    ("technology", ("smartphone", "laptop stand", "wireless earbuds", "smart watch")),
    ("crime fiction", ("detective novel", "true crime podcast", "murder mystery series", "heist movie")),
)

STYLE_WORDS: tuple[str, ...] = (
    "budget", "premium", "classic", "modern", "compact", "family",
    "professional", "vintage", "eco-friendly", "smart", "handmade", "limited edition",
)  # fmt: skip


@dataclass(frozen=True)
class TextBank:
    """All possible item texts of a world, and the rule that picks an item's text from its latent vector.

    ``texts[text_id(topic, noun, style_a, style_b)]``; ``style_directions`` (S, D) are hidden.

    >>> bank = TextBank.build(topics=2, latent_dim=4, rng=np.random.default_rng(0))
    >>> len(bank.texts), bank.texts[0]
    (528, 'budget premium trail backpack')
    """

    topics: int
    nouns_per_topic: int
    texts: tuple[str, ...]
    style_directions: np.ndarray  # (S, D) unit rows: which latent direction each style word stands for
    pair_index: np.ndarray  # (S, S) int: index of the unordered style pair (a, b), a != b; -1 on the diagonal

    @staticmethod
    def build(topics: int, latent_dim: int, rng: np.random.Generator) -> TextBank:
        """The bank of a world with ``topics`` topics; style directions drawn from ``rng``."""
        styles = len(STYLE_WORDS)
        pairs = list(itertools.combinations(range(styles), 2))
        pair_index = -np.ones((styles, styles), dtype=np.int64)
        for p, (a, b) in enumerate(pairs):
            pair_index[a, b] = pair_index[b, a] = p
        nouns = len(TOPIC_NOUNS[0][1])
        texts: list[str] = []
        for t in range(topics):
            name, topic_nouns = TOPIC_NOUNS[t % len(TOPIC_NOUNS)]
            suffix = f" {t // len(TOPIC_NOUNS) + 1}" if t >= len(TOPIC_NOUNS) else ""
            del name  # the nouns already say the topic; the name is kept for people reading the table
            for noun in topic_nouns:
                texts.extend(f"{STYLE_WORDS[a]} {STYLE_WORDS[b]} {noun}{suffix}" for a, b in pairs)
        directions = rng.standard_normal((styles, latent_dim))
        directions /= np.linalg.norm(directions, axis=1, keepdims=True)
        return TextBank(topics, nouns, tuple(texts), directions, pair_index)

    def text_ids(self, topics: np.ndarray, offsets: np.ndarray, nouns: np.ndarray) -> np.ndarray:
        """Text ids of items: (n,) topics, (n, D) latent offsets from their topic centres, (n,) noun choices.

        The two style words are those whose directions have the largest dot product with the offset.
        """
        scores = offsets @ self.style_directions.T  # (n, S)
        top2 = np.argpartition(-scores, 1, axis=1)[:, :2]  # (n, 2), the two best styles in any order
        pair = self.pair_index[top2[:, 0], top2[:, 1]]
        pairs = self.pair_index.shape[0] * (self.pair_index.shape[0] - 1) // 2
        return (topics * self.nouns_per_topic + nouns) * pairs + pair

    @staticmethod
    def topic_name(topic: int) -> str:
        """A readable name for a topic."""
        name = TOPIC_NOUNS[topic % len(TOPIC_NOUNS)][0]
        return name if topic < len(TOPIC_NOUNS) else f"{name} {topic // len(TOPIC_NOUNS) + 1}"
