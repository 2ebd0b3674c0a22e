"""Deciding a command: one pure function from a command and what the ledger knows to one event or a refusal.

The application loads what a command needs — the state of the aggregate it acts on, the
receipt stored for its command id, the next free case number, the server time — and hands it
in. What else deciding may ask of the ledger (does the unit a command names exist? is the
earlier case of a repeat barred?) goes through :class:`Known`, a read-only view the caller
answers from storage or from memory. Nothing here reads a database or a clock, so every rule
can be tested with plain values, and the same inputs always give the same answer.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Protocol

import msgspec

from ledger.domain import case as case_rules
from ledger.domain import records
from ledger.domain.case import CHINA, Case, Limits, Window, business_day
from ledger.domain.ids import aggregate_id
from ledger.domain.records import Record
from ledger.domain.times import time_refusal
from ledger.errors import Conflict, InvalidInput, NotFound, Refused
from ledger.scope import Units
from schemas import events as ev
from schemas.commands import Command
from schemas.common import Actor
from schemas.events import Envelope, Event
from schemas.views import CommandResult

State = Case | Record

FUTURE_TOLERANCE = timedelta(minutes=5)
"""How far a stated business time may run ahead of the server clock (clock drift)."""

REFERENCES: dict[str, str] = {
    "to_unit": "unit",
    "home_township": "unit",
    "township": "unit",
    "village": "unit",
    "unit": "unit",
    "parent": "unit",
    "leader": "official",
    "official": "official",
    "approved_by": "official",
    "repeat_of": "case",
    "reception": "reception",
    "case": "case",
}
"""Event fields that name another aggregate, which must exist."""

LIST_REFERENCES: dict[str, str] = {"cases": "case"}


class Known(Protocol):
    """The rest of the ledger as deciding sees it: read-only, answered from storage or memory."""

    def exists(self, kind: str, key: str) -> bool: ...

    def state(self, kind: str, key: str) -> State | None: ...


class Rules(Protocol):
    """What deciding needs from the rule set: request windows, and the plugins' reasons to refuse
    (both for a case placed in a unit tree: a local plugin's rules hold in its units only)."""

    def window(self, step: str, case: Case, today: date | None = None, *, units: Units | None = None
               ) -> Window | None: ...

    def check(self, event: Event, case: Case | None, day: date, *, units: Units | None = None) -> list[str]: ...


class _Units:
    """Registered units by code, as the rules and the place checks ask for them."""

    def __init__(self, known: Known) -> None:
        self._known = known

    def get(self, code: str, /) -> ev.UnitRegistered | None:
        record = self._known.state("unit", code)
        return record.created if isinstance(record, Record) and isinstance(record.created, ev.UnitRegistered) else None


class _Placed:
    """The rule set's windows for a case placed in the ledger's unit tree: what the case's guards ask."""

    def __init__(self, rules: Rules, units: Units) -> None:
        self._rules = rules
        self._units = units

    def window(self, step: str, case: Case) -> Window | None:
        return self._rules.window(step, case, units=self._units)


class Receipt(msgspec.Struct, frozen=True):
    """The first answer to a command id; ``digest`` binds it to one actor and one command."""

    digest: str
    result: CommandResult


class Context(msgspec.Struct, frozen=True, kw_only=True):
    """The plain values a decision depends on besides the command and the aggregate's state."""

    now: datetime
    """Server time: becomes ``recorded_at``, and bounds how far ahead ``occurred_at`` may be."""
    batch: str | None = None
    migration: str | None = None
    """The declared migration the command is imported under (:func:`_check_migration`)."""
    receipt: Receipt | None = None
    """What was stored for this command id, if anything: then nothing else is consulted."""
    number: str | None = None
    """The next free case number, for a registration that names none (see :func:`numbering_year`)."""


class Decided(msgspec.Struct, frozen=True):
    """A command accepted: the one event to save, the state it leads to, and the receipt to save with it."""

    envelope: Envelope
    state: State
    receipt: Receipt

    @property
    def result(self) -> CommandResult:
        return self.receipt.result


class Repeated(msgspec.Struct, frozen=True):
    """A command seen before from the same actor: its first result again; nothing is to be written."""

    result: CommandResult


def digest(command: Command, actor: Actor) -> str:
    """What a receipt binds: this actor (id, unit and role) and this command, byte for byte."""
    return hashlib.sha256(msgspec.json.encode((actor, command))).hexdigest()


def numbering_year(command: Command) -> int | None:
    """The year in whose sequence a registration that names no case number is numbered; None otherwise."""
    if command.event is ev.PetitionRegistered and command.number is None:  # type: ignore[attr-defined]
        return business_day(command.occurred_at).year
    return None


def address(command: Command, number: str | None = None) -> tuple[str, str]:
    """``(kind, key)`` of the aggregate a command acts on; ``number`` is the one given to an unnumbered registration."""
    event = command.event
    key = command.case if event.key_field is None else getattr(command, event.key_field)  # type: ignore[attr-defined]
    key = number if key is None else key
    assert key is not None, "an unnumbered registration needs the next free number"
    return event.aggregate, key


def evolve(state: State | None, envelope: Envelope) -> State:
    """The aggregate after ``envelope``, whatever its kind."""
    if envelope.event.aggregate == "case":
        return case_rules.evolve(state, envelope)  # type: ignore[arg-type]
    return records.evolve(state, envelope)  # type: ignore[arg-type]


def fold(state: State | None, envelopes: Iterable[Envelope]) -> State | None:
    """``state`` advanced by ``envelopes`` (from nothing when ``state`` is None)."""
    for envelope in envelopes:
        state = evolve(state, envelope)
    return state


def decide(
    command: Command, actor: Actor, state: State | None, known: Known, rules: Rules, context: Context
) -> Decided | Repeated:
    """Decide ``command`` by ``actor`` on ``state``, the current state of the aggregate it acts on.

    Raises :class:`InvalidInput`, :class:`Conflict` (stale version, command id reused),
    :class:`NotFound` or :class:`Refused` with the reason; the checks run in the order a clerk
    would fix them. When ``context.receipt`` is given the answer depends on it alone.
    """
    signed = digest(command, actor)
    if context.receipt is not None:
        return Repeated(_replayed(command, signed, context.receipt))
    _check_migration(command, context.migration, known)
    event = _event_of(command, context.number)
    kind, key = address(command, context.number)
    uid = aggregate_id(kind, key)
    assert state is None or state.id == uid, "decide needs the state of the aggregate the command acts on"
    _check_version(command, kind, key, state)
    day = business_day(command.occurred_at)
    _check_time(command, event, state, context.now)
    _check_references(event, known)
    units = _Units(known)
    if isinstance(event, ev.PetitionRegistered):
        if state is not None:
            raise Refused(f"案件编号 {key} 已存在，不能重复登记", code="illegal_transition")
    elif kind == "case":
        _check_case(state, event, day, key, _Placed(rules, units), known)
    else:
        reason = records.refusal(state, event)  # type: ignore[arg-type]
        if reason:
            raise Refused(reason, code="illegal_transition")
        if reason := records.place_refusal(event, units):
            raise Refused(reason, code="rule_violation")
    if reasons := rules.check(event, state if isinstance(state, Case) else None, day, units=units):
        raise Refused("；".join(reasons), code="plugin_rule")
    envelope = Envelope(
        originator_id=uid,
        originator_version=(state.version if state is not None else 0) + 1,
        occurred_at=command.occurred_at,
        recorded_at=context.now,
        actor=actor,
        event=event,
        command_id=command.command_id,
        batch=context.batch,
        migration=context.migration,
        original_actor=command.original_actor,
    )
    result = CommandResult(
        command_id=command.command_id,
        event_type=type(event).__name__,
        aggregate=kind,
        key=key,
        aggregate_id=uid,
        version=envelope.originator_version,
        recorded_at=envelope.recorded_at,
    )
    return Decided(envelope, evolve(state, envelope), Receipt(signed, result))


def _replayed(command: Command, signed: str, receipt: Receipt) -> CommandResult:
    """The first result for the same actor and command; anyone else learns only that the id is taken."""
    if receipt.digest != signed:
        raise Conflict(
            f"命令编号 {command.command_id} 已被另一条命令使用，请为新命令使用新的编号",
            code="command_id_reused",
        )
    return msgspec.structs.replace(receipt.result, repeated=True)


def _event_of(command: Command, number: str | None) -> Event:
    fields = {name: getattr(command, name) for name in command.event.__struct_fields__}
    if numbering_year(command) is not None:
        fields["number"] = number
    try:
        return command.event(**fields)
    except (TypeError, msgspec.ValidationError) as exc:
        raise InvalidInput(f"命令内容无效：{exc}", code="invalid_command") from exc


def _check_version(command: Command, kind: str, key: str, state: State | None) -> None:
    current = state.version if state is not None else 0
    if command.expected_version is not None and command.expected_version != current:
        raise Conflict(
            f"{records.KIND_NAMES.get(kind, '案件')} {key} 已更新：你看到的是版本 {command.expected_version}，"
            f"当前版本 {current}。请刷新后重试",
            code="stale_version",
            current_version=current,
        )


def _check_time(command: Command, event: Event, state: State | None, now: datetime) -> None:
    if command.occurred_at > now + FUTURE_TOLERANCE:
        raise Refused("发生时间晚于当前时间：不能登记尚未发生的事", code="rule_violation")
    if reason := time_refusal(command.occurred_at, event, now + FUTURE_TOLERANCE):
        raise Refused(reason, code="rule_violation")
    corrects = command.event is ev.EventCorrected
    if isinstance(state, Case) and corrects and business_day(command.occurred_at) < state.received_on:
        raise Refused(f"发生时间 {command.occurred_at.astimezone(CHINA):%Y-%m-%d %H:%M} 早于本案登记之日"
                      f"（{state.received_on}）", code="rule_violation")
    if isinstance(state, Case) and not corrects and command.occurred_at < state.stage_since:
        raise Refused(
            f"发生时间 {command.occurred_at.astimezone(CHINA):%Y-%m-%d %H:%M} 早于本案进入「{state.stage}」"
            f"的时间（{state.stage_since.astimezone(CHINA):%Y-%m-%d %H:%M}）：如需改正，请用更正",
            code="rule_violation",
        )


def _check_references(event: Event, known: Known) -> None:
    for field in event.__struct_fields__:
        value = getattr(event, field)
        if field == event.key_field or not value:
            continue
        kind = REFERENCES.get(field) or LIST_REFERENCES.get(field)
        keys = value if field in LIST_REFERENCES else [value]
        for key in keys if kind else ():
            if not known.exists(kind, key):
                raise Refused(
                    f"{records.KIND_NAMES.get(kind, '案件')} {key} 不存在（字段 {field}）：请先登记",
                    code="unknown_reference",
                    field=field,
                )


def _check_migration(command: Command, migration: str | None, known: Known) -> None:
    """Migration is a declared act: a declared migration (source, cut-off, expected count) may carry
    steps dated before its cut-off with the source system's own actors; anything else is an
    ordinary entry. (Who may declare or import one is the access policy's to say.)"""
    if migration is None:
        if command.original_actor is not None:
            raise Refused("只有已声明迁移的导入可以注明原系统经办人（original_actor）", code="rule_violation")
        return
    if command.event is ev.MigrationDeclared:
        raise Refused("迁移声明不能作为迁移的一部分导入", code="rule_violation")
    declared = known.state("migration", migration)
    if not isinstance(declared, Record) or not isinstance(declared.created, ev.MigrationDeclared):
        raise NotFound(f"迁移 {migration} 未声明：请先由管理员声明（DeclareMigration）", code="unknown_migration")
    cutoff = declared.created.cutoff
    if command.occurred_at >= cutoff:
        raise Refused(
            f"迁移 {migration} 只导入 {cutoff.astimezone(CHINA):%Y-%m-%d %H:%M} 之前发生的历史：本条发生于 "
            f"{command.occurred_at.astimezone(CHINA):%Y-%m-%d %H:%M}，请作为普通记录录入", code="rule_violation",
        )


def _check_case(state: State | None, event: Event, day: date, key: str, rules: Limits, known: Known) -> None:
    if state is None:
        raise NotFound(f"案件 {key} 不存在", code="unknown_case", case=key)
    assert isinstance(state, Case)
    refused = case_rules.refusal(state, event, day, rules)
    if refused:
        raise Refused(refused[1], code=refused[0])
    if isinstance(event, ev.CaseAccepted) and state.repeat_of:
        earlier = known.state("case", state.repeat_of)
        if isinstance(earlier, Case) and earlier.barred:
            raise Refused(
                f"本件是案件 {state.repeat_of} 的重复信访，该事项已复核终结、不再受理（C22 第36条）",
                code="rule_violation",
            )
