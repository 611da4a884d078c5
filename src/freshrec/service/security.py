"""API keys with scopes: who is calling, and may they do this.

Keys are compared as SHA-256 digests with ``hmac.compare_digest`` against every configured key (no
early exit), so the time taken says nothing about how much of a key was right or which key matched.
Missing or unknown key: 401; a known key without the route's scope: 403.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass

from freshrec.service.settings import ApiKey, Scope

HEADER = "X-API-Key"


@dataclass(frozen=True)
class Caller:
    """An authenticated client: the key's name (safe to log) and its scopes."""

    name: str
    scopes: frozenset[Scope]


class KeyRing:
    """The configured keys, held only as digests.

    >>> from pydantic import SecretStr
    >>> ring = KeyRing([ApiKey(name="app", key=SecretStr("r" * 24), scopes=frozenset({Scope.READ}))])
    >>> ring.identify("r" * 24).name, ring.identify("x" * 24)
    ('app', None)
    """

    def __init__(self, keys: Sequence[ApiKey]) -> None:
        self._entries = [(self._digest(k.key.get_secret_value()), Caller(k.name, k.scopes)) for k in keys]

    @staticmethod
    def _digest(key: str) -> bytes:
        return hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()

    def identify(self, presented: str | None) -> Caller | None:
        """The caller whose key this is, or None."""
        if not presented:
            return None
        digest = self._digest(presented)
        found: Caller | None = None
        for expected, caller in self._entries:  # every entry, always: constant work whatever matches
            if hmac.compare_digest(expected, digest):
                found = caller
        return found
