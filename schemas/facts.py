"""Facts of a period: what rule plugins judge when they award, score and find fault.

:func:`ledger.facts.period_facts` folds a prefix of the log (knowledge time ``as_of``)
into these Structs for one period (business time). They are plain data: a plugin reads
them, never the store, so every verdict can be re-derived from the same events.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

import msgspec

from schemas.common import IncidentKind, Level, TownshipClass, UnitKind
from schemas.rules import Clock


class Period(msgspec.Struct, frozen=True, kw_only=True):
    """考核期：a range of business days (China time), both ends included."""

    label: str
    start: date
    end: date

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day <= self.end

    @property
    def whole_year(self) -> bool:
        """A calendar year, January 1 to December 31: the period of an annual award."""
        return (self.start.month, self.start.day) == (1, 1) and self.end == date(self.start.year, 12, 31)


class IncidentFact(msgspec.Struct, frozen=True, kw_only=True):
    """A recorded 越级 / 集体 / 非正常 visit or 极端 incident."""

    incident: str
    kind: IncidentKind
    level: Level
    """Destination level: 县, 市, 省 or 京."""
    persons: int
    township: str
    """The unit it is attributed to (属地) as recorded: a township, or a village of one."""
    village: str | None = None
    """The village (村/社区) of the people involved, where known."""
    occurred_on: date
    case: str | None = None
    note: str = ""
    kinds: list[IncidentKind] = []
    """The recorded kind and those the rule plugins derive (a 越级 visit of 5 or more persons is
    集体 too: ``xinfang_incident_kinds``); empty when not derived, meaning ``[kind]``."""

    def counts_as(self, kinds: Iterable[str]) -> bool:
        """Whether the incident is of one of ``kinds``, recorded or derived."""
        return not set(kinds).isdisjoint(self.kinds or (self.kind,))


class CaseFact(msgspec.Struct, frozen=True, kw_only=True):
    """One case as it stood at the end of the period (or at ``as_of``, if earlier)."""

    number: str
    stage: str
    channel: str
    subject: str
    flags: list[str]
    """Flags the registrar stated plus those the rule plugins derive (``xinfang_case_flags``)."""
    persons: int
    first_time: bool
    """初信初访: not a repeat of an earlier item."""
    home_township: str
    registered_by: str
    unit: str | None
    """The responsible unit (责任单位) at the end of the period."""
    received_on: date
    accepted_on: date | None
    refused_on: date | None
    decided_on: date | None
    concluded_on: date | None
    ratings: dict[str, str]
    clocks: list[Clock]
    """Every clock of the case under the rule set, seen on the reference day."""


class OverdueClock(msgspec.Struct, frozen=True, kw_only=True):
    """A statutory (``duty``) clock due in the period and missed, charged to a unit."""

    case: str
    clock: Clock


class UnitFacts(msgspec.Struct, frozen=True, kw_only=True):
    """One unit's facts for the period."""

    unit: str
    name: str
    kind: UnitKind
    parent: str | None
    township_class: TownshipClass | None
    incidents: list[IncidentFact]
    """Incidents of the period attributed to the unit: its own, and for a township its villages'."""
    ratings: dict[str, dict[str, int]]
    """Ratings given in the period: party (信访部门 / 责任单位) → rating → count. 信访部门 ratings go to
    the registering unit, 责任单位 ratings to the unit responsible when the rating was given. The
    population of the satisfaction indicator: ratings of 涉法涉诉 items are left out."""
    overdue: list[OverdueClock]
    """Duty clocks due in the period and missed: the route clock is the registering unit's, a 督办
    reply the supervised unit's, every other clock the responsible unit's."""


class PeriodFacts(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the award, indicator and accountability hooks see, bound to a log prefix."""

    period: Period
    as_of: datetime | None
    """Knowledge time: only events recorded at or before it (None: the whole log)."""
    reference_day: date
    """The day clocks are read on: the period's last day, or the day known (``as_of``'s, else today) if earlier."""
    tree_size: int
    """How many events (the log prefix) the facts were folded from."""
    rules_fingerprint: str
    units: list[UnitFacts]
    cases: list[CaseFact]
    """Cases received in the period, or with a clock due in it."""
    incidents: list[IncidentFact]
    """Incidents that occurred in the period."""

    def unit(self, code: str) -> UnitFacts | None:
        return next((u for u in self.units if u.unit == code), None)
