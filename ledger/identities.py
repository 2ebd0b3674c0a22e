"""Disclosing and erasing a petitioner's identity: the vault step and its record in the ledger, together.

Both the CLI and the HTTP API go through here, so a read is never disclosed without its
``IdentityRead`` event, and an erasure is always recorded before the key is destroyed.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from ledger.application import Ledger
from ledger.errors import LedgerError, NotFound
from ledger.vault import Vault
from schemas.commands import COMMANDS_BY_NAME
from schemas.common import Actor
from schemas.identity import IdentityAnswer


def disclose(
    ledger: Ledger, vault: Vault, ref: str, actor: Actor, now: datetime, *, case: str | None = None, purpose: str = ""
) -> IdentityAnswer:
    """Record the read as an event, then read the vault; an erased identity discloses nothing."""
    status = vault.status(ref)
    if status == "unknown":
        raise NotFound(f"信访人 {ref} 没有登记身份信息", code="unknown_petitioner")
    if status == "erased":
        return IdentityAnswer(ref=ref, status="erased")
    read_id = f"read-{uuid.uuid4().hex}"
    command = COMMANDS_BY_NAME["RecordIdentityRead"](
        command_id=read_id, occurred_at=now, read=read_id, ref=ref, case=case, purpose=purpose
    )
    ledger.execute(command, actor)
    identity = vault.get(ref)
    if identity is None:  # erased between the two steps: the read is recorded, nothing disclosed
        return IdentityAnswer(ref=ref, status="erased", read=read_id)
    return IdentityAnswer(ref=ref, status="present", identity=identity, read=read_id)


def erase(ledger: Ledger, vault: Vault, ref: str, actor: Actor, now: datetime, reason: str) -> bool:
    """Record the erasure, then destroy the key; False when it was already erased."""
    status = vault.status(ref)
    if status == "unknown":
        raise NotFound(f"信访人 {ref} 没有登记身份信息", code="unknown_petitioner")
    if status == "erased":
        return False
    command = COMMANDS_BY_NAME["EraseIdentity"](
        command_id=f"erase-{ref}-{uuid.uuid4().hex[:8]}", occurred_at=now, ref=ref, reason=reason
    )
    try:
        ledger.execute(command, actor)
    except LedgerError as exc:
        if exc.code != "illegal_transition":
            raise
        # already recorded (the process stopped between the two steps): finish the erasure
    return vault.erase(ref)
