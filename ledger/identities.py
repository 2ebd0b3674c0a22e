"""Taking down, disclosing and erasing a petitioner's identity: policy, vault and ledger, together.

Every entry point (CLI, HTTP API, web pages) goes through here, so that:

- the access policy is asked first (:meth:`ledger.access.Access.require_identity`);
- every write is recorded as a ``PetitionerIdentityRecorded`` event carrying the SHA-256 of what
  the vault stored (never the identity itself), the first one naming the unit that holds it;
- every disclosure is recorded as an ``IdentityRead`` event (who, which case, for what purpose)
  before the vault is read, so nothing is disclosed without its record;
- an erasure is recorded before the key is destroyed.
"""

from __future__ import annotations

import uuid


from ledger.access import Viewer
from ledger.bootstrap import Services
from ledger.errors import LedgerError, NotFound
from schemas.commands import COMMANDS_BY_NAME
from schemas.identity import IdentityAnswer, PetitionerIdentity

RecordIdentity = COMMANDS_BY_NAME["RecordIdentity"]
RecordIdentityRead = COMMANDS_BY_NAME["RecordIdentityRead"]
EraseIdentity = COMMANDS_BY_NAME["EraseIdentity"]


def store(services: Services, viewer: Viewer, ref: str, identity: PetitionerIdentity, *,
          case: str | None = None) -> str:
    """Write ``ref``'s identity to the vault and record the write; returns the recorded digest."""
    found = services.access.require_identity(viewer, ref, "write", case=case)
    holder = found.holder or services.access.holder_for_first_write(found)
    digest = services.vault.put(ref, identity)
    command = RecordIdentity(command_id=f"identity-{uuid.uuid4().hex}", occurred_at=services.clock(), ref=ref,
                             digest=digest, holder=holder, case=case)
    services.record(command, viewer.actor)
    return digest


def disclose(services: Services, viewer: Viewer, ref: str, *, case: str | None = None,
             purpose: str = "") -> IdentityAnswer:
    """Record the read as an event, then read the vault; an erased identity discloses nothing."""
    services.access.require_identity(viewer, ref, "read", case=case, purpose=purpose)
    vault = services.vault
    status = vault.status(ref)
    if status == "unknown":
        raise NotFound(f"信访人 {ref} 没有登记身份信息", code="unknown_petitioner")
    if status == "erased":
        return IdentityAnswer(ref=ref, status="erased")
    read_id = f"read-{uuid.uuid4().hex}"
    command = RecordIdentityRead(command_id=read_id, occurred_at=services.clock(), read=read_id, ref=ref, case=case,
                                 purpose=purpose)
    services.record(command, viewer.actor)
    identity = vault.get(ref)
    if identity is None:  # erased between the two steps: the read is recorded, nothing disclosed
        return IdentityAnswer(ref=ref, status="erased", read=read_id)
    return IdentityAnswer(ref=ref, status="present", identity=identity, read=read_id)


def erase(services: Services, viewer: Viewer, ref: str, reason: str) -> bool:
    """Record the erasure, then destroy the key; False when it was already erased."""
    services.access.require_identity(viewer, ref, "erase")
    vault = services.vault
    status = vault.status(ref)
    if status == "unknown":
        raise NotFound(f"信访人 {ref} 没有登记身份信息", code="unknown_petitioner")
    if status == "erased":
        return False
    command = EraseIdentity(command_id=f"erase-{ref}-{uuid.uuid4().hex[:8]}", occurred_at=services.clock(), ref=ref,
                            reason=reason)
    try:
        services.record(command, viewer.actor)
    except LedgerError as exc:
        if exc.code != "illegal_transition":
            raise
        # already recorded (the process stopped between the two steps): finish the erasure
    return vault.erase(ref)
