"""Views: what the ledger answers — command results, case views and timelines."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

import msgspec

from schemas.common import Actor, SourceActor
from schemas.events import AnyEvent
from schemas.rules import Clock


class CommandResult(msgspec.Struct, frozen=True, kw_only=True):
    """The answer to an accepted command; a repeat of the same ``command_id`` gets it again."""

    command_id: str
    event_type: str
    aggregate: str
    key: str
    aggregate_id: UUID
    version: int
    recorded_at: datetime
    repeated: bool = False
    """True when this command id had already been applied: nothing new was written."""


class TimelineEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One event of a case as an inspector reads it."""

    version: int
    type: str
    name: str
    occurred_at: datetime
    recorded_at: datetime
    actor: Actor
    event: AnyEvent  # type: ignore[valid-type]
    command_id: str | None = None
    batch: str | None = None
    migration: str | None = None
    """The declared migration the entry was imported under (history, not 补录)."""
    original_actor: SourceActor | None = None
    """Who did a migrated step, as the source system states it (``actor`` imported it)."""
    seq: int | None = None
    leaf_hash: str | None = None
    text: str = ""
    """What the event says, in Chinese, with unit and official names (:mod:`ledger.narrative`):
    to which unit, the outcome, who rated which party (and which unit that is) and how, the reason."""


class CaseView(msgspec.Struct, frozen=True, kw_only=True):
    """A case's current state with its clocks, computed under a named rule set."""

    number: str
    version: int
    stage: str
    channel: str
    subject: str
    flags: list[str]
    persons: int
    home_township: str
    registered_by: str
    current_unit: str | None
    leader: str | None
    repeat_of: str | None
    received_on: date
    barred: bool
    ratings: dict[str, str]
    clocks: list[Clock]
    overdue: list[str]
    """Steps of statutory (``duty``) clocks past due; missed local targets are warnings, not listed."""
    rules_fingerprint: str
    windows: list[Clock] = []
    """Request windows that have opened (管辖异议 5 working days, 复查 and 复核 requests): when each
    closes, and ``stopped_on`` the day it was used. A window never runs late."""
