"""Reports over a folded state: case board, accountability and indicators for one period.

Two times, as everywhere (DESIGN.md): the **period** is business time, ``as_of``
knowledge time. The state is the fold of the log prefix recorded by ``as_of``; each
report reads it for the period: a clock belongs to the period when it falls due in
it, an item when it happened in it, and an outcome (a conclusion, a resolution, an
answer) counts when it happened by the period's end. Clocks are read on the
reference day — the period's last day, or ``as_of``'s day if earlier (the case board
reads them on ``as_of``'s day, or today) — so a step taken after it is still open.

Attribution follows :mod:`ledger.facts`: routing is the registering unit's, a 督办
reply the supervised unit's, every other deadline the responsible unit's; a 信访部门
rating counts for the registering unit, a 责任单位 rating for the unit responsible when
it was given; disputes and incidents for the township they name (属地).

Plugins add what they compute from the period's facts, read from the same state
(:func:`ledger.projections.facts.period_facts`):
indicators, accountability findings, case flags.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import msgspec

from ledger.clocks import seen_on
from ledger.domain.case import CHINA, Case
from ledger.errors import Conflict, InvalidInput
from ledger.clocks import owner
from ledger.facts import EXCLUDED_FROM_RATES, parse_period
from ledger.projections.facts import period_facts
from ledger.projections.runner import Projector
from ledger.projections.state import BACKFILL_FLOOR, CaseFacts, Late, RecordFacts, State
from ledger.rules import RuleSet
from schemas import events as ev
from schemas.events import EVENTS_BY_NAME, chinese_name
from schemas.facts import IncidentFact, Period, PeriodFacts
from schemas.reports import (
    AccountabilityReport,
    BackfillEntry,
    BacklogFigure,
    Basis,
    BoardReport,
    BoardRow,
    Bounce,
    Damage,
    Deadline,
    DecisionItem,
    IdentityReadItem,
    IncidentCount,
    IndicatorReport,
    LateClock,
    LetterItem,
    MigrationItem,
    OfficialAccountability,
    Parameters,
    PluginIndicator,
    PluginRef,
    Ratio,
    ReceptionTotals,
    SupervisionItem,
    Tally,
    Timeliness,
    UnitAccountability,
    UnitIndicators,
)
from schemas.rules import Clock, Finding, Indicator

REPORTS: dict[str, str] = {
    "board": "案件看板",
    "accountability": "问责报告",
    "indicators": "考核指标",
}

DECISION_STEPS = frozenset({"decide", "review_decide", "rereview_decide", "report"})
"""Clocks counted as 办理/答复 deadlines in accountability (besides routing and acceptance)."""

OFFICIAL_STEP = {"accept": ("accept", "refuse"), "decide": ("decide",), "review_decide": ("review",),
                 "rereview_decide": ("rereview",)}
"""Which recorded action stops a clock, so a missed deadline can be charged to an official."""

SATISFIED = frozenset({"满意", "基本满意"})
EXPIRED = "超期未评价"


EARLIEST = date(2000, 1, 1)
"""Where a period given only by its end starts; also the start of the case board's "every case so far"."""


def period_of(period: str | None, start: date | None, end: date | None, today: date | None = None) -> Period:
    """The period named by ``period`` (2021, 2021-03, 2021-01-01..2021-06-30) or by its first and last day."""
    if period is not None:
        if start is not None or end is not None:
            raise InvalidInput("考核期（period）与起止日期（from/to）只能二选一", code="bad_period")
        return parse_period(period)
    if start is None and end is None:
        raise InvalidInput("请指定考核期（period，如 2021）或起止日期（from/to）", code="bad_period")
    first = start or EARLIEST
    last = end or today or datetime.now(CHINA).date()
    if last < first:
        raise InvalidInput(f"考核期结束日 {last} 早于开始日 {first}", code="bad_period")
    return Period(label=f"{first.isoformat()}至{last.isoformat()}", start=first, end=last)


def report_period(name: str, period: str | None, start: date | None, end: date | None,
                  today: date | None = None) -> Period:
    """As :func:`period_of`; the case board without a period lists every case registered so far."""
    if name == "board" and period is None and start is None and end is None:
        return Period(label="至今登记的全部案件", start=EARLIEST, end=today or datetime.now(CHINA).date())
    return period_of(period, start, end, today)


@dataclass(frozen=True)
class Inputs:
    """What a report is asked for.

    ``withheld``: case numbers to leave out for whoever reads the report, besides the 检举
    cases against ``unit`` (the access policy gives the 检举 cases its reader may not see);
    ``withhold_accusations``: leave out every 检举 case naming whom it accuses — a document
    for everyone, such as a signed appraisal, lists none. ``today``: the day it is asked on (the
    server's day when None); without ``as_of``, a period not yet over is read on that day.
    """

    period: Period
    as_of: datetime | None = None
    unit: str | None = None
    parameters: Parameters = field(default_factory=Parameters)
    withheld: frozenset[str] = frozenset()
    withhold_accusations: bool = False
    today: date | None = None

    def __post_init__(self) -> None:
        floor = int(BACKFILL_FLOOR.total_seconds() // 3600)
        if self.parameters.backfill_hours < floor:
            raise InvalidInput(f"补录阈值不能小于 {floor} 小时：投影只保留迟于 {floor} 小时的记录", code="bad_threshold")
        if self.parameters.handoff_limit < 1:
            raise InvalidInput("推诿阈值（转办次数）至少为 1", code="bad_threshold")

    def reference_day(self, report: str, today: date | None = None) -> date:
        """The day clocks are read on: what was known (``as_of``'s day, else today), and for a
        period report no later than the period's last day — mid-period, overdue is counted to
        the day known, not to the period's end."""
        known = (self.as_of.astimezone(CHINA).date() if self.as_of is not None else None) or today or self.today \
            or datetime.now(CHINA).date()
        return known if report == "board" else min(self.period.end, known)


def ratio(hits: Iterable[str], total: Iterable[str]) -> Ratio:
    """hits ÷ total, where hits are part of total; both as sets of case numbers (or record keys)."""
    everything = sorted(set(total))
    counted = set(hits)
    return Ratio(
        numerator=len(counted), denominator=len(everything),
        value=round(len(counted) / len(everything), 6) if everything else None,
        cases=[c for c in everything if c in counted], others=[c for c in everything if c not in counted],
    )


def count_ratio(numerator: int, denominator: int) -> Ratio:
    return Ratio(numerator=numerator, denominator=denominator,
                 value=round(numerator / denominator, 6) if denominator else None)


def tally(cases: Iterable[str]) -> Tally:
    found = sorted(set(cases))
    return Tally(count=len(found), cases=found)


def basis_of(report: str, inputs: Inputs, rules: RuleSet, size: int, root: bytes, reference: date) -> Basis:
    return Basis(
        report=report, period=inputs.period.label, period_start=inputs.period.start, period_end=inputs.period.end, as_of=inputs.as_of,
        reference_day=reference, tree_size=size, root=root.hex(), rules_fingerprint=rules.fingerprint,
        plugins=[PluginRef(name=p.name, version=p.version, config=p.config) for p in rules.plugins],
        unit=inputs.unit, parameters=inputs.parameters,
    )


# ── Reading the state for a period ───────────────────────────────────────────


class Reading:
    """A state read for one period on one reference day, under a rule set: the shared groundwork."""

    def __init__(self, state: State, rules: RuleSet, inputs: Inputs, reference: date) -> None:
        self.state = state
        self.rules = rules
        self.inputs = inputs
        self.period = inputs.period
        self.reference = reference
        self.end = inputs.period.end
        self.units: dict[str, ev.UnitRegistered] = {}
        self.officials: dict[str, ev.OfficialRegistered] = {}
        self.records: dict[str, list[RecordFacts]] = defaultdict(list)
        for record in state.records.values():
            e = record.event
            if isinstance(e, ev.UnitRegistered):
                self.units[e.code] = e
            elif isinstance(e, ev.OfficialRegistered):
                self.officials[e.code] = e
            self.records[record.kind].append(record)
        for records in self.records.values():
            records.sort(key=lambda r: r.key)
        self.incidents: dict[str, list[IncidentFact]] = defaultdict(list)
        for record in self.records["incident"]:
            e = record.event
            assert isinstance(e, ev.IncidentRecorded)
            if e.case:
                self.incidents[e.case].append(IncidentFact(
                    incident=e.incident, kind=e.kind, level=e.level, persons=e.persons, township=e.township,
                    occurred_on=record.day, case=e.case, note=e.note))
        self._accused_if = self._chain(inputs.unit)
        accused = {f.case.number for f in state.cases.values()
                   if (inputs.withhold_accusations and f.case.accused) or self.hidden_from(f.case)}
        self.hidden: frozenset[str] = frozenset(inputs.withheld | accused)
        """Cases left out of the report, and out of every list of cases in it (C22 art 30 ¶3)."""
        self.cases = sorted(
            (f for f in state.cases.values() if f.case.received_on <= self.end and f.case.number not in self.hidden),
            key=lambda f: f.case.number,
        )
        self._clocks: dict[str, list[Clock]] = {}
        self._flags: dict[str, list[str]] = {}

    def by_end(self, day: date | None) -> date | None:
        """An outcome's day if it happened by the period's end, else None (not yet, for this period)."""
        return day if day is not None and day <= self.end else None

    def clocks(self, facts: CaseFacts) -> list[Clock]:
        """The case's clocks read on the reference day (:func:`ledger.clocks.seen_on`)."""
        number = facts.case.number
        found = self._clocks.get(number)
        if found is None:
            found = self._clocks[number] = [
                seen_on(clock, self.reference) for clock in self.rules.clocks(facts.case, self.reference, units=self.units)
            ]
        return found

    def flags(self, case: Case) -> list[str]:
        found = self._flags.get(case.number)
        if found is None:
            found = self._flags[case.number] = self.rules.flags(case, self.incidents.get(case.number, ()),
                                                                units=self.units)
        return found

    def unit_name(self, code: str) -> str:
        unit = self.units.get(code)
        return unit.name if unit is not None else code

    def _chain(self, unit: str | None) -> frozenset[str]:
        """``unit`` and the units above it: a 检举 against any of them is not shown in ``unit``'s report."""
        chain: set[str] = set()
        while unit is not None and unit not in chain:
            chain.add(unit)
            registered = self.units.get(unit)
            unit = registered.parent if registered is not None else None
        return frozenset(chain)

    def hidden_from(self, case: Case) -> bool:
        """A 检举 case is left out of a report for a unit it names, or for a unit below one (C22 art 30 ¶3)."""
        return bool(case.accused) and not self._accused_if.isdisjoint(case.accused)

    def shown(self, cases: Iterable[str]) -> list[str]:
        """A record's list of cases without the hidden ones."""
        return [c for c in cases if c not in self.hidden]

    def late_entries(self) -> list[Late]:
        threshold = timedelta(hours=self.inputs.parameters.backfill_hours)
        return sorted(
            (late for late in self.state.late.values()
             if late.recorded_at - late.occurred_at > threshold and late.occurred_at.astimezone(CHINA).date() in self.period
             and not (self.hidden and late.kind == "case" and self.state.key_of(late) in self.hidden)),
            key=lambda late: late.seq,
        )

    def backfill_entry(self, late: Late) -> BackfillEntry:
        cls = EVENTS_BY_NAME.get(late.type)
        return BackfillEntry(
            seq=late.seq, kind=late.kind, key=self.state.key_of(late), type=late.type,
            name=chinese_name(cls) if cls is not None else late.type, actor=late.actor, unit=late.unit,
            occurred_at=late.occurred_at, recorded_at=late.recorded_at,
            hours=int((late.recorded_at - late.occurred_at).total_seconds() // 3600),
        )


SENT_AWAY = frozenset({"已告知", "已导入法定途径", "已转交", "已办结", "已认定办结", "已归档"})


def expects_acceptance(case: Case) -> bool:
    """Whether the case went to a unit for acceptance: not told to go elsewhere, routed to a
    statutory channel or referred (closed without ever being accepted or refused)."""
    return case.accepted_on is not None or case.refused_on is not None or case.stage not in SENT_AWAY


def bucket(clock: Clock, reference: date) -> str:
    if clock.stopped_on is not None:
        return "on_time" if clock.stopped_on <= clock.due else "late"
    return "open_overdue" if reference > clock.due else "open_pending"


def _missed(clock: Clock) -> bool:
    return clock.days_late > 0


def within_limits(clocks: list[Clock]) -> bool:
    """按期办理中: a statutory clock still running and none missed, on the reference day."""
    duty = [c for c in clocks if c.kind == "duty"]
    return any(c.stopped_on is None for c in duty) and not any(_missed(c) for c in duty)


class Groups:
    """figure → unit → list of (case, value), with '*' collecting everything."""

    def __init__(self, only: str | None) -> None:
        self.only = only
        self.data: dict[str, dict[str, list[tuple[str, Any]]]] = defaultdict(lambda: defaultdict(list))

    def add(self, figure: str, unit: str, key: str, value: Any = True) -> None:
        if self.only is not None and unit != self.only:
            return
        self.data[figure][unit].append((key, value))
        self.data[figure]["*"].append((key, value))

    def get(self, figure: str, unit: str) -> list[tuple[str, Any]]:
        return self.data.get(figure, {}).get(unit, [])

    def units(self) -> set[str]:
        return {u for figures in self.data.values() for u in figures} - {"*"}


# ── Case board ───────────────────────────────────────────────────────────────


def board(reading: Reading, basis: Basis) -> BoardReport:
    limit = reading.inputs.parameters.handoff_limit
    late_cases = {reading.state.key_of(late) for late in reading.late_entries()} if reading.state.late else set()
    rows = []
    for facts in reading.cases:
        case = facts.case
        if case.received_on not in reading.period:
            continue
        if reading.inputs.unit is not None and facts.unit != reading.inputs.unit:
            continue
        clocks = reading.clocks(facts)
        running = sorted((c for c in clocks if c.stopped_on is None), key=lambda c: (c.due, c.step))
        overdue = [c for c in clocks if c.kind == "duty" and _missed(c)]
        flags = list(reading.flags(case))
        derived = [
            ("重复", case.repeat_of is not None), ("包案", case.leader is not None), ("督办", bool(case.supervision)),
            ("超期", bool(overdue)), ("推诿", case.handoffs + case.objections > limit),
            ("补录", case.number in late_cases),
        ]
        flags += [name for name, present in derived if present]
        rows.append(BoardRow(
            number=case.number, stage=case.stage, channel=case.channel, subject=case.subject,
            received_on=case.received_on, unit=case.current_unit, leader=case.leader, flags=flags,
            running=[_deadline(c) for c in running], overdue=[_deadline(c) for c in overdue],
            handoffs=case.handoffs, objections=case.objections, version=case.version,
        ))
    return BoardReport(basis=basis, cases=rows)


def _deadline(clock: Clock) -> Deadline:
    return Deadline(step=clock.step, label=clock.label, due=clock.due, provisional=clock.provisional,
                    days_late=clock.days_late)


# ── Indicators ───────────────────────────────────────────────────────────────


def _timeliness(items: list[tuple[str, Any]]) -> Timeliness:
    buckets: dict[str, list[str]] = defaultdict(list)
    for key, value in items:
        buckets[value].append(key)
    everything = [key for key, _ in items]
    return Timeliness(
        on_time=tally(buckets["on_time"]), late=tally(buckets["late"]),
        open_overdue=tally(buckets["open_overdue"]), open_pending=tally(buckets["open_pending"]),
        rate=ratio(buckets["on_time"], everything),
    )


def _hits(items: list[tuple[str, Any]]) -> Ratio:
    return ratio([key for key, hit in items if hit], [key for key, _ in items])


def indicators(reading: Reading, basis: Basis, plugin: list[Indicator]) -> IndicatorReport:
    period, end, reference = reading.period, reading.end, reading.reference
    g = Groups(reading.inputs.unit)
    for facts in reading.cases:
        case = facts.case
        number = case.number
        unit = facts.unit
        excluded = EXCLUDED_FROM_RATES in reading.flags(case)
        for clock in reading.clocks(facts):
            if clock.due not in period:
                continue
            if clock.step == "accept" and case.repeat_of is None and not excluded and expects_acceptance(case):
                g.add("timely_acceptance", owner(case, clock), number, bucket(clock, reference))
            elif clock.step == "decide":
                g.add("on_time_conclusion", owner(case, clock), number, bucket(clock, reference))
        if not excluded:
            for rated in facts.ratings:
                if rated.day not in period:
                    continue
                party = "office" if rated.party == "信访部门" else "unit"
                g.add(f"participation_{party}", rated.unit, number, rated.rating != EXPIRED)
                if rated.rating != EXPIRED:
                    g.add(f"satisfaction_{party}", rated.unit, number, rated.rating in SATISFIED)
        if case.accepted_on is not None and case.accepted_on in period:
            g.add("conclusion", unit, number, reading.by_end(case.concluded_on) is not None)
        if case.received_on in period:
            g.add("repeat", case.home_township, number, case.repeat_of is not None)
        if facts.leader_on is not None and facts.leader_on in period:
            g.add("leader_cases", unit, number, reading.by_end(case.concluded_on) is not None)
        if case.reception is not None and case.received_on in period:
            concluded = reading.by_end(case.concluded_on) is not None
            if not concluded and within_limits(reading.clocks(facts)):
                g.add("reception_open_in_time", unit, number)
            else:
                g.add("reception_resolution", unit, number, concluded)
        visits = [v for v in facts.follow_ups if v.day in period]
        if visits:
            g.add("follow_up", unit, number, any(v.reached for v in visits))
            if any(v.verified is False or v.onsite or v.rectification for v in visits):
                g.add("follow_up_unsatisfied", unit, number)
    for record in reading.records["dispute"]:
        e = record.event
        assert isinstance(e, ev.DisputeFound)
        if record.day not in period:
            continue
        resolved = reading.by_end(record.done.get("DisputeResolved")) is not None
        g.add("disputes", e.township, record.key, resolved)
        if reading.by_end(record.done.get("DisputeMediated")) is not None:
            g.add("disputes_mediated", e.township, record.key, resolved)
    for record in reading.records["incident"]:
        e = record.event
        assert isinstance(e, ev.IncidentRecorded)
        if record.day in period:
            g.add("incidents", e.township, record.key, (e.kind, e.level, e.persons))
    for record in reading.records["reception"]:
        e = record.event
        assert isinstance(e, ev.LeaderReceptionHeld)
        if record.day in period:
            g.add("receptions", e.unit, record.key, e)

    by_unit: dict[str | None, list[PluginIndicator]] = defaultdict(list)
    for indicator in plugin:
        if reading.inputs.unit is not None and indicator.unit not in (None, reading.inputs.unit):
            continue
        by_unit[indicator.unit].append(PluginIndicator(
            key=indicator.key, label=indicator.label, unit=indicator.unit,
            ratio=count_ratio(indicator.numerator, indicator.denominator), basis=indicator.basis,
            plugin=indicator.plugin, target_percent=indicator.target_percent, scope=indicator.scope,
        ))

    def row(unit: str) -> UnitIndicators:
        return UnitIndicators(
            unit=unit, name="合计" if unit == "*" else reading.unit_name(unit),
            timely_acceptance=_timeliness(g.get("timely_acceptance", unit)),
            on_time_conclusion=_timeliness(g.get("on_time_conclusion", unit)),
            participation_office=_hits(g.get("participation_office", unit)),
            participation_unit=_hits(g.get("participation_unit", unit)),
            satisfaction_office=_hits(g.get("satisfaction_office", unit)),
            satisfaction_unit=_hits(g.get("satisfaction_unit", unit)),
            conclusion=_hits(g.get("conclusion", unit)),
            repeat=_hits(g.get("repeat", unit)),
            leader_cases=_hits(g.get("leader_cases", unit)),
            reception_resolution=_hits(g.get("reception_resolution", unit)),
            reception_open_in_time=tally(k for k, _ in g.get("reception_open_in_time", unit)),
            disputes=_hits(g.get("disputes", unit)),
            disputes_mediated=_hits(g.get("disputes_mediated", unit)),
            follow_up=_hits(g.get("follow_up", unit)),
            follow_up_unsatisfied=tally(k for k, _ in g.get("follow_up_unsatisfied", unit)),
            incidents=_incidents(g.get("incidents", unit)),
            receptions=_receptions(g.get("receptions", unit)),
            plugin=by_unit.get(unit, []) if unit != "*" else [],
        )

    units = sorted(g.units() | {i.unit for i in plugin if i.unit and i.unit in by_unit})
    backlog = []
    for record in reading.records["batch"]:
        e = record.event
        assert isinstance(e, ev.BacklogBatchListed)
        if record.day > end:
            continue
        listed = reading.shown(e.cases)
        resolved = [c for c in listed if reading.by_end(record.done.get(f"BacklogCaseResolved:{c}")) is not None]
        backlog.append(BacklogFigure(batch=e.batch, name=e.name, listed_on=record.day,
                                     resolution=ratio(resolved, listed)))
    return IndicatorReport(basis=basis, total=row("*"), units=[row(u) for u in units], backlog=backlog,
                           plugin=by_unit.get(None, []))


def _incidents(items: list[tuple[str, Any]]) -> list[IncidentCount]:
    grouped: dict[tuple[str, str], list[tuple[str, int]]] = defaultdict(list)
    for key, (kind, level, persons) in items:
        grouped[(kind, level)].append((key, persons))
    levels = {"县": 0, "市": 1, "省": 2, "京": 3}
    return [
        IncidentCount(kind=kind, level=level, batches=len(found), persons=sum(p for _, p in found),
                      incidents=sorted(k for k, _ in found))
        for (kind, level), found in sorted(grouped.items(), key=lambda kv: (kv[0][0], levels.get(kv[0][1], 9)))
    ]


def _receptions(items: list[tuple[str, Any]]) -> ReceptionTotals:
    held = [e for _, e in items]
    return ReceptionTotals(
        sessions=tally(k for k, _ in items), batches=sum(e.batches for e in held), persons=sum(e.persons for e in held),
        answered_on_spot=sum(e.answered_on_spot for e in held), referred=sum(e.referred for e in held),
    )


# ── Accountability ───────────────────────────────────────────────────────────


def accountability(reading: Reading, basis: Basis, findings: list[Finding]) -> AccountabilityReport:
    period, reference = reading.period, reading.reference
    limit = reading.inputs.parameters.handoff_limit
    only = reading.inputs.unit
    g = Groups(only)
    officials = Groups(None)
    late_items: dict[str, list[LateClock]] = defaultdict(list)
    official_items: dict[str, list[LateClock]] = defaultdict(list)
    supervision: dict[str, list[SupervisionItem]] = defaultdict(list)
    bounces: dict[str, list[Bounce]] = defaultdict(list)
    official_units: dict[str, str] = {}

    for facts in reading.cases:
        case = facts.case
        number = case.number
        stopped_by: dict[str, tuple[str, str]] = {}
        for action in facts.actions:
            if action.day in period:
                g.add("handled", action.unit, number)
                officials.add("handled", action.actor, number)
                official_units.setdefault(action.actor, action.unit)
                if action.target and action.step in ("route", "objection_ruling"):
                    g.add("handled", action.target, number)
                    g.add("held", action.target, number, case.handoffs + case.objections > limit)
            if action.day <= reference:
                stopped_by.setdefault(action.step, (action.actor, action.unit))
        for clock in reading.clocks(facts):
            if clock.kind != "duty" or clock.due not in period or clock.step.startswith("supervision:"):
                continue
            if clock.step == "accept" and not expects_acceptance(case):
                continue
            unit = owner(case, clock)
            figure = ("late_routing" if clock.step == "route" else "late_acceptance" if clock.step == "accept"
                      else "late_decisions" if clock.step in DECISION_STEPS else None)
            if figure is None:
                continue
            missed = _missed(clock)
            by = next((stopped_by[s] for s in OFFICIAL_STEP.get(clock.step, ()) if s in stopped_by), None)
            official = by[0] if by is not None and clock.stopped_on is not None else None
            g.add(figure, unit, number, missed)
            if official is not None and figure != "late_routing":
                officials.add(figure, official, number, missed)
            if missed:
                item = LateClock(case=number, step=clock.step, label=clock.label, due=clock.due,
                                 done=clock.stopped_on, days_late=clock.days_late, official=official)
                if only is None or unit == only:
                    late_items[unit].append(item)
                if official is not None and figure != "late_routing":
                    official_items[official].append(item)
        for order in case.supervision:
            if order.ordered_on not in period:
                continue
            answered = order.answered_on if order.answered_on is not None and order.answered_on <= reference else None
            days = max(0, ((answered or reference) - order.reply_due).days)
            g.add("supervision", order.to_unit, f"{number}/{order.order}", days > 0)
            if only is None or order.to_unit == only:
                supervision[order.to_unit].append(SupervisionItem(
                    case=number, order=order.order, ordered_on=order.ordered_on, reply_due=order.reply_due,
                    answered_on=answered, days_late=days))
        if case.handoffs + case.objections > limit:
            for unit in sorted(set(facts.units)):
                if any(a.target == unit and a.day in period for a in facts.actions):
                    bounces[unit].append(Bounce(case=number, handoffs=case.handoffs, objections=case.objections,
                                                units=list(facts.units)))
        for rated in facts.ratings:
            if rated.day in period and rated.rating != EXPIRED:
                g.add("unsatisfied", rated.unit, number, rated.rating == "不满意")

    letters: dict[str, list[LetterItem]] = defaultdict(list)
    for record in reading.records["letter"]:
        e = record.event
        assert isinstance(e, ev.RecommendationIssued)
        if record.day not in period:
            continue
        answered = record.done.get("RecommendationAnswered")
        answered = answered if answered is not None and answered <= reference else None
        days = max(0, ((answered or reference) - e.reply_due).days)
        g.add("recommendations", e.to_unit, record.key, days > 0)
        letters[e.to_unit].append(LetterItem(letter=e.letter, kind=e.kind, issued_on=record.day, reply_due=e.reply_due,
                                             answered_on=answered, days_late=days, cases=reading.shown(e.cases)))
    decisions: dict[str, list[DecisionItem]] = defaultdict(list)
    official_decisions: dict[str, list[DecisionItem]] = defaultdict(list)
    for record in reading.records["accountability"]:
        e = record.event
        assert isinstance(e, ev.AccountabilityDecided)
        if record.day not in period:
            continue
        item = DecisionItem(decision=e.decision, measure=e.measure, decided_on=record.day, unit=e.unit,
                            official=e.official, grounds=e.grounds, cases=reading.shown(e.cases))
        official = reading.officials.get(e.official) if e.official else None
        for unit in sorted({u for u in (e.unit, official.unit if official else None) if u}):
            decisions[unit].append(item)
            g.add("decisions", unit, e.decision)
        if e.official:
            official_decisions[e.official].append(item)
            officials.add("decisions", e.official, e.decision)

    reads: dict[str, list[IdentityReadItem]] = defaultdict(list)
    official_reads: dict[str, list[IdentityReadItem]] = defaultdict(list)
    for record in reading.records["identity_read"]:
        e = record.event
        assert isinstance(e, ev.IdentityRead)
        if record.day not in period or (e.case is not None and e.case in reading.hidden):
            continue
        read = IdentityReadItem(read=e.read, ref=e.ref, case=e.case, purpose=e.purpose, day=record.day,
                                official=record.actor, unit=record.unit)
        if only is None or record.unit == only:
            reads[record.unit].append(read)
            official_reads[record.actor].append(read)
            official_units.setdefault(record.actor, record.unit)

    entries: dict[str, list[BackfillEntry]] = defaultdict(list)
    official_entries: dict[str, list[BackfillEntry]] = defaultdict(list)
    for late in reading.late_entries():
        entry = reading.backfill_entry(late)
        if only is not None and late.unit != only:
            continue
        entries[late.unit].append(entry)
        official_entries[late.actor].append(entry)
        official_units.setdefault(late.actor, late.unit)
    activity_units: dict[str, int] = defaultdict(int)
    activity_actors: dict[str, int] = defaultdict(int)
    for (actor, unit, day), count in reading.state.activity.items():
        if day in period:
            activity_units[unit] += count
            activity_actors[actor] += count

    def backfill(found: list[BackfillEntry], total: int) -> Ratio:
        """Late entries ÷ all entries; the cases (or records) the late ones are about."""
        return msgspec.structs.replace(count_ratio(len(found), total), cases=sorted({e.key for e in found}))

    units = sorted((g.units() | set(entries) | set(letters) | set(bounces) | set(supervision) | set(reads)) - {"*"})
    if only is not None:
        units = [u for u in units if u == only]
    unit_rows = [
        UnitAccountability(
            unit=unit, name=reading.unit_name(unit),
            handled=tally(k for k, _ in g.get("handled", unit)),
            late_routing=_hits(g.get("late_routing", unit)),
            late_acceptance=_hits(g.get("late_acceptance", unit)),
            late_decisions=_hits(g.get("late_decisions", unit)),
            late_items=sorted(late_items.get(unit, []), key=lambda i: (i.due, i.case, i.step)),
            supervision_late=_hits(g.get("supervision", unit)),
            supervision_items=sorted(supervision.get(unit, []), key=lambda i: (i.ordered_on, i.case, i.order)),
            bounced=_hits(g.get("held", unit)),
            bounces=sorted(bounces.get(unit, []), key=lambda b: b.case),
            unsatisfied=_hits(g.get("unsatisfied", unit)),
            recommendations_late=_hits(g.get("recommendations", unit)),
            recommendations=sorted(letters.get(unit, []), key=lambda item: (item.issued_on, item.letter)),
            decisions=sorted(decisions.get(unit, []), key=lambda d: (d.decided_on, d.decision)),
            backfill=backfill(entries.get(unit, []), activity_units.get(unit, 0)),
            backfill_entries=entries.get(unit, []),
            identity_reads=sorted(reads.get(unit, []), key=lambda r: (r.day, r.read)),
        )
        for unit in units
    ]
    official_codes = sorted(officials.units() | set(official_entries) | set(official_reads))
    official_rows = []
    for code in official_codes:
        registered = reading.officials.get(code)
        unit = registered.unit if registered is not None else official_units.get(code, "")
        if only is not None and unit != only:
            continue
        official_rows.append(OfficialAccountability(
            official=code, name=registered.name if registered is not None else code, unit=unit,
            handled=tally(k for k, _ in officials.get("handled", code)),
            late_acceptance=_hits(officials.get("late_acceptance", code)),
            late_decisions=_hits(officials.get("late_decisions", code)),
            late_items=sorted(official_items.get(code, []), key=lambda i: (i.due, i.case, i.step)),
            decisions=sorted(official_decisions.get(code, []), key=lambda d: (d.decided_on, d.decision)),
            backfill=backfill(official_entries.get(code, []), activity_actors.get(code, 0)),
            backfill_entries=official_entries.get(code, []),
            identity_reads=sorted(official_reads.get(code, []), key=lambda r: (r.day, r.read)),
        ))
    kept = [f if not reading.hidden or reading.hidden.isdisjoint(f.cases) else
            msgspec.structs.replace(f, cases=reading.shown(f.cases))
            for f in findings if only is None or f.unit == only]
    migrations = []
    for record in reading.records["migration"]:
        e = record.event
        assert isinstance(e, ev.MigrationDeclared)
        if record.day <= reading.end:
            migrations.append(MigrationItem(migration=e.migration, source=e.source, cutoff=e.cutoff, expected=e.expected,
                                            imported=record.imported, declared_on=record.day, declared_by=record.actor,
                                            unit=record.unit, note=e.note))
    return AccountabilityReport(basis=basis, units=unit_rows, officials=official_rows, findings=kept,
                                migrations=migrations)


# ── Plugins ──────────────────────────────────────────────────────────────────


PLUGIN_HOOKS: dict[str, frozenset[str]] = {
    "board": frozenset(),
    "indicators": frozenset({"xinfang_indicators"}),
    "accountability": frozenset({"xinfang_accountability"}),
    "appraisal": frozenset({"xinfang_indicators", "xinfang_accountability", "xinfang_awards"}),
}


def wants_facts(rules: RuleSet, report: str) -> bool:
    """Whether any active plugin computes something for ``report`` from the period's facts."""
    return any(PLUGIN_HOOKS[report] & set(p.hooks) for p in rules.plugins)


# ── Putting it together ──────────────────────────────────────────────────────


class Snapshot:
    """The state of the log prefix an ``as_of`` selects, with its size and root, and the period's facts.

    ``verify``: fold the prefix from the stored events themselves (not the projections),
    checking each against its leaf; ``leaf_root`` is then the root recomputed from the
    leaves and ``damage`` lists the events that no longer match.
    """

    def __init__(self, projector: Projector, inputs: Inputs, *, plugins_for: str | None = None,
                 advance: Callable[[int], None] | None = None, size: int | None = None,
                 verify: bool = False) -> None:
        self.projector = projector
        self.rules = projector.rules
        self.inputs = inputs
        self.size = projector.size_as_of(inputs.as_of) if size is None else size
        self.damage: list[Damage] = []
        self.leaf_root: bytes | None = None
        if verify:
            self.state, self.leaf_root, self.damage = projector.verified_replay(self.size, advance)
        else:
            self.state = projector.state(self.size, advance)
        self.root = projector.root(self.size)
        self.facts: PeriodFacts | None = None
        if plugins_for is not None:
            self.load_facts(plugins_for)

    def load_facts(self, report: str) -> None:
        """The period's facts for the plugins, when an active plugin computes something for ``report``."""
        if wants_facts(self.rules, report):
            self.facts = self.facts_under(self.rules)

    def facts_under(self, rules: RuleSet) -> PeriodFacts:
        """The period's facts in this snapshot's state, as ``rules`` read them: the reports' own fold."""
        return period_facts(self.state, rules, self.inputs.period, self.inputs.reference_day("facts"),
                            as_of=self.inputs.as_of)

    def reading(self, report: str, today: date | None = None) -> tuple[Reading, Basis]:
        reference = self.inputs.reference_day(report, today)
        reading = Reading(self.state, self.rules, self.inputs, reference)
        return reading, basis_of(report, self.inputs, self.rules, self.size, self.root, reference)

    def indicators(self) -> IndicatorReport:
        reading, basis = self.reading("indicators")
        return indicators(reading, basis, self.rules.indicators(self.facts) if self.facts is not None else [])

    def accountability(self) -> AccountabilityReport:
        reading, basis = self.reading("accountability")
        return accountability(reading, basis, self.rules.findings(self.facts) if self.facts is not None else [])

    def board(self, today: date | None = None) -> BoardReport:
        reading, basis = self.reading("board", today)
        return board(reading, basis)

    def report(self, name: str) -> BoardReport | AccountabilityReport | IndicatorReport:
        if name not in REPORTS:
            raise InvalidInput(f"没有名为 {name} 的报告；可用：{'、'.join(REPORTS)}", code="unknown_report")
        return getattr(self, name)()  # type: ignore[no-any-return]


def make_report(projector: Projector, name: str, inputs: Inputs,
                advance: Callable[[int], None] | None = None) -> BoardReport | AccountabilityReport | IndicatorReport:
    """Report ``name`` for ``inputs``: from the persisted projections (caught up) or, as of a past
    time, from the fold of that prefix."""
    if name not in REPORTS:
        raise InvalidInput(f"没有名为 {name} 的报告；可用：{'、'.join(REPORTS)}", code="unknown_report")
    return Snapshot(projector, inputs, plugins_for=name, advance=advance).report(name)

