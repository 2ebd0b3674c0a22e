"""Aggregate ids derived from natural keys, so every process and every replay agrees on them."""

from __future__ import annotations

from functools import lru_cache
from uuid import UUID, uuid5

NAMESPACE = UUID("6f1d6c8e-3b0e-5d7a-9a52-2f6c1b0a9e11")


@lru_cache(maxsize=65536)
def aggregate_id(kind: str, key: str) -> UUID:
    """The id of the ``kind`` aggregate known by ``key`` (a case number, a unit code...)."""
    return uuid5(NAMESPACE, f"{kind}:{key}")
