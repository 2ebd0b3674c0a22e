"""Proofs and checkpoints for the API: the core's proof and checkpoint services
(:mod:`ledger.integrity.proofs`, :mod:`ledger.integrity.checkpoints`), whose answers are already
the wire shapes of :mod:`schemas.proofs` (the same as ``xinfang proof`` prints).

The checkpoint origin and the verifier key's name are the ledger's log name (see
:mod:`ledger.integrity.checkpoints`); every checkpoint handed out is also kept in the ledger's
append-only ``ledger_checkpoints`` table.
"""

from __future__ import annotations

from collections.abc import Callable

from api.problems import ApiProblem
from ledger.application import Ledger
from ledger.errors import ConfigError, LedgerError
from ledger.integrity.checkpoints import Checkpoints
from ledger.integrity.proofs import Proofs


class Integrity:
    def __init__(self, ledger: Ledger) -> None:
        self.proofs = Proofs(ledger.recorder)
        self.checkpoints = Checkpoints(ledger.recorder, ledger.url)

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
