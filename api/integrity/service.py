"""Proofs and checkpoints for the API: the core's proof and checkpoint services
(:mod:`ledger.integrity.proofs`, :mod:`ledger.integrity.checkpoints`), in the API's wire shapes.

The checkpoint origin and the verifier key's name are the ledger's log name (see
:mod:`ledger.integrity.checkpoints`); every checkpoint handed out is also kept in the ledger's
append-only ``ledger_checkpoints`` table.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any, TypeVar

import msgspec

from api.problems import ApiProblem
from ledger.application import Ledger
from ledger.errors import ConfigError, InvalidInput, LedgerError, NotFound
from ledger.integrity import proofs
from ledger.integrity.checkpoints import Checkpoints


class InclusionProof(msgspec.Struct, frozen=True, kw_only=True):
    """RFC 9162 inclusion proof of one leaf: hashes in hex, path from the leaf up."""

    seq: int
    tree_size: int
    leaf: str
    """The leaf bytes (canonical JSON) whose hash is ``leaf_hash``: SHA-256(0x00 ‖ leaf)."""
    leaf_hash: str
    path: list[str]
    root: str


class CaseProof(msgspec.Struct, frozen=True, kw_only=True):
    """Every event of one case proven against one tree size."""

    number: str
    tree_size: int
    root: str
    events: list[InclusionProof]


T = TypeVar("T")


def bad(detail: str) -> ApiProblem:
    return ApiProblem("malformed-request", detail, code="invalid_tree_size")


def _inclusion(proof: proofs.InclusionProof) -> InclusionProof:
    return InclusionProof(seq=proof.leaf_index, tree_size=proof.tree_size,
                          leaf=base64.b64decode(proof.leaf).decode("utf-8"), leaf_hash=proof.leaf_hash,
                          path=proof.path, root=proof.root)


class Integrity:
    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.proofs = proofs.Proofs(ledger.recorder)
        self.checkpoints = Checkpoints(ledger.recorder, ledger.url)

    def tree_size(self) -> int:
        return self.proofs.tree_size()

    def root(self, size: int) -> bytes:
        return self._call(self.proofs.root, size)

    @staticmethod
    def _call(func: Callable[..., T], *args: Any) -> T:
        try:
            return func(*args)
        except InvalidInput as exc:
            raise bad(exc.message) from exc
        except NotFound as exc:
            raise ApiProblem("not-found", exc.message, code=exc.code) from exc

    def inclusion(self, seq: int, size: int | None = None) -> InclusionProof:
        return _inclusion(self._call(self.proofs.inclusion, seq, size))

    def case_proof(self, seqs: list[int], number: str, size: int | None = None) -> CaseProof:
        """The case's events (``seqs``, from the caller's timeline) against one tree size."""
        size = self._call(self.proofs.size, size)
        proof = self._call(self.proofs.case_proof, number, size)
        events = [_inclusion(event.proof) for event in proof.events if event.proof.leaf_index in set(seqs)]
        return CaseProof(number=number, tree_size=proof.tree_size, root=proof.root, events=events)

    def consistency(self, old: int, new: int | None = None) -> proofs.ConsistencyProof:
        return self._call(self.proofs.consistency, old, new)

    # ── checkpoints ──────────────────────────────────────────────────────────

    @staticmethod
    def _signed(func: Callable[[], str]) -> str:
        try:
            return func()
        except ConfigError as exc:
            raise ApiProblem("not-found", f"账本尚无签名密钥：{exc.message}", code="no_signing_key") from exc
        except LedgerError as exc:
            raise ApiProblem("not-found", exc.message, code=exc.code) from exc

    def verifier_key(self) -> str:
        return self._signed(self.checkpoints.verifier_key)

    def checkpoint(self) -> str:
        """A signed checkpoint (C2SP tlog-checkpoint) of the tree as it is now, kept in the ledger."""
        return self._signed(self.checkpoints.issue)
