"""The facts around cases — units, officials, letters, accountability decisions, receptions,
backlog batches, disputes, incidents, erasures — as small aggregates.

Each is created by one event and may receive a few follow-ups, each at most once
(a letter is answered once, a dispute resolved once, a backlog case resolved once).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar
from uuid import UUID

import msgspec

from schemas import events as ev
from schemas.events import Envelope, Event

Registered = TypeVar("Registered", ev.UnitRegistered, ev.OfficialRegistered)

KIND_NAMES: dict[str, str] = {
    "unit": "单位",
    "official": "干部",
    "letter": "函件",
    "accountability": "问责决定",
    "reception": "接访登记",
    "batch": "积案批次",
    "dispute": "矛盾纠纷",
    "incident": "事件",
    "petitioner": "信访人",
    "identity_read": "身份信息查阅记录",
    "migration": "迁移声明",
}

CREATORS: frozenset[type[Event]] = frozenset(
    {
        ev.PetitionerIdentityRecorded,
        ev.UnitRegistered,
        ev.OfficialRegistered,
        ev.RecommendationIssued,
        ev.AccountabilityDecided,
        ev.LeaderReceptionHeld,
        ev.BacklogBatchListed,
        ev.DisputeFound,
        ev.IncidentRecorded,
        ev.PetitionerIdentityErased,
        ev.IdentityRead,
        ev.MigrationDeclared,
    }
)


class Record(msgspec.Struct, frozen=True, kw_only=True):
    """A non-case aggregate: its creating event and the follow-ups it has seen."""

    id: UUID
    version: int
    kind: str
    key: str
    created: Event
    seen: frozenset[str] = frozenset()


class Directory(Generic[Registered]):
    """Registered units (or officials) by code, read on first use: a registration never changes."""

    def __init__(self, kind: type[Registered], read: Callable[[str], object]) -> None:
        self._kind = kind
        self._read = read
        self._known: dict[str, Registered] = {}

    def get(self, code: str, /) -> Registered | None:
        found = self._known.get(code)
        if found is None:
            record = self._read(code)
            if isinstance(record, Record) and isinstance(record.created, self._kind):
                found = self._known[code] = record.created
        return found


UnitTree = Directory[ev.UnitRegistered]


def key_of(event: Event) -> str:
    assert event.key_field is not None
    return str(getattr(event, event.key_field))


def _mark(event: Event) -> str:
    """What a follow-up settles: resolving a backlog case settles that case only."""
    if isinstance(event, ev.BacklogCaseResolved):
        return f"{type(event).__name__}:{event.case}"
    return type(event).__name__


def refusal(record: Record | None, event: Event) -> str | None:
    """Why ``event`` may not happen to ``record``; None when it may."""
    kind = KIND_NAMES[event.aggregate]
    if event.aggregate == "petitioner":
        return _identity_refusal(record, event)
    if type(event) in CREATORS:
        return f"{kind} {key_of(event)} 已存在，不能重复登记" if record is not None else None
    if record is None:
        return f"{kind} {key_of(event)} 不存在"
    if _mark(event) in record.seen:
        return f"{kind} {record.key} 已{ev.chinese_name(type(event))}，不能重复登记"
    if isinstance(event, ev.BacklogCaseResolved):
        listed = record.created
        assert isinstance(listed, ev.BacklogBatchListed)
        if event.case not in listed.cases:
            return f"案件 {event.case} 不在积案批次 {record.key} 中"
    return None


def _identity_refusal(record: Record | None, event: Event) -> str | None:
    """An identity is written any number of times until it is erased; it is erased once."""
    erased = record is not None and (
        isinstance(record.created, ev.PetitionerIdentityErased) or "PetitionerIdentityErased" in record.seen
    )
    if erased:
        return f"信访人 {key_of(event)} 的身份信息已销毁，不能再{ev.chinese_name(type(event))}"
    return None


def place_refusal(event: Event, units: UnitTree) -> str | None:
    """Why an incident's village does not fit: it must be a 村（社区） lying in the 属地 the incident names."""
    if not isinstance(event, ev.IncidentRecorded) or event.village is None:
        return None
    village = units.get(event.village)
    if village is None:
        return None  # an unknown unit is refused by the reference check
    if village.kind != "村社区":
        return f"{village.name}（{event.village}）不是村（社区），不能作为当事人所在村（字段 village）"
    unit: str | None = event.village
    while unit is not None and unit != event.township:
        found = units.get(unit)
        unit = found.parent if found is not None else None
    if unit is None:
        return f"村（社区）{village.name}（{event.village}）不在属地 {event.township} 之内：请核对 township 与 village"
    return None


def evolve(record: Record | None, envelope: Envelope) -> Record:
    e = envelope.event
    if record is None:
        return Record(
            id=envelope.originator_id,
            version=envelope.originator_version,
            kind=e.aggregate,
            key=key_of(e),
            created=e,
        )
    return msgspec.structs.replace(record, version=envelope.originator_version, seen=record.seen | {_mark(e)})
