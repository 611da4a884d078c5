"""Compilation of the world's loops with numba, typed so that mypy sees the plain Python signatures.

Why compiled loops: a step of one session is a few hundred tiny array operations, and numpy spends
about a microsecond of call overhead on each whatever the array size. Written once as loops over the
sessions and compiled, the same transition serves one session at tens of thousands of steps per
second and thousands of sessions at array speed. ``cache=True`` keeps the machine code on disk
(next to the module, or under ``NUMBA_CACHE_DIR``), so only the first import on a machine compiles.

Numba checks only the file of the cached function itself; ``drop_stale_cache`` covers the laws it
calls from other files.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, cast

import numba

F = TypeVar("F", bound=Callable[..., Any])


def jit(fn: F) -> F:
    """``numba.njit`` with the on-disk cache; the function keeps its Python signature for type checkers."""
    return cast(F, numba.njit(cache=True, nogil=True)(fn))


def ufunc(*signatures: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``numba.vectorize``: an elementwise law usable on arrays from Python and on scalars inside ``jit`` code.

    Typed as taking and returning anything, since a ufunc takes scalars and arrays alike.
    """
    vectorize: Any = numba.vectorize
    return cast(Callable[[Callable[..., Any]], Callable[..., Any]], vectorize(list(signatures), cache=True))


def drop_stale_cache(module_file: str, *dependencies: str) -> None:
    """Drop ``module_file``'s cached machine code when one of the ``dependencies`` (source files whose
    compiled functions it calls) changed since it was cached; numba would otherwise keep the old code.

    Only the cache next to the module is checked (an editable install, where sources change); a
    read-only install has nothing to clean and is left alone.
    """
    source = Path(module_file)
    cache = source.parent / "__pycache__"
    digest = hashlib.sha1(b"".join(Path(dep).read_bytes() for dep in dependencies)).hexdigest()
    stamp = cache / f"{source.stem}.numba-deps"
    try:
        if stamp.exists() and stamp.read_text() == digest:
            return
        for cached in cache.glob(f"{source.stem}.*.nb[ic]"):
            cached.unlink()
        cache.mkdir(exist_ok=True)
        stamp.write_text(digest)
    except OSError:
        return
