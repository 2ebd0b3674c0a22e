"""Views: what the ledger answers — command results, case views and timelines, case lists and the overdue
board, units and officials, the live feed, and the log's summary."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

import msgspec

from schemas.common import Actor, SourceActor
from schemas.events import AnyEvent, Envelope
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


class CaseDetail(msgspec.Struct, frozen=True, kw_only=True):
    """一件案件及其时间线（``xinfang case show --json``）。"""

    case: CaseView
    timeline: list[TimelineEntry]


class CaseSummary(msgspec.Struct, frozen=True, kw_only=True):
    """One case in a search result: names beside codes, its flags (stated and derived) and next deadline."""

    number: str
    version: int
    stage: str
    channel: str
    subject: str
    flags: list[str]
    home_township: str
    registered_by: str
    current_unit: str | None
    unit: str
    """The responsible unit now, or the registering one before routing."""
    unit_name: str
    leader: str | None
    repeat_of: str | None
    received_on: date
    next_due: date | None
    """The earliest running statutory deadline, if any."""
    overdue: list[str]
    """Steps of statutory deadlines missed (running past due today, or met late)."""


class CasePage(msgspec.Struct, frozen=True, kw_only=True):
    """A page of cases, newest first; ``total`` counts every match in your scope."""

    total: int
    offset: int
    limit: int
    items: list[CaseSummary]


class OverdueItem(msgspec.Struct, frozen=True, kw_only=True):
    """One running-late time limit of an open case, charged to the unit that owes it."""

    number: str
    subject: str
    unit: str | None
    unit_name: str
    stage: str
    step: str
    label: str
    basis: str
    started_on: date
    due: date
    stopped_on: date | None
    days_late: int
    provisional: bool


class UnitCount(msgspec.Struct, frozen=True, kw_only=True):
    unit: str | None
    name: str
    cases: int
    clocks: int


class OverdueBoard(msgspec.Struct, frozen=True, kw_only=True):
    """超期督办看板：open cases with a time limit past due on ``on``, worst first."""

    on: date
    rules_fingerprint: str
    total_cases: int
    by_unit: list[UnitCount]
    items: list[OverdueItem]


class UnitView(msgspec.Struct, frozen=True, kw_only=True):
    """单位：编码、名称、类别、上级单位、乡镇类别、下级单位。"""

    code: str
    name: str
    kind: str
    parent: str | None
    township_class: str | None
    children: list[str]


class OfficialView(msgspec.Struct, frozen=True, kw_only=True):
    """干部：编码、姓名、所在单位、职务。"""

    code: str
    name: str
    unit: str
    title: str


class FeedEvent(msgspec.Struct, frozen=True, kw_only=True):
    """新事件推送（``/api/feed``）中一条消息的 ``data``（JSON）。"""

    seq: int
    type: str
    aggregate: str
    key: str | None
    version: int
    occurred_at: datetime
    recorded_at: datetime
    actor: Actor
    command_id: str | None


class LogSummary(msgspec.Struct, frozen=True, kw_only=True):
    """账本概况（``xinfang summary --json``）：事件总数和各类事件数量。"""

    events: int
    by_type: dict[str, int]


class SetupAnswer(msgspec.Struct, frozen=True, kw_only=True):
    """``xinfang init --json``：账本所在（不含口令）、签名密钥与身份信息库主密钥的文件，是否新建，重新封装了几把旧密钥。"""

    database: str
    key_file: str
    key_created: bool
    vault_key_file: str | None
    """None when the master key comes from the environment (XINFANG_VAULT_KEY)."""
    vault_key_created: bool
    vault_keys_migrated: int


class DemoSummary(msgspec.Struct, frozen=True, kw_only=True):
    """``xinfang demo --json``：演示县账本写入了什么。"""

    events: int
    cases: int
    units: int
    officials: int
    refused: int
    """Always 0: a refused command is a bug in the demo and stops it with the ledger's reason."""
    seed: int
    year: int
    backdating_unit: str
    """The unit whose clerk back-dates entries (补录) in the demo."""
    migration_batch: str
    """The import batch that brings in the migrated history."""
    last_recorded_at: str
    by_type: dict[str, int]


class ProjectionStatus(msgspec.Struct, frozen=True, kw_only=True):
    """一个投影的位置：已处理到日志第几条、落后几条、是否需要重建。"""

    position: int
    behind: int
    needs_rebuild: bool


class ProjectionsAnswer(msgspec.Struct, frozen=True, kw_only=True):
    """``xinfang projections --json``：每个投影的位置。"""

    tree_size: int
    projections: dict[str, ProjectionStatus]


class RebuildAnswer(msgspec.Struct, frozen=True, kw_only=True):
    """``xinfang rebuild --json``：重建后的位置和数量。"""

    tree_size: int
    projections: dict[str, int]
    """Log position of each projection after the rebuild."""
    cases: int
    records: int
    late_entries: int


class ExportedEvent(Envelope, frozen=True, kw_only=True):
    """``xinfang export`` 的一行：存储的事件信封原样，加上它在日志中的序号。"""

    seq: int
