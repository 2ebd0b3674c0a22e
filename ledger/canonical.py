"""Canonical JSON: the one encoding of everything that is hashed, signed or compared byte for byte.

msgspec JSON with the keys of every object sorted (at every depth), UTF-8, no whitespace. Leaves,
appraisals, reports, award reports and the rule-set fingerprint all go through :func:`canonical_json`,
so one value always has one byte string, whichever part of the ledger wrote it.
"""

from __future__ import annotations

import msgspec

__all__ = ["canonical_json"]

canonical_json = msgspec.json.Encoder(order="sorted").encode
"""``canonical_json(value) -> bytes`` for any value msgspec encodes (Structs, dicts, lists, ...)."""
