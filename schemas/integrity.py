"""What the full verifier (``xinfang verify``) and the inspector's witness (``xinfang witness``) report."""

from __future__ import annotations

from typing import Literal

import msgspec

__all__ = ["CheckpointCheck", "DamageKind", "Failure", "VerifyReport", "WitnessResult"]

DamageKind = Literal[
    "payload_changed",
    "leaf_changed",
    "event_missing",
    "reordered",
    "inserted",
    "backdated",
    "node_changed",
    "checkpoint_inconsistent",
    "checkpoint_signature",
]
"""Kinds of damage the verifier names (their Chinese names: ``ledger.integrity.verify.KINDS``)."""


class Failure(msgspec.Struct, frozen=True, kw_only=True):
    """校验发现的第一处损坏：位置（``seq``、聚合及其案件）和类型。"""

    seq: int | None
    """First damaged position of the log; None when the damage has no position (a bad checkpoint)."""
    kind: DamageKind
    description: str
    """Chinese name of ``kind``."""
    message: str
    """What exactly does not match (Chinese)."""
    aggregate_id: str | None = None
    version: int | None = None
    case: str | None = None
    """Case number when the damaged event belongs to a case."""
    aggregate: str | None = None
    """``kind:key`` of the aggregate (``case:2021-000001``, ``unit:town-a``) when known."""


class CheckpointCheck(msgspec.Struct, frozen=True, kw_only=True):
    """与日志核对的一个检查点。"""

    source: str
    """The file it came from, or ``stored #id`` for a row of ``ledger_checkpoints``."""
    origin: str | None
    tree_size: int | None
    root: str | None
    """Hex."""
    ok: bool
    signature_checked: bool


class VerifyReport(msgspec.Struct, frozen=True, kw_only=True):
    """完整校验的结果（``xinfang verify --json``）。"""

    ok: bool
    tree_size: int
    """Leaves in the snapshot that was verified."""
    verified: int
    """Positions checked before the first failure (all of them when ``ok``)."""
    root: str | None
    """Hex root of the verified tree (None when it could not be established)."""
    checkpoints: list[CheckpointCheck]
    seconds: float
    events_per_second: float
    failure: Failure | None = None


class WitnessResult(msgspec.Struct, frozen=True, kw_only=True):
    """见证的结果：是否接受日志的新检查点，及其理由（``xinfang witness --json``）。"""

    accepted: bool
    first: bool
    """This was the first checkpoint the witness saw."""
    origin: str | None
    tree_size: int | None
    root: str | None
    """Hex root of the new checkpoint."""
    previous_size: int | None
    previous_root: str | None
    message: str
    evidence: str | None = None
    """Where a refused checkpoint was kept."""
